// What a traced rewrite step records for a reader: the matched subexpression before and after in
// the printer's text form, and which operands truly cancelled. A rule that only rebuilds its
// parents (collect-mul reordering a product) cancels nothing; one whose result no longer uses a
// reduction or input the matched expression used (x * sum(y) / sum(y) = x, sum(xhat) = 0,
// 0 * sum(dout * xhat) dropped) cancelled it.

import { numbering, toposort, type Graph } from "../../core/graph.js";
import { formatAttrs, formatNumber, type Node } from "../../core/node.js";

export interface StepText {
  /** The matched subexpression before the step, nodes the step keeps named by their %k in the graph before. */
  before: string;
  /** The replacement, nodes that existed before named by their %k in the graph after. */
  after: string;
  /** Reductions and inputs of the matched expression the replacement no longer uses: true cancellations. */
  cancelled: Node[];
  /** The same, in text form (numbered in the graph before). */
  cancelledText: string[];
}

/** How deep the text form inlines new or vanished nodes before naming them "...". */
const DEPTH = 4;

export function describeStep(before: Graph, after: Graph, root: Node, out: Node): StepText {
  const under = (n: Node) => new Set(toposort([n]));
  const was = under(root);
  const now = under(out);
  const vanished = new Set([...was].filter((n) => !now.has(n)));
  const fresh = new Set([...now].filter((n) => !was.has(n)));
  // A reduction or an input the result no longer uses is gone, not rebuilt: sums are never
  // recreated by reordering (hash-consing would return the same node), so a vanished one cancelled.
  const gone = (n: Node) => n !== root && (n.isInput || (!n.isConst && n.def.kind === "reduce"));
  const cancelled: Node[] = [];
  const covered = new Set<Node>();
  for (const n of [...vanished].reverse()) {
    if (covered.has(n)) continue;
    if (gone(n)) {
      cancelled.push(n);
      for (const x of toposort([n])) covered.add(x);
    }
  }
  const beforeNames = numbering(before);
  const afterNames = numbering(after);
  return {
    before: inline(root, beforeNames, vanished),
    after: inline(out, afterNames, fresh),
    cancelled,
    cancelledText: cancelled.map((n) => inline(n, beforeNames, new Set([n]))),
  };
}

/** `sum[axes=[0]](mul(%3, %dout))`: nodes in `open` are written out, others named. */
export function inline(n: Node, names: ReadonlyMap<Node, string>, open: ReadonlySet<Node>, depth = DEPTH): string {
  if (n.isInput) return `%${n.name}`;
  if (n.isConst) return formatNumber(n.value);
  const name = names.get(n);
  if (name && !open.has(n)) return name;
  if (depth === 0) return name ?? "...";
  return `${n.op}${formatAttrs(n.attrs)}(${n.inputs.map((x) => inline(x, names, open, depth - 1)).join(", ")})`;
}
