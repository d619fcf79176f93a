// The canonical form of elementwise arithmetic: a sum of terms, each an exact coefficient times a
// product of atoms with integer exponents. Flattening a subtree of add/sub/neg/mul/div/recip/
// square/broadcastTo into this form collects like terms (so x - x vanishes and the centered sum
// cancels); emitting it back factors what all terms share and gathers the broadcast factors of a
// term into one broadcast of a small product (gamma/std computed once per feature, not per element).

import * as b from "../../core/builder.js";
import { apply, type Node } from "../../core/node.js";
import { Coef } from "./rational.js";

export interface Term {
  coef: Coef;
  /** Atoms with positive exponents. */
  num: Map<Node, number>;
  /** Atoms with positive exponents in the denominator (kept apart unless the atom is nonzero). */
  den: Map<Node, number>;
}

export interface Facts {
  /** True when the value is known never to be zero (so x/x may cancel). */
  nonzero(n: Node): boolean;
}

const monomial = (coef: Coef, num: Map<Node, number> = new Map(), den: Map<Node, number> = new Map()): Term => ({ coef, num, den });
const atomTerm = (n: Node, exp = 1): Term => (exp > 0 ? monomial(Coef.one, new Map([[n, exp]])) : monomial(Coef.one, new Map(), new Map([[n, -exp]])));

function mulTerms(p: Term, q: Term, facts: Facts): Term {
  const num = new Map(p.num);
  const den = new Map(p.den);
  for (const [a, e] of q.num) num.set(a, (num.get(a) ?? 0) + e);
  for (const [a, e] of q.den) den.set(a, (den.get(a) ?? 0) + e);
  for (const [a, e] of [...den]) {
    const up = num.get(a);
    if (up === undefined || !facts.nonzero(a)) continue;
    const net = up - e;
    num.delete(a);
    den.delete(a);
    if (net > 0) num.set(a, net);
    if (net < 0) den.set(a, -net);
  }
  return monomial(p.coef.mul(q.coef), num, den);
}

/** 1/t, when t is a monomial with a nonzero coefficient. */
function invert(t: Term): Term {
  return monomial(t.coef.inverse(), new Map(t.den), new Map(t.num));
}

function powTerm(t: Term, k: number, facts: Facts): Term {
  let out = monomial(Coef.one);
  for (let i = 0; i < k; i++) out = mulTerms(out, t, facts);
  return out;
}

export function termKey(t: Term): string {
  const part = (m: Map<Node, number>) =>
    [...m]
      .map(([a, e]) => `${a.id}^${e}`)
      .sort()
      .join("*");
  return `${part(t.num)}/${part(t.den)}`;
}

/** Add like terms; drop zero ones. */
export function collect(terms: readonly Term[]): Term[] {
  const byKey = new Map<string, Term>();
  for (const t of terms) {
    const k = termKey(t);
    const hit = byKey.get(k);
    byKey.set(k, hit ? { ...hit, coef: hit.coef.add(t.coef) } : t);
  }
  return [...byKey.values()].filter((t) => !t.coef.isZero);
}

const flattened = new Set(["add", "sub", "neg", "mul", "div", "recip", "square", "broadcastTo", "reshape"]);
const finiteMemo = new WeakMap<Node, boolean>();

/**
 * True when every constant that flattening `n` reaches is finite, and nothing is divided by a zero constant. The canonical form treats
 * coefficients as exact numbers (0 * c = 0, c - c = 0, 1/c is c's reciprocal), which holds for
 * finite constants only: Infinity + x, 0 * Infinity, NaN are left to evaluate as IEEE says.
 */
export function onlyFiniteConstants(n: Node): boolean {
  const hit = finiteMemo.get(n);
  if (hit !== undefined) return hit;
  let ok = true;
  const stack = [n];
  const seen = new Set<Node>();
  while (stack.length && ok) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    const known = finiteMemo.get(m);
    if (known !== undefined) {
      ok = known;
      continue;
    }
    if (m.isConst) ok = Number.isFinite(m.value);
    else if ((m.op === "div" || m.op === "recip") && m.inputs[m.inputs.length - 1].isConst && m.inputs[m.inputs.length - 1].value === 0)
      ok = false; // x / 0
    else if (flattened.has(m.op)) stack.push(...m.inputs);
    else ok = nonFinite(m) === 0; // an atom: 0 * a = 0 and a - a = 0 need a finite
  }
  finiteMemo.set(n, ok);
  return ok;
}

