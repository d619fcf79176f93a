// Where a training iteration's time goes: one forward + backward of the notebook's 6-layer net
// at batch 50, on each engine, plus a per-op profile of the naive graph (the interpreter runs one
// op at a time, so it can say which ops cost what).

import { bindInputs } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { RandomState } from "./random.js";
import { Tensor } from "../core/tensor.js";
import { FullyConnectedNet, type Normalization } from "./net.js";
import type { Engine } from "./runner.js";

export interface IterationTiming {
  engine: Engine;
  normalization: Normalization;
  batchSize: number;
  inputDim: number;
  /** Op nodes in the executed train graph (after optimization for the compiled engine). */
  nodes: number;
  prepareMs: number;
  /** Median over the repetitions of one net.loss(X, y) (forward + all gradients). */
  msPerIteration: number;
  /** Multiply-adds of the matrix products per iteration, for a GFLOP/s figure. */
  matmulMacs: number;
}

export interface SpeedOptions {
  hiddenDims?: number[];
  inputDim?: number;
  batchSize?: number;
  reps?: number;
  seed?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const macs = (g: Graph) =>
  g
    .nodes()
    .filter((n) => n.op === "matmul")
    .reduce((m, n) => m + n.inputs[0].shape[0] * n.inputs[0].shape[1] * n.inputs[1].shape[1], 0);

function batch(inputDim: number, n: number, seed: number): { X: Tensor; y: number[] } {
  const rs = new RandomState(seed);
  return { X: new Tensor(rs.randn(n, inputDim), [n, inputDim]), y: rs.randint(10, undefined, [n]) };
}

/**
 * Time one training iteration (net.loss(X, y)) per engine and normalization.
 *
 *   timeIterations({ reps: 20 })   // 6-layer [100]*5 net, batch 50, 3,072 features
 */
export function timeIterations(opts: SpeedOptions = {}): IterationTiming[] {
  const { hiddenDims = [100, 100, 100, 100, 100], inputDim = 3072, batchSize = 50, reps = 10, seed = 231 } = opts;
  const { X, y } = batch(inputDim, batchSize, seed);
  const out: IterationTiming[] = [];
  for (const normalization of ["batchnorm", null] as Normalization[]) {
    for (const engine of ["compiled", "interpreted"] as Engine[]) {
      const net = new FullyConnectedNet(hiddenDims, { inputDim, weightScale: 2e-2, normalization, seed, engine });
      net.loss(X, y); // prepare (optimize, compile) outside the timing
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t = performance.now();
        net.loss(X, y);
        times.push(performance.now() - t);
      }
      const g = net.runner("train", batchSize).graph;
      out.push({ engine, normalization, batchSize, inputDim, nodes: g.size, prepareMs: net.prepareMs, msPerIteration: median(times), matmulMacs: macs(g) });
    }
  }
  return out;
}

/**
 * Milliseconds per op kind of the naive (derived, unoptimized) train graph, run by the
 * interpreter's reference kernels: where the time goes.
 */
export function profileNaive(opts: SpeedOptions & { normalization?: Normalization } = {}): Record<string, number> {
  const { hiddenDims = [100, 100, 100, 100, 100], inputDim = 3072, batchSize = 50, reps = 5, seed = 231 } = opts;
  const net = new FullyConnectedNet(hiddenDims, { inputDim, weightScale: 2e-2, normalization: opts.normalization ?? "batchnorm", seed, engine: "interpreted" });
  const { X, y } = batch(inputDim, batchSize, seed);
  const g = net.graph("train", batchSize);
  const ms: Record<string, number> = {};
  for (let r = 0; r < reps; r++) {
    const values = bindInputs(g, { X, y, ...net.params, ...net.state });
    for (const n of g.nodes()) {
      if (values.has(n)) continue;
      const args = n.inputs.map((x: Node) => values.get(x)!);
      const t = performance.now();
      values.set(n, n.def.impl(args, n.attrs, n));
      ms[n.op] = (ms[n.op] ?? 0) + (performance.now() - t) / reps;
    }
  }
  return Object.fromEntries(Object.entries(ms).sort((a, b) => b[1] - a[1]));
}
