// Soundness of rewrite rules: wherever a rule fires on a graph, its two sides are evaluated with the
// reference interpreter on the same inputs and compared. Used by gradc's own tests (walking every
// table) and by `checkRule` for user rules.

import { evaluate } from "../../core/evaluate.js";
import { Graph, numbering, printNode, toposort } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import type { Tensor } from "../../core/tensor.js";
import { analysis } from "./facts.js";
import { match, type Match, type Rule } from "./rules/rule.js";

export interface SoundnessCase {
  graph: Graph;
  inputs: Record<string, Tensor>;
  /** Shown in failures, e.g. the fuzz seed. */
  label?: string;
}

export interface Firing {
  rule: string;
  error: number;
  where: string;
}

/**
 * Check every firing of `rules` on the cases' nodes. The error of a firing is the largest difference
 * of the two sides relative to the magnitude of the values involved (sides and operands), so that
 * legitimate cancellation (x + y - y -> x) is not mistaken for a bug.
 */
export function checkRules(rules: readonly Rule[], cases: readonly SoundnessCase[], tolerance = 1e-12): { firings: Firing[]; failures: Firing[] } {
  const firings: Firing[] = [];
  for (const c of cases) {
    const ctx = analysis(c.graph);
    const names = numbering(c.graph);
    for (const n of c.graph.nodes()) {
      if (n.inputs.length === 0) continue;
      for (const rule of rules) {
        const bound = match(rule.pattern, n);
        if (!bound) continue;
        const m = { ...bound, root: n } as Match;
        if (rule.guard && !rule.guard(m, ctx)) continue;
        const out = rule.rewrite(m, ctx);
        if (!out || out === n) continue;
        const error = compare(c, n, out);
        firings.push({ rule: rule.name, error, where: `${c.label ?? "case"}: ${printNode(n, names)}` });
      }
    }
  }
  return { firings, failures: firings.filter((f) => !(f.error <= tolerance)) };
}

function compare(c: SoundnessCase, lhs: Node, rhs: Node): number {
  // a replacement may read a forward value the graph's facts define but it does not take yet (a
  // forward output): the case supplies its value under the fact's name
  const added = toposort([rhs]).filter((x) => x.isInput && !c.graph.inputs.includes(x) && Object.hasOwn(c.graph.facts, x.name));
  const probe = new Graph([...c.graph.inputs, ...added], { lhs, rhs, ...Object.fromEntries(lhs.inputs.map((x, i) => [`in${i}`, x])) });
  const v = evaluate(probe, Object.fromEntries(probe.inputs.map((x) => [x.name, c.inputs[x.name]])));
  const maxAbs = (t: Tensor) => {
    let m = 0;
    for (const x of t.data) if (!Number.isNaN(x)) m = Math.max(m, Math.abs(x)); // a NaN operand (select NaN x y) does not make the scale NaN
    return m;
  };
  let scale = maxAbs(v.lhs) + maxAbs(v.rhs);
  lhs.inputs.forEach((x, i) => (scale += maxAbs(v[`in${i}`]) * Math.max(1, x.size / lhs.size)));
  let diff = 0;
  for (let i = 0; i < v.lhs.data.length; i++) {
    const a = v.lhs.data[i],
      b = v.rhs.data[i];
    if (Number.isNaN(a) !== Number.isNaN(b)) return Infinity;
    if (!Number.isNaN(a)) diff = Math.max(diff, Math.abs(a - b));
  }
  return scale === 0 ? diff : diff / scale;
}
