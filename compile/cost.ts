// The cost model: fewer sequential reduction rounds over the full data first (each is a sweep that
// must finish before the next starts), then fewer full-size passes (reductions and full-size
// inputs read), then fewer elementwise operations per element, then fewer nodes.

import type { Graph } from "../core/graph.js";
import { stats } from "./stats.js";

export type Cost = readonly number[];

export function cost(g: Graph): Cost {
  const s = stats(g);
  const used = new Set(g.nodes());
  const fullInputs = g.inputs.filter((x) => used.has(x) && x.size >= s.fullSize).length;
  return [s.reductionDepth, s.fullSizeReductions + fullInputs, s.elementwisePerElement, s.nodes];
}

/** Lexicographic comparison: negative when a is cheaper. */
export function compareCost(a: Cost, b: Cost): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
