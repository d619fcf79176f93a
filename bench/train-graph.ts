// The notebook's 6-layer net's training graph (forward, loss and every gradient, as FullyConnectedNet
// builds it) before and after `optimize`: nodes, reductions and the elements they sweep, and one
// training iteration compiled from each, median CPU time per call in the same run.
//
//   node dist/bench/train-graph.js [--batch 50] [--reps 15] [--dtype f64|f32]

import "../ops/index.js"; // registers the builtin primitives
import { parseArgs } from "node:util";
import type { Graph } from "../core/graph.js";
import { RandomState } from "../nn/random.js";
import { Tensor, type DType } from "../core/tensor.js";
import { optimize } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";
import { compile } from "../compile/codegen/compile.js";
import { FullyConnectedNet, type Normalization } from "../nn/net.js";

export interface TrainGraphRow {
  normalization: string;
  nodes: [number, number];
  reductions: [number, number];
  /** Elements read by all reductions together. */
  swept: [number, number];
  /** Median CPU ms of one compiled iteration: derived graph, optimized graph. */
  ms: [number, number];
}

const reductionsOf = (g: Graph) => g.nodes().filter((n) => n.inputs.length > 0 && n.def.kind === "reduce");
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export function benchTrainGraph(batch: number, reps: number, dtype: DType): TrainGraphRow[] {
  const rows: TrainGraphRow[] = [];
  for (const normalization of ["batchnorm", null] as Normalization[]) {
    const net = new FullyConnectedNet([100, 100, 100, 100, 100], { inputDim: 3072, weightScale: 2e-2, normalization, seed: 231, dtype });
    const derived = net.graph("train", batch);
    const optimized = optimize(derived);
    const rs = new RandomState(231);
    const X = new Tensor(dtype === "f32" ? Float32Array.from(rs.randn(batch, 3072)) : rs.randn(batch, 3072), [batch, 3072]);
    const labels = rs.randint(10, undefined, [batch]);
    const y = new Tensor(dtype === "f32" ? Float32Array.from(labels) : Float64Array.from(labels), [batch]);
    const values: Record<string, Tensor> = { X, y, ...net.params, ...net.state };
    const feed = (g: Graph) => Object.fromEntries(g.inputs.map((x) => [x.name, values[x.name]]));
    const exes = [derived, optimized].map((g) => ({ exe: compile(g), inputs: feed(g) }));
    const samples: number[][] = [[], []];
    for (const { exe, inputs } of exes) exe.run(inputs); // warm-up
    for (let k = 0; k < reps; k++) {
      exes.forEach(({ exe, inputs }, i) => {
        const t0 = cpuMs();
        exe.run(inputs);
        samples[i].push(cpuMs() - t0);
      });
    }
    const median = (s: number[]) => [...s].sort((p, q) => p - q)[Math.floor(s.length / 2)];
    const swept = (g: Graph) => reductionsOf(g).reduce((m, n) => m + n.inputs[0].size, 0);
    rows.push({
      normalization: normalization ?? "none",
      nodes: [stats(derived).nodes, stats(optimized).nodes],
      reductions: [reductionsOf(derived).length, reductionsOf(optimized).length],
      swept: [swept(derived), swept(optimized)],
      ms: [median(samples[0]), median(samples[1])],
    });
  }
  return rows;
}

function main() {
  const { values } = parseArgs({
    options: { batch: { type: "string", default: "50" }, reps: { type: "string", default: "15" }, dtype: { type: "string", default: "f64" } },
  });
  const batch = Number(values.batch),
    reps = Number(values.reps);
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(reps) || reps < 1 || !["f64", "f32"].includes(values.dtype!)) {
    throw new Error("train-graph bench: --batch and --reps are positive integers, --dtype f64 or f32");
  }
  const rows = benchTrainGraph(batch, reps, values.dtype as DType);
  console.log(`6-layer net [100]*5, 3,072 features, batch ${batch}, ${values.dtype}: derived -> optimized training graph`);
  console.log(
    `${"normalization".padEnd(14)}${"nodes".padStart(12)}${"reductions".padStart(12)}${"elements swept".padStart(18)}${"iteration (CPU ms)".padStart(22)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.normalization.padEnd(14)}${r.nodes.join(" -> ").padStart(12)}${r.reductions.join(" -> ").padStart(12)}${r.swept.join(" -> ").padStart(18)}${r.ms
        .map((m) => m.toFixed(2))
        .join(" -> ")
        .padStart(22)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
