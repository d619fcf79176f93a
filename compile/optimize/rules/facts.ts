// Values the forward already computed. A backward graph from `vjp` knows how each residual was
// defined; a reduction of a residual that simplifies to something the backward can compute
// (sum(x - mean(x)) = 0) is replaced by it.

import * as b from "../../../core/builder.js";
import { P, rule, v, type Context, type Match, type Rule } from "./rule.js";

const r = v("r");

function sumOfResidual({ root, r }: Match, ctx: Context) {
  const def = ctx.factOf(r);
  if (!def) return null;
  const expanded = ctx.simplify(b.sum(def, root.attrs.axes as number[], true));
  return ctx.available(expanded) && expanded !== root ? expanded : null;
}

export const facts: Rule[] = [
  rule("sum-of-residual", P.sum(r), sumOfResidual, {
    law: "sum(r) = sum(definition of r in the forward), simplified   (sum(x - mean(x)) = 0)",
    group: "facts",
    guard: ({ r }, ctx) => r.isInput && ctx.factOf(r) !== undefined,
  }),
];
