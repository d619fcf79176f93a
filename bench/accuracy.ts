// The accuracy table: normwise error of batchnorm's gradient (dx, dgamma), derived by grad and
// optimized, against a double-double reference, at scales from 1e-150 to 1e150, mean/std ratios
// up to 1e8 and constant channels, in float64 and float32.
//   node dist/bench/accuracy.js [--n 64] [--d 4] [--seeds 3]   (the worst over the seeds)

import "../ops/index.js"; // registers the builtin primitives
import type { DType } from "../core/tensor.js";
import { zooGradientErrors, type DataShape } from "../spec/support/accuracy.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg("n", 64),
  D = arg("d", 4),
  seeds = arg("seeds", 3);

export const accuracyRows: [DType, string, DataShape][] = [
  ["f64", "scale 1e-150", { scale: 1e-150, ratio: 0 }],
  ["f64", "scale 1", { scale: 1, ratio: 0 }],
  ["f64", "scale 1e150", { scale: 1e150, ratio: 0 }],
  ["f64", "mean/std 1e6", { scale: 1, ratio: 1e6 }],
  ["f64", "mean/std 1e8", { scale: 1, ratio: 1e8 }],
  ["f64", "constant channel, mean 1e3", { scale: 1, ratio: 1e3, constantChannel: true }],
  ["f32", "scale 1e-15", { scale: 1e-15, ratio: 0 }],
  ["f32", "scale 1", { scale: 1, ratio: 0 }],
  ["f32", "scale 1e15", { scale: 1e15, ratio: 0 }],
  ["f32", "mean/std 1e3", { scale: 1, ratio: 1e3 }],
  ["f32", "mean/std 1e6", { scale: 1, ratio: 1e6 }],
  ["f32", "constant channel, mean 1e3", { scale: 1, ratio: 1e3, constantChannel: true }],
];

const fmt = (v: number) => (v === 0 ? "0" : Number.isFinite(v) ? v.toExponential(1) : String(v));

console.log(`batchnorm [${N},${D}], grad(...) derived / optimize(grad(...)), normwise error vs double-double, worst of ${seeds} seeds\n`);
console.log("| dtype | data | dx derived | dx optimized | dgamma derived | dgamma optimized |");
console.log("| --- | --- | ---: | ---: | ---: | ---: |");
for (const [dtype, label, data] of accuracyRows) {
  const worst = { dx: { naive: 0, optimized: 0 }, dgamma: { naive: 0, optimized: 0 } };
  for (let s = 1; s <= seeds; s++) {
    const e = zooGradientErrors("batchnorm", [N, D], dtype, data, s);
    for (const k of ["dx", "dgamma"] as const) {
      worst[k].naive = Math.max(worst[k].naive, e[k].naive);
      worst[k].optimized = Math.max(worst[k].optimized, e[k].optimized);
    }
  }
  console.log(`| ${dtype} | ${label} | ${fmt(worst.dx.naive)} | ${fmt(worst.dx.optimized)} | ${fmt(worst.dgamma.naive)} | ${fmt(worst.dgamma.optimized)} |`);
}
