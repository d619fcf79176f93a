// Arithmetic: constant folding, like terms, identities, and the canonical form they share.

import * as b from "../../../core/builder.js";
import { emit, flatten } from "../linear.js";
import { any, P, rule, v, type Context, type Match, type Rule } from "./rule.js";

const x = v("x"), y = v("y");

/** Flatten to a sum of monomials and emit it back: collects like terms, cancels, factors. */
function canonical({ root }: Match, ctx: Context) {
  const out = emit(flatten(root, ctx, ctx.memo), root);
  return out === root ? null : out;
}

const allConst = ({ root }: Match) => root.inputs.length > 0 && root.inputs.every((n) => n.isConst) && root.def.kind === "elementwise";

export const algebra: Rule[] = [
  rule("fold-constants",    any(),            ({ root }) => b.constant(root.def.scalar!(...root.inputs.map((n) => n.value)), root.dtype, root.shape), { guard: allConst }),
  rule("collect-add",       P.add(x, y),      canonical, { assumesFinite: true }), // x - x = 0 is false for x = inf
  rule("collect-sub",       P.sub(x, y),      canonical, { assumesFinite: true }),
  rule("collect-neg",       P.neg(x),         canonical),
  rule("collect-mul",       P.mul(x, y),      canonical, { assumesFinite: true }), // 0 * x = 0 is false for x = inf
  rule("collect-div",       P.div(x, y),      canonical, { assumesFinite: true }),
  rule("collect-recip",     P.recip(x),       canonical),
  rule("collect-square",    P.square(x),      canonical),
  rule("rsqrt-as-sqrt",     P.rsqrt(x),       ({ x }) => b.recip(b.sqrt(x))),
  rule("select-same",       P.select(v("c"), x, x), ({ x }) => x),
  rule("stop-gradient",     P.stopGradient(x), ({ x }) => x), // only the derivative differs; after grad it is the identity
];
