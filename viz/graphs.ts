// A page's graphs from its node table: the nodes a graph reaches in the text form's order, their
// %k numbering and text lines. The same walk as core's Graph.nodes() and numbering(), so a box's
// %k is the one the text form, the derivation and the kernel source use.

import type { VizGraph, VizNode } from "./model.js";

export interface Shown {
  /** Nodes in the text form's order (unused inputs first, then a depth-first topological order). */
  nodes: VizNode[];
  /** id -> %k, %name, or a literal. */
  names: Map<number, string>;
  /** id -> output names it is returned as. */
  outputsOf: Map<number, string[]>;
}

export function expand(table: ReadonlyMap<number, VizNode>, g: Pick<VizGraph, "inputs" | "outputs">): Shown {
  const reached: VizNode[] = [];
  const state = new Map<number, number>();
  for (const [, root] of g.outputs) {
    if (state.has(root)) continue;
    const stack: [VizNode, number][] = [[table.get(root)!, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const n = top[0];
      if (top[1] < n.inputs.length) {
        const x = n.inputs[top[1]++];
        if (!state.has(x)) {
          state.set(x, 1);
          stack.push([table.get(x)!, 0]);
        }
      } else {
        stack.pop();
        reached.push(n);
      }
    }
  }
  const nodes = [...g.inputs.filter((id) => !state.has(id)).map((id) => table.get(id)!), ...reached];
  const names = new Map<number, string>();
  let k = 0;
  for (const n of nodes) names.set(n.id, n.operand || `%${k++}`);
  const outputsOf = new Map<number, string[]>();
  for (const [name, id] of g.outputs) outputsOf.set(id, [...(outputsOf.get(id) ?? []), name]);
  return { nodes, names, outputsOf };
}

/** The node's line in the text form: `%7 = sub %x %6 : f64[200,3]`. */
export function textLine(n: VizNode, names: ReadonlyMap<number, string>): string {
  const type = `${n.dtype}[${n.shape.join(",")}]`;
  if (n.kind === "input") return `${n.operand} : ${type} (input)`;
  if (n.kind === "const") return `${n.operand} : ${type} (constant)`;
  return `${names.get(n.id)} = ${n.op}${n.attrs} ${n.inputs.map((x) => names.get(x) ?? "?").join(" ")} : ${type}`;
}

export const tableOf = (nodes: readonly VizNode[]): Map<number, VizNode> => new Map(nodes.map((n) => [n.id, n]));
