// Reuse what the forward computed: when the forward defined residual r as another full-size
// residual a times small broadcast factors (xhat = xc / std), then a = r * std, and the backward
// can read r alone. Which form is cheaper is left to the cost model (optimize keeps the best).

import { apply, type Node } from "../../core/node.js";
import { Graph, numbering, rewriteGraph, toposort } from "../../core/graph.js";
import { emitTerm, flatten, type Term } from "./monomial-form.js";
import type { Context } from "./rules/rule.js";
import type { RewriteStep } from "./rewrite.js";
import { inline } from "./trace.js";

export function reuseResiduals(g: Graph, ctx: Context): { graph: Graph; step: RewriteStep } | null {
  const used = new Set(g.nodes());
  const toInput = new Map<Node, Node>();
  // residual inputs only: a fact without an input (a forward output the graph may read) is not one
  const residuals = Object.entries(g.facts).filter(([name]) => g.inputNames.includes(name));
  for (const [name, def] of residuals) toInput.set(def, g.input(name));
  const toBackward = (n: Node): Node | null => {
    const hit = toInput.get(n);
    if (hit) return hit;
    if (n.isConst || (n.isInput && g.inputs.includes(n))) return n;
    if (n.inputs.length === 0 || n.def.kind !== "movement") return null;
    const ins = n.inputs.map(toBackward);
    return ins.every((x): x is Node => x !== null) ? apply(n.op, ins, n.attrs) : null;
  };

  const map = new Map<Node, Node>();
  const matched: Node[] = [];
  for (const [name, def] of residuals) {
    const r = g.input(name);
    if (!used.has(r) || def.inputs.length === 0) continue;
    const ins = def.inputs.map(toBackward);
    if (!ins.every((x): x is Node => x !== null)) continue;
    const terms = flatten(apply(def.op, ins, def.attrs), ctx);
    if (terms.length !== 1) continue;
    const solved = solveFor(terms[0], r, ctx);
    if (!solved || map.has(solved.a) || !used.has(solved.a)) continue;
    map.set(solved.a, solved.value);
    matched.push(solved.a, r);
  }
  if (map.size === 0) return null;
  const graph = rewriteGraph(g, map);
  const before = new Set(g.nodes());
  const names = numbering(graph);
  const pairs = [...map].map(([a, value]) => [a, inline(value, names, new Set(toposort([value]).filter((n) => !before.has(n))))] as const);
  const step: RewriteStep = {
    rule: "reuse-residual",
    law: "a = r * c where the forward defined r = a / c   (read the residual r instead of a)",
    group: "facts",
    at: matched[0],
    replacement: map.get(matched[0])!,
    before: pairs.map(([a]) => `%${a.name}`).join(", "),
    after: pairs.map(([, text]) => text).join(", "),
    cancelled: [],
    cancelledText: [],
    matched,
    produced: graph.nodes().filter((n) => !before.has(n)),
    graph,
    base: g,
    substitution: [...map],
  };
  return { graph, step };
}

/** r = c * a * (broadcast factors)  =>  a = r / (c * broadcast factors), if a is a full-size input. */
function solveFor(t: Term, r: Node, ctx: Context): { a: Node; value: Node } | null {
  const plain = [...t.num, ...t.den].filter(([x]) => x.op !== "broadcastTo");
  if (plain.length !== 1) return null;
  const [a, e] = plain[0];
  if (e !== 1 || !t.num.has(a) || !a.isInput || a === r || a.size !== r.size || t.coef.isZero) return null;
  if (![...t.num.keys()].every((x) => x === a || ctx.nonzero(x))) return null;
  const num = new Map<Node, number>([[r, 1], ...t.den]);
  const den = new Map([...t.num].filter(([x]) => x !== a));
  return { a, value: emitTerm({ coef: t.coef.inverse(), num, den }, r) };
}