// What non-finite values a node may hold, given finite inputs: bits for +Infinity, -Infinity, NaN.
const POS = 1,
  NEG = 2,
  NAN = 4,
  ALL = 7;
const nonFiniteMemo = new WeakMap<Node, number>();
const flip = (f: number) => (f & NAN) | (f & POS ? NEG : 0) | (f & NEG ? POS : 0);
const sumOf = (a: number, c: number) => a | c | ((a | c) & POS && (a | c) & NEG ? NAN : 0);

function nonFiniteOf(n: Node, ins: number[]): number {
  if (n.isConst) return Number.isNaN(n.value) ? NAN : n.value === Infinity ? POS : n.value === -Infinity ? NEG : 0;
  if (n.isInput) return 0;
  const [a, c = 0] = ins;
  const divisor = n.inputs[n.inputs.length - 1];
  switch (n.op) {
    case "add":
      return sumOf(a, c);
    case "sub":
      return sumOf(a, flip(c));
    case "neg":
      return flip(a);
    case "exp":
      return a & (POS | NAN); // exp(-inf) = 0
    case "tanh":
    case "sigmoid":
      return a & NAN;
    case "select":
      return ins[1] | (ins[2] ?? 0);
    case "maximum":
      return ((a | c) & (POS | NAN)) | (a & c & NEG);
    case "broadcastTo":
    case "reshape":
    case "transpose":
    case "stopGradient":
      return a;
    case "div":
    case "recip":
      if (divisor.isConst && divisor.value === 0) return ALL;
  }
  if (n.op === "sum") return sumOf(a, 0);
  if (n.op === "max") return a;
  return ins.some((f) => f !== 0) ? ALL : 0;
}

/**
 * The non-finite values (bits: +Infinity, -Infinity, NaN) a node may hold when every input is
 * finite: a constant Infinity or NaN, a division by a zero constant, and what they reach
 * (exp(-Infinity) = 0 and tanh(Infinity) = 1 end the reach; a masked score select(m, -Infinity, s)
 * carries -Infinity). The canonical form's x - x = 0 and 0 * x = 0 hold only where this is 0.
 */
export function nonFinite(n: Node): number {
  const hit = nonFiniteMemo.get(n);
  if (hit !== undefined) return hit;
  const stack = [n];
  while (stack.length) {
    const m = stack[stack.length - 1];
    if (nonFiniteMemo.has(m)) {
      stack.pop();
      continue;
    }
    const todo = m.inputs.filter((x) => !nonFiniteMemo.has(x));
    if (todo.length) {
      stack.push(...todo);
      continue;
    }
    stack.pop();
    nonFiniteMemo.set(
      m,
      nonFiniteOf(
        m,
        m.inputs.map((x) => nonFiniteMemo.get(x)!),
      ),
    );
  }
  return nonFiniteMemo.get(n)!;
}

/** Beyond this many nodes a reduction's operand is not searched (bounded work; larger ones count as not centred). */
const SEARCH = 400;
const centredMemo = new WeakMap<Node, boolean>();

/**
 * A centred difference: a sum of terms in which one term is a broadcast of a value computed from
 * another term (x - mean(x), dout - sum(dout)/N, s - max(s)). Its terms cancel by design, so it
 * is computed as written and never distributed into a product (sum(xc * dout) must not become
 * sum(x * dout) - mean(x) * sum(dout), which cancels catastrophically when |mean| >> std) nor
 * regrouped with other terms ((x - m) + y computed as (x + y) - m loses y when |x| >> |y|).
 */
