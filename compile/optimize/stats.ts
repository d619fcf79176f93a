// Static costs of a graph: what the optimizer's cost model minimizes and what the CLI and the
// viewer report. Every reduction counts by its own operand, so the numbers mean the same on a
// normalization (one big input) as on a network whose hidden layers are smaller than its input.
// Definitions (docs/stats.md):
//   reduction   a `reduce` op whose result has fewer elements than its operand, or a matrix product
//               with an inner size above 1 (a sum over the inner axis): every element of its result
//               waits for a whole pass over its operand(s)
//   depth       the longest chain of reductions on any path from an input to an output: sequential
//               rounds of passes that cannot overlap
// The compiled counterparts (kernels, sweeps, bytes per call) come from codegen's schedule.

import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { checkGraph } from "../../core/args.js";

export interface GraphStats {
  /** Operation nodes (inputs and constants not counted). */
  nodes: number;
  /** Longest chain of reductions (and matrix products) on any path: rounds of passes that cannot overlap. */
  reductionDepth: number;
  /** Reductions and matrix products, each whatever its size. */
  reductions: number;
  /** Elements the reductions read: each reduction's own operand(s), summed. */
  reducedElements: number;
  /** Reductions whose operand is at least as large as the largest input (the cost model's full passes). */
  fullSizeReductions: number;
  /** Elementwise operations per element of the largest input (each op weighted by its own size). */
  elementwisePerElement: number;
  /** The largest input's number of elements: the unit of elementwisePerElement. */
  fullSize: number;
}

const isOperation = (n: Node) => !n.isInput && !n.isConst;

/** Elements a reduction reads, or 0 when the node is not a reduction. */
export function reductionOperand(n: Node): number {
  if (!isOperation(n)) return 0;
  if (n.def.kind === "reduce") return n.inputs[0].size > n.size ? n.inputs[0].size : 0;
  if (n.op === "matmul") {
    const [a, b] = n.inputs;
    const inner = a.shape[a.rank - 1] ?? 1;
    return inner > 1 ? a.size + b.size : 0;
  }
  return 0;
}

export function stats(g: Graph): GraphStats {
  checkGraph("stats", "the graph", g);
  const nodes = g.nodes();
  const fullSize = Math.max(1, ...g.inputs.map((x) => x.size));
  const depth = new Map<Node, number>();
  let reductionDepth = 0;
  let reductions = 0;
  let reducedElements = 0;
  let fullSizeReductions = 0;
  let elementwise = 0;
  for (const n of nodes) {
    let d = 0;
    for (const x of n.inputs) d = Math.max(d, depth.get(x) ?? 0);
    const read = reductionOperand(n);
    if (read > 0) {
      d += 1;
      reductions++;
      reducedElements += read;
      if (n.inputs[0].size >= fullSize) fullSizeReductions++;
    }
    if (isOperation(n) && n.def.kind === "elementwise") elementwise += n.size / fullSize;
    depth.set(n, d);
    reductionDepth = Math.max(reductionDepth, d);
  }
  return {
    nodes: nodes.filter(isOperation).length,
    reductionDepth,
    reductions,
    reducedElements,
    fullSizeReductions,
    elementwisePerElement: Math.round(elementwise * 100) / 100,
    fullSize,
  };
}
