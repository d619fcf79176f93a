// A new elementwise primitive from user code: softplus(x) = log(1 + exp(x)), with its gradient.
// It is traced, differentiated twice, optimized, fused into a compiled loop and drawn, like a
// builtin. Run: node dist/examples/softplus.js [--view softplus.html]

import "../ops/index.js"; // registers the builtin primitives
import { checkOp, compile, defineOp, evaluate, grad, optimize, random, stats, tensor, trace, view, type CheckOpReport } from "gradc";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

// The op record: everything gradc needs to know about softplus.
export const softplus = defineOp({
  name: "softplus",
  arity: 1,
  // stable for large |x|: log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
  scalar: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  expr: ([x]) => `(Math.max(${x}, 0) + Math.log1p(Math.exp(-Math.abs(${x}))))`,
  // d softplus / dx = sigmoid(x) = (1 + tanh(x / 2)) / 2, written with builder ops (so it has a derivative too)
  vjp: (g, [x]) => [g.mul(x.mul(0.5).tanh().add(1).mul(0.5))],
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export interface SoftplusResult {
  check: CheckOpReport;
  /** max |d/dx sum(softplus(x)) - sigmoid(x)| over the inputs */
  firstError: number;
  /** max |d2/dx2 (diagonal, from grad of grad) - sigmoid(x)(1 - sigmoid(x))| */
  secondError: number;
  /** the same second derivative against central differences of the derived gradient */
  secondVsFiniteDifferences: number;
  /** the layer's gradient graph: operation nodes before and after optimize */
  nodes: { derived: number; optimized: number };
  /** compiled kernels of the optimized gradient, and whether softplus is inlined in a loop */
  kernels: number;
  fused: boolean;
  /** compiled vs interpreted, largest difference */
  compiledError: number;
  viewPath?: string;
}

export function main(argv: string[] = []): SoftplusResult {
  const { values } = parseArgs({ args: argv, options: { view: { type: "string" } } });
  const log = (...xs: unknown[]) => console.log(...xs);

  // 1. gradc's own op properties, for this op, in one line
  const check = checkOp(softplus, { seed: 1 });
  log(
    `checkOp(softplus): ${check.checks.map((c) => `${c.check} ${c.worst === null ? "skipped" : c.worst.toExponential(1)}`).join(", ")} (${check.runs} cases, seed ${check.seed}); fuses: ${check.fuses}`,
  );

  // 2. first and second derivatives, against their closed forms
  const rs = random(0);
  const x = rs.randnTensor([5, 4]);
  const f = trace({ x: [5, 4] }, ({ x }) => softplus(x).sum());
  const df = grad(f); // inputs x; output dx = sigmoid(x)
  const ddf = grad(df, { of: "dx" }); // inputs x, ddx; output dx = ddx * sigmoid'(x)
  const ones = tensor(
    Array.from(x.data, () => 1),
    x.shape,
  );
  const first = evaluate(df, { x }).dx;
  const second = evaluate(ddf, { x, ddx: ones }).dx;
  let firstError = 0,
    secondError = 0,
    secondVsFiniteDifferences = 0;
  const h = 1e-5;
  x.data.forEach((v, i) => {
    const s = sigmoid(v);
    firstError = Math.max(firstError, Math.abs(first.data[i] - s));
    secondError = Math.max(secondError, Math.abs(second.data[i] - s * (1 - s)));
    const fd = (sigmoid(v + h) - sigmoid(v - h)) / (2 * h);
    secondVsFiniteDifferences = Math.max(secondVsFiniteDifferences, Math.abs(second.data[i] - fd));
  });
  log(`first derivative vs sigmoid(x): max error ${firstError.toExponential(1)}`);
  log(
    `second derivative (grad of grad) vs sigmoid(x)(1 - sigmoid(x)): max error ${secondError.toExponential(1)}; vs finite differences ${secondVsFiniteDifferences.toExponential(1)}`,
  );

  // 3. in a layer: softplus(x W + b), its gradient optimized and compiled; softplus fuses into the loop
  const layer = trace({ x: [64, 32], w: [32, 16], b: [16] }, ({ x, w, b }) => softplus(x.matmul(w).add(b)).mean());
  const dlayer = grad(layer);
  const opt = optimize(dlayer);
  const exe = compile(opt);
  const inputs = { x: rs.randnTensor([64, 32]), w: rs.randnTensor([32, 16]), b: rs.randnTensor([16]) };
  const want = evaluate(dlayer, inputs),
    got = exe.run(inputs);
  let compiledError = 0;
  for (const k of Object.keys(want)) want[k].data.forEach((v, i) => (compiledError = Math.max(compiledError, Math.abs(v - got[k].data[i]))));
  const nodes = { derived: dlayer.size, optimized: opt.size };
  const perElement = (g: typeof opt) => stats(g).elementwisePerElement.toFixed(2);
  log(
    `layer gradient: derived ${nodes.derived} nodes, ${perElement(dlayer)} elementwise ops per element; optimized ${nodes.optimized} nodes, ${perElement(opt)} per element`,
  );
  log(`  compiled to ${exe.stats.kernels} kernels, ${exe.stats.sweeps} sweeps; compiled vs interpreted: max difference ${compiledError.toExponential(1)}`);
  const forward = compile(layer);
  // fused: its expression is inlined in a generated loop, not run as a separate reference kernel
  const fused = forward.source.includes("Math.log1p") && !forward.source.includes("runs the reference kernel");
  log(`forward compiled: ${forward.stats.kernels} kernel(s); softplus inlined in a loop: ${fused}`);

  const result: SoftplusResult = { check, firstError, secondError, secondVsFiniteDifferences, nodes, kernels: exe.stats.kernels, fused, compiledError };
  if (values.view) result.viewPath = drawView(values.view);
  if (result.viewPath) log(`view: ${result.viewPath}`);
  return result;
}

/** The viewer page: forward, derived and optimized backward, rewrite steps, kernels. Non-scalar output, so the backward has a cotangent. */
function drawView(out: string): string {
  const g = trace({ x: [64, 32], w: [32, 16], b: [16] }, ({ x, w, b }) => softplus(x.matmul(w).add(b)));
  return view(g, { title: "softplus layer", out }).path!;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