export function isCentred(n: Node, terms: readonly Term[]): boolean {
  if (terms.length < 2) return false;
  const hit = centredMemo.get(n);
  if (hit !== undefined) return hit;
  const found = centredTerms(terms);
  centredMemo.set(n, found);
  return found;
}

function centredTerms(terms: readonly Term[]): boolean {
  if (terms.length < 2) return false;
  const plain = new Set<Node>();
  const spread: Node[] = [];
  for (const t of terms) {
    for (const a of [...t.num.keys(), ...t.den.keys()]) {
      if (a.op === "broadcastTo") spread.push(a.inputs[0]);
      else plain.add(a);
    }
  }
  let found = false;
  const seen = new Set<Node>();
  const stack = [...spread];
  while (stack.length && !found && seen.size < SEARCH) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    if (plain.has(m)) found = true;
    else stack.push(...m.inputs);
  }
  return found;
}

/**
 * The exponent of pow(x, k) when k is a constant integer, 1 <= |k| <= MAX_DEGREE: x^k is then a
 * monomial (x * x * x, not Math.pow), else null. (pow(x, 0) = 1 even for x = NaN: left as written.)
 */
export function integerExponent(n: Node): number | null {
  const k = n.op === "pow" && n.inputs[1].isConst ? n.inputs[1].value : Number.NaN;
  return Number.isInteger(k) && k !== 0 && Math.abs(k) <= MAX_DEGREE ? k : null;
}

const isConstantTerm = (t: Term) => t.num.size === 0 && t.den.size === 0;
const isCoefficient = (ts: readonly Term[]) => ts.length === 1 && isConstantTerm(ts[0]);

/** Functions that saturate to a constant (|f| bounded, f -> c at large arguments). */
const saturating = new Set(["tanh", "sigmoid"]);
const unspread = (a: Node) => (a.op === "broadcastTo" ? a.inputs[0] : a);
const ofSaturating = (t: Term) => t.den.size === 0 && t.num.size > 0 && [...t.num.keys()].every((a) => saturating.has(unspread(a).op));

/**
 * A complement: a constant plus products of saturating functions (1 - tanh(x)^2, 1 - sigmoid(x),
 * 1 + tanh(x)). It cancels where the functions saturate, exactly to the small value it stands for;
 * a product v * (1 - t^2) distributed into v - v*t^2 instead subtracts two terms of size |v| whose
 * difference is that small value, and regrouped with other terms (tanh + v - v*t^2) it wipes them
 * out: d/dx sum(x tanh x) at x = 3e7 (float32) gave 0 for 1. So a complement is kept whole as a
 * factor of anything but a constant, and as an operand of a larger sum unless like terms meet.
 */
export function isComplement(terms: readonly Term[]): boolean {
  return terms.length >= 2 && terms.some(isConstantTerm) && terms.every((t) => isConstantTerm(t) || ofSaturating(t));
}

/**
 * Beyond these an operand is an atom of its user's form: a backward chain's cotangent is a product
 * that gains a factor per layer, and flattening it whole at every layer made optimize quadratic in
 * depth (the canonical form of g * f'(h_1) * ... * f'(h_k) re-emitted k factors at step k).
 */
const MAX_TERMS = 32,
  MAX_ATOMS = 12,
  MAX_DEGREE = 16;
const degree = (t: Term) => [...t.num.values(), ...t.den.values()].reduce((s, e) => s + e, 0);
// (a degree bound too: squaring k times gives exponent 2^k, emitted as 2^k - 1 products)
const tooLarge = (ts: readonly Term[]) => ts.length > MAX_TERMS || ts.some((t) => t.num.size + t.den.size > MAX_ATOMS || degree(t) > MAX_DEGREE);

