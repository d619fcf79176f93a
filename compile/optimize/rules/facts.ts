// Values the forward already computed. A backward graph from `vjp` knows how each residual was
// defined: an expression the forward computed is read from its residual (forward-value), and a
// reduction of a residual that simplifies to something the backward can compute
// (sum(x - mean(x)) = 0) is replaced by it (sum-of-residual).

import * as b from "../../../core/builder.js";
import { any, P, rule, v, type Context, type Match, type Rule } from "./rule.js";

const r = v("r");

function sumOfResidual({ root, r }: Match, ctx: Context) {
  const def = ctx.factOf(r);
  if (!def) return null;
  const expanded = ctx.simplify(b.sum(def, root.attrs.axes as number[], true));
  return ctx.available(expanded) && expanded !== root ? expanded : null;
}

export const facts: Rule[] = [
  rule("forward-value", any(), ({ root }, ctx) => ctx.residualFor?.(root) ?? null, {
    law: "e = r, where the forward computed r = e (up to the canonical form)   (sum(exp(x - m)) / r0 = 1)",
    group: "facts",
  }),
  rule("sum-of-residual", P.sum(r), sumOfResidual, {
    law: "sum(r) = sum(definition of r in the forward), simplified   (sum(x - mean(x)) = 0)",
    group: "facts",
    guard: ({ r }, ctx) => r.isInput && ctx.factOf(r) !== undefined,
  }),
];
