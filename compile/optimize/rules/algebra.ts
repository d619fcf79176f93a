// Arithmetic: constant folding, like terms, identities, and the canonical form they share.

import * as b from "../../../core/builder.js";
import { emit, flatten, integerExponent, onlyFiniteConstants } from "../monomial-form.js";
import { any, P, rule, v, type Context, type Match, type Rule } from "./rule.js";

const x = v("x"),
  y = v("y");

/** Flatten to a sum of monomials and emit it back: collects like terms, cancels, factors. */
function canonical({ root }: Match, ctx: Context) {
  const out = emit(flatten(root, ctx, ctx.memo), root);
  return out === root ? null : out;
}

/** Exact coefficient arithmetic holds only for finite constants (Infinity * 0, Infinity - Infinity). */
const finiteConstants = ({ root }: Match) => onlyFiniteConstants(root);

const allConst = ({ root }: Match) => root.inputs.length > 0 && root.inputs.every((n) => n.isConst) && root.def.kind === "elementwise";

export const algebra: Rule[] = [
  rule("fold-constants", any(), ({ root }) => b.constant(root.def.scalar!(...root.inputs.map((n) => n.value)), root.dtype, root.shape), {
    law: "f(c1, c2) = its value, computed as evaluate does",
    group: "identities",
    guard: allConst,
  }),
  // x - x = 0 and 0 * x = 0 are false for x = inf: the canonical form assumes finite values
  rule("collect-add", P.add(x, y), canonical, { law: "a*x + b*x = (a+b)*x   (x - x = 0)", group: "factoring", guard: finiteConstants, assumesFinite: true }),
  rule("collect-sub", P.sub(x, y), canonical, { law: "a*x - b*x = (a-b)*x   (x - x = 0)", group: "factoring", guard: finiteConstants, assumesFinite: true }),
  rule("collect-neg", P.neg(x), canonical, { law: "-(a*x) = (-a)*x", group: "factoring", guard: finiteConstants }),
  rule("collect-mul", P.mul(x, y), canonical, {
    law: "x^a * x^b = x^(a+b);  (p + q) * r = p*r + q*r",
    group: "factoring",
    guard: finiteConstants,
    assumesFinite: true,
  }),
  rule("collect-div", P.div(x, y), canonical, { law: "x^a / x^b = x^(a-b)   (x / x = 1)", group: "factoring", guard: finiteConstants, assumesFinite: true }),
  rule("collect-recip", P.recip(x), canonical, { law: "1 / x^a = x^(-a)", group: "factoring", guard: finiteConstants }),
  rule("collect-square", P.square(x), canonical, { law: "square(x) = x^2", group: "factoring", guard: finiteConstants }),
  rule("collect-pow", P.pow(x, y), canonical, {
    law: "pow(x, k) = x * x * ... * x   (k a constant integer; 1/x^|k| for k < 0)",
    group: "factoring",
    guard: (m) => integerExponent(m.root) !== null && finiteConstants(m),
  }),
  rule("rsqrt-as-sqrt", P.rsqrt(x), ({ x }) => b.recip(b.sqrt(x)), { law: "rsqrt(x) = 1 / sqrt(x)", group: "identities" }),
  rule("select-of-constant", P.select(v("c"), x, y), ({ c, x, y, root }) => (root.def.scalar!(c.value, 1, 0) === 1 ? x : y), {
    law: "select(c, x, y) = x where the constant c selects x, else y   (as evaluate reads c: NaN selects x)",
    group: "identities",
    guard: ({ c }) => c.isConst,
  }),
  rule("select-same", P.select(v("c"), x, x), ({ x }) => x, { law: "select(c, x, x) = x", group: "identities" }),
  // only the derivative differs; after grad it is the identity
  rule("stop-gradient", P.stopGradient(x), ({ x }) => x, { law: "stopGradient(x) = x   (after differentiation)", group: "identities" }),
];
