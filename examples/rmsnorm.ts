// A normalization written by a user from primitives: RMSNorm with a learned scale,
//   y = x / sqrt(mean(x^2, last axis) + eps) * gamma.
// gradc derives its backward and the optimizer, which knows nothing about RMSNorm, simplifies it to
// the closed form, one round of reductions and one elementwise pass:
//   dx = gamma * dout / rms - x / (D * rms^3) * sum(gamma * dout * x),   rms = sqrt(mean(x^2) + eps).
// RMSNorm has no mean to subtract, so its derived backward already needs only one round; what the
// optimizer removes there is work per element. Centering (a scale-only LayerNorm, also written here
// by hand) adds a second, dependent round: the mean's gradient needs the variance's gradient. The
// same rules bring that one back to one round.
// Run: node dist/examples/rmsnorm.js [--shape 200,64]

import "../ops/index.js"; // registers the builtin primitives
import { compile, evaluate, GradcError, optimize, random, stats, trace, vjp, type GraphStats, type Node, type Tensor } from "gradc";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** RMSNorm over the last axis, from primitives only. */
export function rmsnorm(x: Node, gamma: Node, eps = 1e-5): Node {
  const rms = x.square().mean(-1, true).add(eps).sqrt().named("rms");
  return x.div(rms).named("xhat").mul(gamma);
}

/** Centered first, then scaled: LayerNorm without its bias, from primitives only. */
export function centeredRmsnorm(x: Node, gamma: Node, eps = 1e-5): Node {
  const xc = x.sub(x.mean(-1, true)).named("xc");
  const std = xc.square().mean(-1, true).add(eps).sqrt().named("std");
  return xc.div(std).named("xhat").mul(gamma);
}

/** The closed-form gradient by hand, in plain loops: the reference the optimized graph must match. */
export function rmsnormBackwardByHand(x: Tensor, gamma: Tensor, dout: Tensor, eps = 1e-5): Float64Array {
  const [n, d] = x.shape;
  const dx = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let ms = 0,
      dot = 0;
    for (let j = 0; j < d; j++) {
      const v = x.data[i * d + j];
      ms += (v * v) / d;
      dot += gamma.data[j] * dout.data[i * d + j] * v;
    }
    const r = 1 / Math.sqrt(ms + eps);
    for (let j = 0; j < d; j++) dx[i * d + j] = r * gamma.data[j] * dout.data[i * d + j] - (r ** 3 / d) * x.data[i * d + j] * dot;
  }
  return dx;
}

export interface NormResult {
  derived: GraphStats;
  optimized: GraphStats;
  /** optimized and compiled vs the derived backward (largest difference relative to the largest value) */
  vsDerived: number;
  kernels: number;
  sweeps: number;
  text: string;
}

export interface RmsnormResult {
  shape: [number, number];
  rmsnorm: NormResult & { /** vs the closed form by hand */ vsByHand: number };
  centered: NormResult;
}

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
};

const show = (s: GraphStats) =>
  `${s.nodes} nodes, reduction depth ${s.reductionDepth}, ${s.fullSizeReductions} full-size reductions, ${s.elementwisePerElement.toFixed(2)} elementwise ops per element`;

/** Derive, optimize and compile the backward of a user normalization; run it on random inputs. */
function study(title: string, norm: (x: Node, gamma: Node) => Node, x: Tensor, gamma: Tensor, dout: Tensor): NormResult & { dx: Tensor } {
  const [n, d] = x.shape;
  const forward = trace({ x: [n, d], gamma: [d] }, ({ x, gamma }) => norm(x, gamma));
  const { forward: withResiduals, backward } = vjp(forward);
  const optimized = optimize(backward);
  const derived = stats(backward),
    after = stats(optimized);
  console.log(`${title} [${n},${d}] backward`);
  console.log(`  derived:   ${show(derived)}`);
  console.log(`  optimized: ${show(after)}`);

  // the residuals (rms, xhat, ...) come from the forward; the cotangent dout is given
  const saved = evaluate(withResiduals, { x, gamma });
  const known: Record<string, Tensor> = { ...saved, x, gamma, dout };
  const feed = Object.fromEntries(backward.inputs.map((i) => [i.name, known[i.name]]));
  const want = evaluate(backward, feed).dx;
  const exe = compile(optimized);
  const dx = exe.run(feed).dx;
  const vsDerived = relDiff(want.data, dx.data);
  console.log(`  optimized and compiled vs derived: ${vsDerived.toExponential(1)}; compiled to ${exe.stats.kernels} kernel(s), ${exe.stats.sweeps} sweep(s)`);
  return { derived, optimized: after, vsDerived, kernels: exe.stats.kernels, sweeps: exe.stats.sweeps, text: optimized.toString(), dx };
}

export function main(argv: string[] = []): RmsnormResult {
  const { values } = parseArgs({ args: argv, options: { shape: { type: "string", default: "200,64" } } });
  if (!/^\s*[1-9][0-9]*\s*,\s*[1-9][0-9]*\s*$/.test(values.shape!))
    throw new GradcError(`rmsnorm example: --shape must be N,D (two positive integers), got "${values.shape}"`);
  const [n, d] = values.shape!.split(",").map(Number) as [number, number];
  const rs = random(1);
  const x = rs.randnTensor([n, d]),
    gamma = rs.uniformTensor(0.5, 1.5, [d]),
    dout = rs.randnTensor([n, d]);

  const { dx, ...rms } = study("RMSNorm", rmsnorm, x, gamma, dout);
  const vsByHand = relDiff(rmsnormBackwardByHand(x, gamma, dout), dx.data);
  console.log(`  vs the closed form by hand: ${vsByHand.toExponential(1)}`);
  console.log(rms.text);
  const { dx: _, ...centered } = study("centered RMSNorm (LayerNorm without bias)", centeredRmsnorm, x, gamma, dout);
  return { shape: [n, d], rmsnorm: { ...rms, vsByHand }, centered };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
