// Contractions: a sum of products over indices (matmuls, elementwise products, transposes and
// sums flattened together, compile/optimize/contraction.ts) is evaluated in the cheapest order,
// counting a product the program computes anyway (a residual, a shared value) as free. One law:
// sums distribute over the factors that do not carry their index.

import type { Node } from "../../../core/node.js";
import { cheapestOrder, flattenContraction } from "../contraction.js";
import { P, rule, v, type Context, type Match, type Rule } from "./rule.js";

const x = v("x"),
  y = v("y");

/** Sums distribute over the factors that do not carry their index, so any order computes it. */
const LAW =
  "sum_J prod_f A_f = sum_J2 (sum_J1 prod_{f in S} A_f) * prod_{f not in S} A_f, J1 the indices only S carries   (sum_j P_ij (dO V^T)_ij = sum_k dO_ik (P V)_ik)";

function reorder({ root }: Match, ctx: Context): Node | null {
  const free = (n: Node) => n.isInput || n.isConst || ctx.shared?.(n) === true || ctx.residualFor?.(n) !== undefined;
  const e = flattenContraction(root, free);
  if (!e) return null;
  const best = cheapestOrder(e, root, free);
  return best && best.cost < e.current && best.node !== root ? best.node : null;
}

export const contraction: Rule[] = [
  rule("sum-of-contraction", P.sum(x), reorder, { law: LAW, group: "linearity" }),
  rule("matmul-of-contraction", P.matmul(x, y), reorder, { law: LAW, group: "linearity" }),
];
