// The model suite (examples/models/) through the optimizer: per model, the backward and the
// Hessian-vector product, derived -> optimized: nodes, multiply-adds, elementwise work, reduction
// passes, optimize time and compiled time per call (best of interleaved rounds: the machine is shared).
//   npm run build && node dist/bench/models.js [--rounds 5]

import "../ops/index.js"; // registers the builtin primitives
import { fileURLToPath } from "node:url";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { mulberry32 } from "../core/mulberry32.js";
import { Tensor } from "../core/tensor.js";
import { trace } from "../core/trace.js";
import { grad } from "../compile/autodiff/reverse.js";
import { hvp } from "../compile/autodiff/jacobian.js";
import { optimizeReport } from "../compile/optimize/optimize.js";
import { work } from "../compile/optimize/work.js";
import { compile } from "../compile/codegen/index.js";

const i = process.argv.indexOf("--rounds");
const rounds = i > 0 ? Number(process.argv[i + 1]) : 5;
const dir = fileURLToPath(new URL("../../examples/models/", import.meta.url));

function inputsFor(g: Graph): Record<string, Tensor> {
  const next = mulberry32(231);
  return Object.fromEntries(
    g.inputs.map((x) => [
      x.name,
      new Tensor(
        Float64Array.from({ length: x.size }, (_, j) => (x.name === "y" ? (j * 7) % 10 : next() - 0.5)),
        x.shape,
      ),
    ]),
  );
}

/** Best time per call (ms) of each graph's compiled run, rounds interleaved. */
function timeCompiled(graphs: Graph[]): number[] {
  const runs = graphs.map((g) => {
    const exe = compile(g, { reuseOutputs: true });
    const inputs = inputsFor(g);
    return () => exe.run(inputs);
  });
  const best = graphs.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    runs.forEach((run, k) => {
      run();
      const reps = 20,
        t0 = performance.now();
      for (let j = 0; j < reps; j++) run();
      best[k] = Math.min(best[k], (performance.now() - t0) / reps);
    });
  }
  return best;
}

console.log(
  "| model | graph | nodes | multiply-adds | elementwise | reduction passes | optimize ms | stop | compiled ms |\n|---|---|---|---|---|---|---:|---|---|",
);
for (const name of ["mlp-gelu", "causal-attention", "transformer-block", "vae-loss"]) {
  const m = (await import(`${dir}${name}.mjs`)).default as { inputs: Record<string, number[]>; fn: (xs: Record<string, Node>) => Node; wrt: string[] };
  const g = trace(m.inputs, (xs) => ({ out: m.fn(xs) }));
  for (const [kind, derived] of [
    ["backward", grad(g, { of: "out", wrt: m.wrt })],
    ["HVP", hvp(g, { of: "out", wrt: m.wrt })],
  ] as const) {
    const r = optimizeReport(derived);
    const [a, b] = [work(derived), work(r.graph)];
    const [ta, tb] = timeCompiled([derived, r.graph]);
    const pair = (x: number, y: number) => `${x} -> ${y}`;
    console.log(
      `| ${name} | ${kind} | ${pair(a.nodes, b.nodes)} | ${pair(a.multiplyAdds, b.multiplyAdds)} | ${pair(a.elementwise, b.elementwise)} | ${pair(a.passes, b.passes)} | ${r.ms.toFixed(0)} | ${r.stop} | ${ta.toFixed(3)} -> ${tb.toFixed(3)} |`,
    );
  }
}
