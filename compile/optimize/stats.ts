// Static costs of a graph: what the optimizer's cost model minimizes and what the CLI reports.

import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";

export interface GraphStats {
  /** Operation nodes (inputs and constants not counted). */
  nodes: number;
  /** Longest chain of reductions over full-size data on any path: sequential sweeps over the data. */
  reductionDepth: number;
  /** Reductions whose operand is full-size. */
  fullSizeReductions: number;
  /** Elementwise operations per element of the full-size data. */
  elementwisePerElement: number;
  /** The full size: the largest input's number of elements. */
  fullSize: number;
}

const isOperation = (n: Node) => !n.isInput && !n.isConst;

export function stats(g: Graph): GraphStats {
  const nodes = g.nodes();
  const fullSize = Math.max(1, ...g.inputs.map((x) => x.size));
  const depth = new Map<Node, number>();
  let reductionDepth = 0;
  let fullSizeReductions = 0;
  let elementwise = 0;
  for (const n of nodes) {
    let d = 0;
    for (const x of n.inputs) d = Math.max(d, depth.get(x) ?? 0);
    const kind = isOperation(n) ? n.def.kind : "leaf";
    if (kind === "reduce" && n.inputs[0].size >= fullSize) {
      d += 1;
      fullSizeReductions++;
    }
    if (kind === "elementwise") elementwise += n.size / fullSize;
    depth.set(n, d);
    reductionDepth = Math.max(reductionDepth, d);
  }
  return {
    nodes: nodes.filter(isOperation).length,
    reductionDepth,
    fullSizeReductions,
    elementwisePerElement: Math.round(elementwise * 100) / 100,
    fullSize,
  };
}