/** The canonical terms of a node. `memo` caches per pass. */
export function flatten(n: Node, facts: Facts, memo: Map<Node, Term[]> = new Map(), expandCentred = false): Term[] {
  const hit = memo.get(n);
  if (hit) return hit;
  const go = (x: Node) => {
    const ts = flatten(x, facts, memo, expandCentred);
    return tooLarge(ts) ? [atomTerm(x)] : ts;
  };
  // an operand that is a centred difference stays whole (see isCentred), unless asked to expand
  const whole = (x: Node) => {
    const ts = go(x);
    return !expandCentred && isCentred(x, ts) ? [atomTerm(x)] : ts;
  };
  const single = (ts: Term[]) => (ts.length === 1 ? ts[0] : null);
  let out: Term[];
  switch (n.op) {
    case "const":
      out = [monomial(Coef.of(n.value))];
      break;
    case "add":
    case "sub": {
      // a complement joins a larger sum only where like terms meet ((1 - s) - 1 = -s); otherwise
      // it stays whole: (1 - s) - 1/x regrouped as (1 - 1/x) - s loses 1/x when s saturates
      const sign = (ts: Term[]) => (n.op === "sub" ? ts.map((t) => ({ ...t, coef: t.coef.neg() })) : ts);
      const [p, q] = n.inputs.map(whole);
      out = collect([...p, ...sign(q)]);
      if ((isComplement(p) || isComplement(q)) && out.length === p.length + q.length) {
        const keep = (ts: Term[], x: Node) => (isComplement(ts) ? [atomTerm(x)] : ts);
        out = collect([...keep(p, n.inputs[0]), ...sign(keep(q, n.inputs[1]))]);
      }
      out = joinComplementFactors(out, (a) => memo.get(a), facts);
      break;
    }
    case "neg":
      out = go(n.inputs[0]).map((t) => ({ ...t, coef: t.coef.neg() }));
      break;
    case "mul": {
      // a complement (1 - t^2, 1 - s) times a value stays a product (see isComplement)
      const [p, q] = n.inputs.map(whole).map((ts, i, all) => (isComplement(ts) && !isCoefficient(all[1 - i]) ? [atomTerm(n.inputs[i])] : ts));
      const mp = single(p),
        mq = single(q);
      if (mp && mq)
        out = collect([mulTerms(mp, mq, facts)]); // 0 * x = 0 (x finite)
      else if (mp) out = collect(q.map((t) => mulTerms(mp, t, facts)));
      else if (mq) out = collect(p.map((t) => mulTerms(t, mq, facts)));
      else out = [atomTerm(n)];
      break;
    }
    case "div": {
      let p = whole(n.inputs[0]);
      const q = go(n.inputs[1]);
      const mq = single(q);
      if (isComplement(p) && !(mq && isCoefficient([mq]))) p = [atomTerm(n.inputs[0])];
      const inv = mq && !mq.coef.isZero ? invert(mq) : atomTerm(n.inputs[1], -1);
      out = collect(p.map((t) => mulTerms(t, inv, facts)));
      break;
    }
    case "recip": {
      const m = single(go(n.inputs[0]));
      out = [m && !m.coef.isZero ? invert(m) : atomTerm(n.inputs[0], -1)];
      break;
    }
    case "square": {
      const m = single(go(n.inputs[0]));
      out = [m ? powTerm(m, 2, facts) : atomTerm(n.inputs[0], 2)];
      break;
    }
    case "rsqrt":
      out = [atomTerm(b.sqrt(n.inputs[0]), -1)];
      break;
    case "pow":
      out = [powerTerm(n, single(go(n.inputs[0])), facts)];
      break;
    case "broadcastTo":
    case "reshape":
      out = [viewTerm(n, single(go(n.inputs[0])))];
      break;
    default:
      out = [atomTerm(n)];
  }
  memo.set(n, out);
  return out;
}

/**
 * The same principle for a complement that is a factor of a term (x * (1 - s)): distributed, it
 * joins the sum only where like terms meet and the sum gets shorter, p(1 - x) - x(1 - p) = p - x
 * (sigmoid + binary cross-entropy); x tanh(x)'s tanh + x(1 - t^2) stays as it is (it would grow).
 */
