// toDot: a graph for Graphviz, each node labelled with its line of the text form (constants stay
// inline in their users' labels, as the printer shows them), inputs carrying the forward
// definitions of residuals, outputs as the `return` the printer ends with.

import { factText, numbering, printNode, type Graph } from "../../core/graph.js";
import { shapeStr } from "../../core/tensor.js";

/** A DOT string literal: the label text with quotes, backslashes and newlines escaped. */
const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/**
 * The graph in Graphviz's DOT language.
 *
 *   writeFileSync("bn.dot", toDot(g));   // dot -Tsvg bn.dot > bn.svg
 */
export function toDot(g: Graph, opts: { name?: string } = {}): string {
  const names = numbering(g);
  const id = new Map<unknown, string>();
  const lines = [`digraph ${quote(opts.name ?? "gradc")} {`, "  rankdir=TB;", '  node [shape=box, fontname="monospace", fontsize=10];'];
  let k = 0;
  for (const n of g.nodes()) {
    if (n.isConst) continue;
    const v = `v${k++}`;
    id.set(n, v);
    if (n.isInput) {
      const def = Object.hasOwn(g.facts, n.name) ? `\n${factText(g, n.name)}   (forward)` : "";
      lines.push(`  ${v} [label=${quote(`%${n.name}: ${n.dtype}${shapeStr(n.shape)}${def}`)}, shape=ellipse];`);
    } else {
      const label = `${printNode(n, names)}${n.label ? `   # ${n.label}` : ""}`;
      lines.push(`  ${v} [label=${quote(label)}];`);
    }
  }
  for (const n of g.nodes()) {
    for (const x of n.inputs) if (!x.isConst && id.has(n)) lines.push(`  ${id.get(x)} -> ${id.get(n)};`);
  }
  for (const [name, v] of Object.entries(g.outputs)) {
    const o = `out_${k++}`;
    lines.push(`  ${o} [label=${quote(`return ${name}: ${names.get(v)}`)}, shape=note];`);
    if (id.has(v)) lines.push(`  ${id.get(v)} -> ${o};`);
  }
  lines.push("}", "");
  return lines.join("\n");
}
