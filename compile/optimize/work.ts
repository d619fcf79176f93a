// The whole-graph work: what executing a graph costs the machine, counted at its shapes. The
// optimizer's result never exceeds its input on it (optimize.ts), whatever the graph is: a forward,
// a backward, a vjp pair's halves, a Hessian-vector product.
//   multiplyAdds  a matrix product's multiply-adds (batch * M * K * N)
//   elementwise   elements computed by elementwise operations (a tanh and an add count alike)
//   reduced       elements read by reductions: each reduction is a pass over its operand
//   passes        reductions and matrix products (each a sweep a later value waits on)
//   bytes         bytes the operations write (their outputs; views and inputs are free), unfused
// The comparison is lexicographic in none of them: a graph is no worse than another only when it
// is no worse in each of multiply-adds, elementwise work and reduced elements (see docs/optimizer.md).

import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";

export interface Work {
  multiplyAdds: number;
  elementwise: number;
  reduced: number;
  passes: number;
  bytes: number;
  nodes: number;
}

const bytesOf = (n: Node) => (n.dtype === "f32" ? 4 : 8);

/** The work of one operation node (inputs, constants and views cost nothing). */
export function nodeWork(n: Node, into: Work): void {
  if (n.inputs.length === 0) return;
  const kind = n.def.kind;
  if (kind === "movement") return;
  into.nodes++;
  into.bytes += n.size * bytesOf(n);
  if (n.op === "matmul") {
    const [x, y] = n.inputs;
    into.multiplyAdds += x.size * y.shape[y.rank - 1];
    into.passes++;
  } else if (kind === "elementwise") {
    into.elementwise += n.size;
  } else if (kind === "reduce") {
    into.reduced += n.inputs[0].size;
    into.passes++;
  } else {
    // gathers, scatters, custom kernels: one element of work per element they read or write
    into.elementwise += Math.max(n.size, ...n.inputs.map((x) => x.size));
  }
}

export function work(g: Graph): Work {
  const w: Work = { multiplyAdds: 0, elementwise: 0, reduced: 0, passes: 0, bytes: 0, nodes: 0 };
  for (const n of g.nodes()) nodeWork(n, w);
  return w;
}

/** True when `a` does no more multiply-adds, elementwise work and reduction reads than `b`. */
export function noWorse(a: Work, b: Work): boolean {
  return a.multiplyAdds <= b.multiplyAdds && a.elementwise <= b.elementwise && a.reduced <= b.reduced;
}
