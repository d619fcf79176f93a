// gradc's compiled kernels against ONNX Runtime (onnxruntime-node, CPU, one thread and its default
// thread count) on the same graphs, exported by exportOnnx, in one run (machines are noisy: read
// the ratios). Graphs: batchnorm's optimized backward at 1024x1024 (and the naive backward on ORT),
// and the 6-layer notebook net's training step (loss and every gradient) at a batch of 50.
//
//   npx tsc -p . && node dist/bench/onnx.js [--reps 20]

import "../ops/index.js";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import type { Graph } from "../core/graph.js";
import { Tensor } from "../core/tensor.js";
import { evaluate } from "../core/evaluate.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { zoo } from "../ops/zoo.js";
import { exportOnnx, onnxOutputNames } from "../compile/export/onnx.js";
import { FullyConnectedNet } from "../nn/net.js";
import { randomInputs, seeded } from "../compile/check/random-graphs.js";
import { feeds, mismatch } from "../spec/support/ort.js";

const { values } = parseArgs({ options: { reps: { type: "string", default: "20" } } });
const reps = Number(values.reps);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

interface Row {
  graph: string;
  engine: string;
  ms: number;
}
const rows: Row[] = [];

async function compare(label: string, g: Graph, inputs: Record<string, Tensor>, ortGraphs: [string, Graph][]): Promise<void> {
  const tol = g.inputs[0].dtype === "f32" ? 1e-3 : 1e-9;
  const exe = compile(g);
  const want = evaluate(g, inputs);
  const got = exe.run(inputs);
  for (const k of g.outputNames) if (!(mismatch(got[k], want[k]) < tol)) throw new Error(`${label}: compiled ${k} differs from evaluate`);
  rows.push({ graph: label, engine: "gradc compiled", ms: await time(() => exe.run(inputs)) });
  for (const [what, h] of ortGraphs) {
    for (const threads of [1, 0]) {
      const session = await ort.InferenceSession.create(exportOnnx(h), { intraOpNumThreads: threads, executionMode: "sequential" });
      const f = feeds(inputs);
      const out = await session.run(f);
      const names = onnxOutputNames(h);
      for (const [i, k] of h.outputNames.entries()) {
        const v = out[names[i]];
        const t = new Tensor(v.data as Float64Array | Float32Array, v.dims.map(Number));
        if (!(mismatch(t, want[k]) < tol)) throw new Error(`${label}: ORT ${what} ${k} differs from evaluate`);
      }
      rows.push({ graph: label, engine: `onnxruntime ${what}, ${threads ? "1 thread" : "default threads"}`, ms: await time(() => session.run(f)) });
      await session.release();
    }
  }
}

for (const dtype of ["f64", "f32"] as const) {
  // batchnorm backward at 1024x1024: residuals from the forward, so the inputs are consistent
  {
    const { forward, backward } = vjp(zoo.batchnorm.build([1024, 1024], dtype), { of: "out" });
    const values: Record<string, Tensor> = randomInputs(forward, seeded(1));
    Object.assign(values, evaluate(forward, values), { dout: randomInputs(forward, seeded(2)).x });
    const inputs = Object.fromEntries(backward.inputNames.map((k) => [k, values[k]]));
    const opt = optimize(backward);
    await compare(`batchnorm backward 1024x1024 ${dtype}`, opt, inputs, [
      ["optimized", opt],
      ["naive", backward],
    ]);
  }

  // the notebook's 6-layer net (5 hidden layers of 100, batchnorm), one training step at a batch of 50
  {
    const net = new FullyConnectedNet([100, 100, 100, 100, 100], { normalization: "batchnorm", reg: 0.01, weightScale: 0.05, seed: 231, dtype });
    const g = optimize(net.graph("train", 50));
    const inputs: Record<string, Tensor> = { ...net.params, ...net.state };
    inputs.X = randomInputs(g, seeded(3)).X;
    const labels = Array.from({ length: 50 }, (_, i) => i % 10);
    inputs.y = new Tensor(dtype === "f32" ? Float32Array.from(labels) : Float64Array.from(labels), [50]);
    await compare(`6-layer net training step, batch 50 ${dtype}`, g, inputs, [["optimized", g]]);
  }
}

const base = new Map(rows.filter((r) => r.engine === "gradc compiled").map((r) => [r.graph, r.ms]));
console.log(`${"graph".padEnd(42)}${"engine".padEnd(42)}${"ms".padStart(9)}${"vs gradc".padStart(10)}`);
for (const r of rows)
  console.log(`${r.graph.padEnd(42)}${r.engine.padEnd(42)}${r.ms.toFixed(3).padStart(9)}${(r.ms / base.get(r.graph)!).toFixed(2).padStart(9)}x`);