function joinComplementFactors(ts: Term[], termsOf: (a: Node) => Term[] | undefined, facts: Facts): Term[] {
  let expanded = false;
  const parts = ts.flatMap((t) => {
    const [a] = [...t.num].find(([a, e]) => e === 1 && isComplement(termsOf(a) ?? [])) ?? [];
    if (!a) return [t];
    expanded = true;
    const num = new Map(t.num);
    num.delete(a);
    const rest = monomial(t.coef, num, t.den);
    return termsOf(a)!.map((c) => mulTerms(rest, c, facts));
  });
  if (!expanded) return ts;
  const joined = collect(parts);
  return joined.length < ts.length ? joined : ts;
}

/**
 * A broadcast of a monomial is the product of the broadcasts of its atoms, and so is a reshape of
 * a one-element monomial (reshape(1/dim N) = 1/reshape(dim N): a symbolic count meets its
 * reciprocal); of anything else, an atom.
 */
function viewTerm(n: Node, m: Term | null): Term {
  if (!m || (n.op === "reshape" && n.size !== 1)) return atomTerm(n);
  const spread = (map: Map<Node, number>) => new Map([...map].map(([a, e]) => [apply(n.op, [a], n.attrs), e] as [Node, number]));
  return monomial(m.coef, spread(m.num), spread(m.den));
}

/** pow(x, k) with a constant integer k as a monomial (x^k, or 1/x^|k|), given x's monomial if it is one; else an atom. */
function powerTerm(n: Node, m: Term | null, facts: Facts): Term {
  const k = integerExponent(n);
  if (k === null) return atomTerm(n);
  const up = m ? powTerm(m, Math.abs(k), facts) : atomTerm(n.inputs[0], Math.abs(k));
  return k > 0 ? up : up.coef.isZero ? atomTerm(n.inputs[0], k) : invert(up);
}

// ---- emission -------------------------------------------------------------------------------

const byId = (p: [Node, number], q: [Node, number]) => p[0].id - q[0].id;

function power(a: Node, e: number): Node {
  if (e === 1) return a;
  if (e === 2) return b.square(a);
  let out = a;
  for (let i = 1; i < e; i++) out = b.mul(out, a);
  return out;
}

function product(factors: [Node, number][]): Node | null {
  return factors.sort(byId).reduce<Node | null>((acc, [a, e]) => (acc ? b.mul(acc, power(a, e)) : power(a, e)), null);
}

/** Group broadcast atoms by (source shape -> target) pattern. */
function splitBroadcasts(m: Map<Node, number>): { plain: [Node, number][]; groups: Map<string, [Node, number][]> } {
  const plain: [Node, number][] = [];
  const groups = new Map<string, [Node, number][]>();
  for (const [a, e] of m) {
    if (a.op !== "broadcastTo") {
      plain.push([a, e]);
      continue;
    }
    const key = `${a.inputs[0].shape.join(",")}`;
    const list = groups.get(key) ?? [];
    list.push([a.inputs[0], e]);
    groups.set(key, list);
  }
  return { plain, groups };
}

/** One term as nodes: coefficient and broadcast factors gathered into small computations. */
export function emitTerm(t: Term, like: Node): Node {
  const shape = like.shape,
    dtype = like.dtype;
  const up = splitBroadcasts(t.num);
  const down = splitBroadcasts(t.den);
  const keys = [...new Set([...up.groups.keys(), ...down.groups.keys()])].sort();
  const numFactors: Node[] = [];
  let coef = t.coef;
  // the broadcast groups: one broadcast of (prod up / prod down) per source shape
  for (const k of keys) {
    const u = up.groups.get(k) ?? [];
    const d = down.groups.get(k) ?? [];
    const src = (u[0] ?? d[0])[0];
    const small = emitTerm(monomial(keys[0] === k ? coef : Coef.one, new Map(u), new Map(d)), src);
    if (keys[0] === k) coef = Coef.one;
    numFactors.push(b.broadcastTo(small, shape));
  }
  const negative = coef.value < 0;
  const mag = negative ? coef.neg() : coef;
  const scale = (out: Node | null) =>
    !mag.isOne || !out ? (out ? b.mul(b.constant(mag.value, dtype, shape), out) : b.constant(mag.value, dtype, shape)) : out;
  let out: Node | null;
  if (down.plain.length === 0) {
    const p = product(up.plain);
    if (p) numFactors.push(p);
    out = scale(numFactors.reduce<Node | null>((acc, f) => (acc ? b.mul(acc, f) : f), null));
  } else {
    // With a denominator, factors are applied one at a time, multiplying and dividing in turn:
    // x * y / std^3 as ((x / std) * y / std) / std never forms std^3, which overflows for
    // std > 5.6e102 (float32: 7e12) where the derived form does not.
    const ups = [...numFactors, ...expand(up.plain)];
    const downs = expand(down.plain);
    out = scale(ups.shift() ?? null);
    while (ups.length || downs.length) {
      if (downs.length) out = b.div(out, downs.shift()!);
      if (ups.length) out = b.mul(out, ups.shift()!);
    }
  }
  return negative ? b.neg(out) : out;
}

