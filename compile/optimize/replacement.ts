// A rule's replacement is checked where it enters the graph: a node (or null to decline) of the
// matched node's shape and dtype. A replacement of another dtype would silently change what the
// graph outputs; one of another shape would fail later, deep in the rewriter, naming no rule.

import { GradcError } from "../../core/errors.js";
import { Node } from "../../core/node.js";
import { shapeStr, sameShape } from "../../core/tensor.js";

export function checkReplacement(rule: { name: string; source?: string }, root: Node, out: unknown): Node | null {
  if (out === null || out === undefined) return null;
  const who = `rule ${rule.name}${rule.source ? ` (defined at ${rule.source})` : ""}`;
  if (!(out instanceof Node)) {
    throw new GradcError(
      `${who}: the replacement must be a graph node (or null to decline), got ${typeof out} ${String(out)}; build it with builder ops\n  at ${root.op} ${root}`,
    );
  }
  if (!sameShape(out.shape, root.shape) || out.dtype !== root.dtype) {
    throw new GradcError(
      `${who}: the replacement ${out} must keep the matched node's shape and dtype ${root.dtype}${shapeStr(root.shape)}\n  at ${root.op} ${root}`,
    );
  }
  return out;
}
