// Reductions are linear: sums split over terms, constant factors come out, a sum of a broadcast
// is a count times the value. One implementation over the canonical form; three named rules say
// which law applied.

import * as b from "../../../core/builder.js";
import type { Node } from "../../../core/node.js";
import { Coef } from "../rational.js";
import { dim, symbolOf } from "../../../core/symbolic.js";
import { collect, emit, emitTerm, flatten, onlyFiniteConstants, termKey, type Term } from "../monomial-form.js";
import { P, rule, v, type Context, type Match, type Rule } from "./rule.js";

const x = v("x");

/** A factor is constant along the reduced axes when it is a broadcast along all of them. */
const constantAlong = (a: Node, axes: readonly number[]) => a.op === "broadcastTo" && axes.every((i) => a.inputs[0].shape[i] === 1);

interface Split {
  coef: Coef;
  pulled: [Node, number][];
  pulledDen: [Node, number][];
  kept: Term | null;
}

function split(t: Term, axes: readonly number[], full: Node): Split {
  const pulled: [Node, number][] = [];
  const pulledDen: [Node, number][] = [];
  const num = new Map<Node, number>(),
    den = new Map<Node, number>();
  for (const [a, e] of t.num) {
    if (constantAlong(a, axes)) pulled.push([a, e]);
    else num.set(a, e);
  }
  for (const [a, e] of t.den) {
    if (constantAlong(a, axes)) pulledDen.push([a, e]);
    else den.set(a, e);
  }
  const kept = num.size || den.size ? { coef: Coef.one, num, den } : null;
  let coef = t.coef;
  if (!kept) {
    // the count of a symbolic axis stays symbolic: k*N contributes k to the coefficient, dim N a factor
    let count = 1;
    for (const i of axes) {
      const s = symbolOf(full.shape[i]);
      count *= s ? s.k : full.shape[i];
      if (s) pulled.push([b.broadcastTo(dim(s.name, full.dtype), full.shape), 1]);
    }
    coef = coef.mul(Coef.of(count));
  }
  return { coef, pulled, pulledDen, kept };
}

function terms(m: Match, ctx: Context): Term[] {
  return flatten(m.x, ctx, ctx.memo);
}

/** Memo of the expanded form (centred differences distributed), per context. */
const expandedMemo = new WeakMap<Context, Map<Node, Term[]>>();
function expandedTerms(m: Match, ctx: Context): Term[] {
  let memo = expandedMemo.get(ctx);
  if (!memo) expandedMemo.set(ctx, (memo = new Map()));
  return flatten(m.x, ctx, memo, true);
}

/** sum_R(sum_i c_i * pulled_i * rest_i) = sum_i c_i * pulled_i * sum_R(rest_i) */
function sumLinear(m: Match, ctx: Context): Node | null {
  return sumOfTerms(m, terms(m, ctx));
}

/** The same law over the expanded form: sum(a * (b - bcast(c))) = sum(a * b) - c * sum(a). */
function sumExpanded(m: Match, ctx: Context): Node | null {
  return sumOfTerms(m, expandedTerms(m, ctx));
}

/** A centred difference inside the sum would distribute (the stable and expanded forms differ). */
const holdsCentred = (m: Match, ctx: Context) => {
  const stable = terms(m, ctx),
    expanded = expandedTerms(m, ctx);
  return stable.length !== expanded.length || stable.some((t, i) => termKey(t) !== termKey(expanded[i]));
};

function sumOfTerms(m: Match, ts: Term[]): Node | null {
  const { root, x } = m;
  const axes = root.attrs.axes as number[];
  const out: Term[] = ts.map((t) => {
    const s = split(t, axes, x);
    // Two different broadcasts of one value (e.g. bcast(s) to [3,5] and bcast(bcast(s) to [3,1]) to
    // [3,5]) narrow to the same node: their exponents add (a Map built from the list kept only one).
    const narrow = (list: [Node, number][]) => {
      const m = new Map<Node, number>();
      for (const [a, e] of list) {
        const k = b.broadcastTo(a.inputs[0], root.shape);
        m.set(k, (m.get(k) ?? 0) + e);
      }
      return m;
    };
    const num = narrow(s.pulled);
    const den = narrow(s.pulledDen);
    if (s.kept) {
      const inner = b.sum(emitTerm(s.kept, x), axes, true);
      num.set(inner, (num.get(inner) ?? 0) + 1);
    }
    return { coef: s.coef, num, den };
  });
  const result = emit(collect(out), root);
  return result === root ? null : result;
}

const kind = (m: Match, ctx: Context): "terms" | "scaled" | "broadcast" | null => {
  const ts = terms(m, ctx);
  if (ts.length === 0) return "broadcast";
  if (ts.length > 1) return "terms";
  const axes = m.root.attrs.axes as number[];
  const s = split(ts[0], axes, m.x);
  if (!s.kept) return "broadcast";
  if (s.pulled.length || s.pulledDen.length || !s.coef.isOne) return "scaled";
  return null;
};

/** sum(bcast(Infinity)) over an empty axis is 0, but 0 * Infinity is NaN: exact coefficients need finite constants. */
const finiteConstants = ({ x }: Match) => onlyFiniteConstants(x);
const is = (k: ReturnType<typeof kind>) => (m: Match, ctx: Context) => finiteConstants(m) && kind(m, ctx) === k;

export const linearity: Rule[] = [
  rule(
    "sum-of-sum",
    P.sum(P.sum(x)),
    ({ x, root }) => b.sum(x, [...new Set([...(root.attrs.axes as number[]), ...(root.inputs[0].attrs.axes as number[])])], true),
    { law: "sum_A(sum_B(x)) = sum_(A+B)(x)", group: "linearity" },
  ),
  rule("sum-of-unit-axes", P.sum(x), ({ x, root }) => b.reshape(x, root.shape), {
    law: "sum over axes of length 1 (x) = reshape(x)",
    group: "layout",
    guard: ({ x, root }) => (root.attrs.axes as number[]).every((i) => x.shape[i] === 1),
  }),
  rule("sum-of-terms", P.sum(x), sumLinear, { law: "sum(a + b) = sum(a) + sum(b)", group: "linearity", guard: is("terms") }),
  rule("sum-of-scaled", P.sum(x), sumLinear, { law: "sum(a * bcast(c)) = c * sum(a)", group: "linearity", guard: is("scaled") }),
  rule("sum-of-broadcast", P.sum(x), sumLinear, { law: "sum(bcast(c)) = N * c   (N elements summed)", group: "linearity", guard: is("broadcast") }),
  rule("sum-of-centred", P.sum(x), sumExpanded, {
    law: "sum(a * (b - bcast(c))) = sum(a * b) - c * sum(a)   (kept only where a reduction cancels)",
    group: "linearity",
    guard: (m, ctx) => finiteConstants(m) && holdsCentred(m, ctx),
    cancellationHazard: true,
  }),
];