/** Atoms with exponents as a list of single factors, in a fixed order. */
function expand(factors: [Node, number][]): Node[] {
  return factors.sort(byId).flatMap(([a, e]) => Array.from({ length: e }, () => a));
}

/** Emit a sum of terms, factoring out what every term shares. */
export function emit(terms: readonly Term[], like: Node): Node {
  if (terms.length === 0) return b.constant(0, like.dtype, like.shape);
  if (terms.length === 1) return emitTerm(terms[0], like);
  const common = commonFactor(terms);
  if (!common) return emitSum(terms, like);
  // Dividing every term by what all of them contain removes exponents the term has, nothing else:
  // no nonzero proof is needed, and distinct terms stay distinct (an atom that a term holds both
  // above and below the line, x*y/y with y not known nonzero, keeps both).
  const rest = terms.map((t) => divideOut(t, common));
  return b.mul(emitTerm(common, like), emitSum(rest, like));
}

/** t / common, where every atom of common divides t with at least its exponent. */
function divideOut(t: Term, common: Term): Term {
  const less = (m: Map<Node, number>, by: Map<Node, number>) => {
    const out = new Map(m);
    for (const [a, e] of by) {
      const net = (out.get(a) ?? 0) - e;
      if (net > 0) out.set(a, net);
      else out.delete(a);
    }
    return out;
  };
  return monomial(t.coef.mul(common.coef.inverse()), less(t.num, common.num), less(t.den, common.den));
}

function emitSum(terms: readonly Term[], like: Node): Node {
  const sorted = [...terms].sort((p, q) => rank(p) - rank(q) || termKey(p).localeCompare(termKey(q)));
  let out: Node | null = null;
  for (const t of sorted) {
    const negative = t.coef.value < 0;
    const node = emitTerm(negative && out ? { ...t, coef: t.coef.neg() } : t, like);
    out = out === null ? node : negative ? b.sub(out, node) : b.add(out, node);
  }
  return out!;
}

/** Positive terms first, then simpler ones, so the form reads N*dout - sum(dout) - xhat*sum(dout*xhat). */
const rank = (t: Term) => (t.coef.value < 0 ? 1000 : 0) + t.num.size + t.den.size;

/** The monomial every term is a multiple of: shared atoms (min exponent) and a common coefficient. */
function commonFactor(terms: readonly Term[]): Term | null {
  const shared = (pick: (t: Term) => Map<Node, number>) => {
    const out = new Map<Node, number>();
    for (const [a, e] of pick(terms[0])) {
      const m = Math.min(e, ...terms.map((t) => pick(t).get(a) ?? 0));
      if (m > 0) out.set(a, m);
    }
    return out;
  };
  const num = shared((t) => t.num);
  const den = shared((t) => t.den);
  let coef = Coef.one;
  const smallest = terms.map((t) => t.coef.abs()).reduce((m, c) => (c.value < m.value ? c : m));
  if (!smallest.isOne && smallest.exact && terms.every((t) => t.coef.multipleOf(smallest) !== null)) coef = smallest;
  if (num.size === 0 && den.size === 0 && coef.isOne) return null;
  return monomial(coef, num, den);
}
