// How compile time grows with the model: the backward of an L-layer perceptron (affine + relu,
// softmax loss; width 32, batch 16) for L = 16 .. 256, each stage timed in CPU milliseconds
// (process.cpuUsage: the machine is shared, and other processes' load does not count), and the
// growth exponent fitted by least squares on log(time) against log(L).
//
//   npm run build && node dist/bench/compile-scaling.js [--layers 16,32,64,128,256]

import "../ops/index.js"; // registers the builtin primitives
import { trace, type InputSpec } from "../core/trace.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { compile } from "../compile/codegen/compile.js";
import { optimize } from "../compile/optimize/optimize.js";
import { affine, relu, softmaxCrossEntropy } from "../ops/composites.js";
import type { Node } from "../core/node.js";

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export interface ScalingRow {
  layers: number;
  nodes: number;
  vjpMs: number;
  optimizeMs: number;
  compileMs: number;
  totalMs: number;
}

/** Trace, differentiate, optimize and compile the L-layer perceptron's backward, timing each. */
export function timeLayers(L: number, width = 32, batch = 16): ScalingRow {
  const spec: Record<string, InputSpec> = { X: [batch, width], y: [batch] };
  for (let l = 0; l < L; l++) Object.assign(spec, { [`W${l}`]: [width, width], [`b${l}`]: [width] });
  const t0 = cpuMs();
  const g = trace(spec, (v: Record<string, Node>) => {
    let h = v.X;
    for (let l = 0; l < L; l++) {
      h = affine(h, v[`W${l}`], v[`b${l}`]);
      if (l < L - 1) h = relu(h);
    }
    return softmaxCrossEntropy(h, v.y);
  });
  const t1 = cpuMs();
  const back = vjp(g).backward;
  const t2 = cpuMs();
  const opt = optimize(back);
  const t3 = cpuMs();
  compile(opt);
  const t4 = cpuMs();
  return { layers: L, nodes: opt.nodes().length, vjpMs: t2 - t1, optimizeMs: t3 - t2, compileMs: t4 - t3, totalMs: t4 - t0 };
}

/** The least-squares slope of log(y) on log(x): y grows as x^slope. */
export function growthExponent(xs: readonly number[], ys: readonly number[]): number {
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((s, v) => s + v, 0) / lx.length;
  const my = ly.reduce((s, v) => s + v, 0) / ly.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < lx.length; i++) {
    num += (lx[i] - mx) * (ly[i] - my);
    den += (lx[i] - mx) ** 2;
  }
  return num / den;
}

function main(): void {
  const at = process.argv.indexOf("--layers");
  const layers = at >= 0 ? (process.argv[at + 1] ?? "").split(",").map(Number) : [16, 32, 64, 128, 256];
  if (layers.length < 2 || layers.some((L) => !Number.isInteger(L) || L < 1)) {
    console.error(`compile-scaling: --layers wants two or more positive integers, like 16,32,64; got ${process.argv[at + 1]}`);
    process.exit(2);
  }
  timeLayers(4); // warm-up: modules and V8's first compilations
  console.log("layers  nodes  vjp ms  optimize ms  compile ms  total ms (CPU time)");
  const rows = layers.map((L) => timeLayers(L));
  for (const r of rows) {
    console.log(
      `${String(r.layers).padStart(6)} ${String(r.nodes).padStart(6)} ${r.vjpMs.toFixed(0).padStart(7)} ${r.optimizeMs.toFixed(0).padStart(12)} ${r.compileMs.toFixed(0).padStart(11)} ${r.totalMs.toFixed(0).padStart(9)}`,
    );
  }
  const xs = rows.map((r) => r.layers);
  const exp = (ys: number[]) => growthExponent(xs, ys).toFixed(2);
  console.log(
    `growth exponent (time ~ L^e): total ${exp(rows.map((r) => r.totalMs))}, vjp ${exp(rows.map((r) => r.vjpMs))}, optimize ${exp(rows.map((r) => r.optimizeMs))}, compile ${exp(rows.map((r) => r.compileMs))}`,
  );
}

if (process.argv[1]?.endsWith("compile-scaling.js")) main();
