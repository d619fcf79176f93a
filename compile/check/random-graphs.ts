// Random graphs for property tests: elementwise chains, broadcasts of small values, reductions over
// random axes (broadcast back), reshapes, transposes and matmuls, over bounded values so that every
// case is finite. Seeded, so a failing case is replayed from its seed.

import * as b from "../../core/builder.js";
import { mulberry32 } from "../../core/mulberry32.js";
import { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { Tensor, type DType } from "../../core/tensor.js";

export type Rand = () => number;

/** mulberry32: small, fast, good enough for test cases. */
export const seeded: (seed: number) => Rand = mulberry32;

export interface FuzzOptions {
  dtype?: DType;
  steps?: number;
  /** Include matmul (needs rank-2 shapes). */
  matmul?: boolean;
}

export interface FuzzCase {
  seed: number;
  graph: Graph;
  inputs: Record<string, Tensor>;
}

const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** A random graph and random inputs for it, from a seed. */
export function randomCase(seed: number, opts: FuzzOptions = {}): FuzzCase {
  const r = seeded(seed);
  const dtype = opts.dtype ?? "f64";
  const rank = opts.matmul ? 2 : int(r, 1, 3);
  const shape = Array.from({ length: rank }, () => int(r, 1, 5));
  const inputs: Node[] = [];
  const full = () => {
    const x = b.input(`x${inputs.length}`, shape, dtype);
    inputs.push(x);
    return x;
  };
  const small = () => {
    const s = shape.map((d) => (r() < 0.5 ? 1 : d));
    const x = b.input(`s${inputs.length}`, s, dtype);
    inputs.push(x);
    return b.broadcastTo(x, shape);
  };
  const weight = () => {
    const w = b.input(`w${inputs.length}`, [shape[1], shape[1]], dtype);
    inputs.push(w);
    return r() < 0.5 ? w : b.transpose(w);
  };
  const pool: Node[] = [full(), full()];
  const any = () => pick(r, pool);
  const positive = (x: Node) => (r() < 0.5 ? b.add(b.square(x), 1) : b.exp(b.tanh(x)));
  const axes = () => {
    const ax = shape.map((_, i) => i).filter(() => r() < 0.5);
    return ax.length ? ax : [int(r, 0, rank - 1)];
  };
  const steps = opts.steps ?? int(r, 3, 10);
  for (let i = 0; i < steps; i++) {
    const x = any(),
      y = any();
    const k = int(r, 0, opts.matmul ? 13 : 12);
    const out = [
      () => b.add(x, y),
      () => b.sub(x, y),
      () => b.mul(x, y),
      () => b.div(x, positive(y)),
      () => b.mul(x, small()),
      () => b.sub(x, b.broadcastTo(b.mean(x, axes(), true), shape)),
      () => b.broadcastTo(b.sum(b.mul(x, y), axes(), true), shape),
      () => b.neg(b.square(x)),
      () => b.sqrt(positive(x)),
      () => b.mul(b.tanh(x), 2.5),
      () => b.maximum(x, y),
      () => b.reshape(b.reshape(x, [x.size]), shape),
      () => b.add(x, full()),
      () => b.matmul(x, weight()),
    ][k]();
    pool.push(out.shape.length === rank ? out : x);
  }
  const outputs: Record<string, Node> = { out: pool[pool.length - 1] };
  if (r() < 0.5) outputs.reduced = b.sum(pick(r, pool), axes(), true);
  const graph = new Graph(inputs, outputs);
  return { seed, graph, inputs: randomInputs(graph, r) };
}

/**
 * Values uniform in [lo, hi) for every input of a graph, in its dtype, drawn in input order; an
 * input read as class labels (by op classIndex, under oneHot and softmaxCrossEntropy) gets
 * integers in 0..C-1 from the same draws, since any other value is an error when the graph runs.
 */
export function randomInputs(g: Graph, rand: Rand, lo = -2, hi = 2): Record<string, Tensor> {
  const classes = labelInputs(g);
  const values: Record<string, Tensor> = {};
  for (const x of g.inputs) {
    const data = x.dtype === "f32" ? new Float32Array(x.size) : new Float64Array(x.size);
    const c = classes.get(x);
    for (let i = 0; i < data.length; i++) data[i] = c === undefined ? lo + (hi - lo) * rand() : Math.floor(c * rand());
    values[x.name] = new Tensor(data, x.shape);
  }
  return values;
}

/** Inputs a graph reads as class labels, with their class count (the smallest, if several ops read one). */
export function labelInputs(g: Graph): Map<Node, number> {
  const out = new Map<Node, number>();
  for (const n of g.nodes()) {
    const [y] = n.inputs;
    if (n.op !== "classIndex" || !y.isInput) continue;
    out.set(y, Math.min(out.get(y) ?? Infinity, n.attrs.classes as number));
  }
  return out;
}
