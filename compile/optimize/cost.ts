// The cost model: fewer sequential reduction rounds over the full data first (each is a sweep that
// must finish before the next starts), then the same measured in elements on every path (so that
// rounds over data smaller than the largest input, a hidden layer's activations, still count),
// then less contraction work (a matmul's multiply-adds plus the elements it reads: reordering a
// contraction pays only where it computes less), then fewer full-size passes (reductions and
// full-size inputs read), then less elementwise work, then fewer nodes.

import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { stats } from "./stats.js";

export type Cost = readonly number[];

export function cost(g: Graph): Cost {
  const s = stats(g);
  const used = new Set(g.nodes());
  const fullInputs = g.inputs.filter((x) => used.has(x) && x.size >= s.fullSize).length;
  const swept = new Map<Node, number>();
  let critical = 0;
  let contraction = 0;
  for (const n of g.nodes()) {
    if (n.op === "matmul") contraction += matmulWork(n);
    let d = 0;
    for (const x of n.inputs) d = Math.max(d, swept.get(x) ?? 0);
    if (n.inputs.length && n.def.kind === "reduce") d += n.inputs[0].size;
    swept.set(n, d);
    critical = Math.max(critical, d);
  }
  return [s.reductionDepth, critical, contraction, s.fullSizeReductions + fullInputs, s.elementwisePerElement, s.nodes];
}

/** Multiply-adds of a (batched) matrix product plus the elements it reads. */
export function matmulWork(n: Node): number {
  const [x, y] = n.inputs;
  return x.size * y.shape[y.rank - 1] + x.size + y.size;
}

/** Lexicographic comparison: negative when a is cheaper. */
export function compareCost(a: Cost, b: Cost): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
