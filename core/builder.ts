// The staged builder: NumPy-style functions that record nodes. Broadcasting is made explicit:
// operands are reshaped to a common rank and expanded with broadcastTo nodes, so every
// elementwise primitive sees equal shapes and no gradient rule handles broadcasting.

import type { DType, Shape } from "./tensor.js";
import { sameShape, shapeStr } from "./tensor.js";
import { GradcError } from "./errors.js";
import { apply, describe, Node, type Operand } from "./node.js";
export { slice, concat, take, takeAlongAxis, scatterAdd, type SliceItem } from "./indexing.js";
import { symbolOf } from "./symbol-table.js";

let tracing: DType = "f64";

/** The dtype a value takes when nothing else gives one: the trace's (f64 outside a trace). */
export const defaultDtype = (): DType => tracing;

/** Run `fn` with `dtype` as the default for literals, `constant` and `iota` (trace does this). */
export function withDefaultDtype<T>(dtype: DType, fn: () => T): T {
  const outer = tracing;
  tracing = dtype;
  try {
    return fn();
  } finally {
    tracing = outer;
  }
}

export const input = (name: string, shape: Shape, dtype: DType = "f64"): Node => apply("input", [], { name, shape: [...shape], dtype });

/** A constant filled with `value` (dtype: the trace's by default). Broadcasting or reshaping a constant gives a constant. */
export const constant = (value: number, dtype: DType = defaultDtype(), shape: Shape = []): Node => apply("const", [], { value, dtype, shape: [...shape] });

/** Index along `axis` of a tensor of `shape` (dtype: the trace's by default): the building block of one-hot and masks. */
export const iota = (shape: Shape, axis: number, dtype: DType = defaultDtype()): Node => apply("iota", [], { shape: [...shape], axis, dtype });

/** Broadcast a list of operands against each other, NumPy's rules, made explicit as nodes. */
export function broadcastAll(op: string, xs: readonly Operand[]): Node[] {
  for (const x of xs) {
    if (!(x instanceof Node) && typeof x !== "number") throw new GradcError(`${op}: an operand is neither a graph node nor a number (got ${describeValue(x)})`);
  }
  // plain numbers take the dtype of the first node operand (the trace's when all are numbers)
  const dtype = xs.find((x): x is Node => x instanceof Node)?.dtype ?? defaultDtype();
  const asNodes = xs.map((x) => (x instanceof Node ? x : constant(x, dtype)));
  const rank = Math.max(...asNodes.map((x) => x.rank));
  const out: number[] = new Array(rank).fill(1);
  for (const x of asNodes) {
    const pad = rank - x.rank;
    x.shape.forEach((s, i) => {
      const j = i + pad;
      if (s === out[j] || s === 1) return;
      if (out[j] === 1) out[j] = s;
      else
        throw new GradcError(
          `${op}: shapes ${asNodes.map((y) => shapeStr(y.shape)).join(" and ")} do not broadcast (axis ${j}: ${out[j]} vs ${s})\n  at ${describe(op, asNodes, {})}`,
        );
    });
  }
  return asNodes.map((x) => broadcastTo(x, out));
}

/** A node for an operand: plain numbers become scalar constants of the trace's dtype. */
export function asNode(op: string, x: Operand): Node {
  if (x instanceof Node) return x;
  if (typeof x === "number") return constant(x);
  throw new GradcError(`${op}: an operand is neither a graph node nor a number (got ${describeValue(x)})`);
}

const describeValue = (x: unknown): string => (x === null ? "null" : Array.isArray(x) ? "an array (make it a graph input or use ops.constant)" : typeof x);

/** NumPy's broadcast_to: prepends axes with a reshape, expands size-1 axes with broadcastTo. */
export function broadcastTo(x: Node, shape: Shape): Node {
  if (sameShape(x.shape, shape)) return x;
  if (x.isConst && shape.length >= x.rank && x.shape.every((s, i) => s === 1 || s === shape[i + shape.length - x.rank])) {
    return constant(x.value, x.dtype, shape);
  }
  if (shape.length < x.rank) {
    throw new GradcError(
      `broadcastTo: cannot broadcast ${shapeStr(x.shape)} to lower rank ${shapeStr(shape)}\n  at ${describe("broadcastTo", [x], { shape: [...shape] })}`,
    );
  }
  const padded = [...new Array(shape.length - x.rank).fill(1), ...x.shape];
  const y = x.rank === shape.length ? x : reshape(x, padded);
  return sameShape(padded, shape) ? y : apply("broadcastTo", [y], { shape: [...shape] });
}

const binary =
  (op: string) =>
  (a: Operand, b: Operand): Node => {
    const [x, y] = broadcastAll(op, [a, b]);
    return apply(op, [x, y]);
  };
export const add = binary("add");
export const sub = binary("sub");
export const mul = binary("mul");
export const div = binary("div");
export const maximum = binary("maximum");
export const less = binary("less");
export const equal = binary("equal");
export const minimum = binary("minimum");
export const lessEqual = binary("lessEqual");
export const notEqual = binary("notEqual");
/** x ** y, elementwise (NumPy's power). */
export const pow = binary("pow");
/** a > b, written as less(b, a): one primitive per order relation. */
export const greater = (a: Operand, b: Operand): Node => less(b, a);
/** a >= b, written as lessEqual(b, a). */
export const greaterEqual = (a: Operand, b: Operand): Node => lessEqual(b, a);

/** where(cond, a, b): a where cond is nonzero, else b. */
export function select(cond: Operand, a: Operand, b: Operand): Node {
  // a literal value takes the other value's dtype, not the condition's: select(mask, -Infinity, s)
  const like = a instanceof Node ? a : b instanceof Node ? b : undefined;
  const lit = (v: Operand) => (typeof v === "number" && like ? constant(v, like.dtype) : v);
  const [c, x, y] = broadcastAll("select", [cond, lit(a), lit(b)]);
  return apply("select", [c, x, y]);
}

const unary =
  (op: string) =>
  (x: Operand): Node =>
    apply(op, [asNode(op, x)]);
export const neg = unary("neg");
export const exp = unary("exp");
export const log = unary("log");
export const sqrt = unary("sqrt");
export const rsqrt = unary("rsqrt");
export const square = unary("square");
export const recip = unary("recip");
export const tanh = unary("tanh");
export const stopGradient = unary("stopGradient");
export const abs = unary("abs");
/** -1, 0 or 1 (NaN stays NaN); its gradient is zero. */
export const sign = unary("sign");
export const sigmoid = unary("sigmoid");
/** log(1 + x), accurate for small x. */
export const log1p = unary("log1p");
/** exp(x) - 1, accurate for small x. */
export const expm1 = unary("expm1");
export const relu = (x: Operand): Node => maximum(x, 0);
// trigonometric and special functions (ops/trig.ts, ops/erf.ts; conventions in docs/ops.md)
export const sin = unary("sin");
export const cos = unary("cos");
export const tan = unary("tan");
export const asin = unary("asin");
export const acos = unary("acos");
export const atan = unary("atan");
/** The Gauss error function (gradc's own approximation: within 1 ulp of the true value, docs/ops.md). */
export const erf = unary("erf");
/** Round to the nearest integer, halves to even (NumPy's round, ONNX's Round); its gradient is zero. */
export const round = unary("round");
/**
 * Clamp to [lo, hi] (either bound may be omitted), as NumPy's clip: minimum(hi, maximum(lo, x)).
 * A composite; x is the second operand of both, so by their tie rule x keeps the gradient on the
 * closed interval (at a bound too) and a bound gets it only where it clips, as PyTorch's clamp.
 */
export function clip(x: Operand, lo?: Operand | null, hi?: Operand | null): Node {
  let y = asNode("clip", x);
  if (lo !== undefined && lo !== null) y = maximum(lo, y);
  if (hi !== undefined && hi !== null) y = minimum(hi, y);
  return y;
}
export const cast = (x: Operand, dtype: DType): Node => {
  const n = asNode("cast", x);
  return n.dtype === dtype ? n : apply("cast", [n], { dtype });
};

/** Axes normalized to sorted non-negative integers; undefined means all axes. */
export function normalizeAxes(op: string, x: Node, axes?: number | readonly number[]): number[] {
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === "number" ? [axes] : [...axes];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -x.rank || a >= x.rank) {
      throw new GradcError(`${op}: axis ${a} is out of range for rank ${x.rank}\n  at ${describe(op, [x], { axes: list })}`);
    }
    return a < 0 ? a + x.rank : a;
  });
  if (new Set(out).size !== out.length) throw new GradcError(`${op}: repeated axis in [${list.join(",")}]\n  at ${describe(op, [x], { axes: list })}`);
  return out.sort((p, q) => p - q);
}

const reduction =
  (op: string) =>
  (operand: Operand, axes?: number | readonly number[], keepdims = false): Node => {
    const x = asNode(op, operand);
    const ax = normalizeAxes(op, x, axes);
    const kept = ax.length === 0 ? x : apply(op, [x], { axes: ax });
    return keepdims
      ? kept
      : reshape(
          kept,
          x.shape.filter((_, i) => !ax.includes(i)),
        );
  };
/** Sum over axes. The primitive always keeps reduced axes (as size 1); keepdims=false reshapes. */
export const sum = reduction("sum");
export const max = reduction("max");

export function mean(operand: Operand, axes?: number | readonly number[], keepdims = false): Node {
  const x = asNode("mean", operand);
  const ax = normalizeAxes("mean", x, axes);
  // a symbolic axis (N) divides by the size bound at run time: mul(sum, recip(dim N))
  let count = 1;
  const symbols: string[] = [];
  for (const a of ax) {
    const s = symbolOf(x.shape[a]);
    count *= s ? s.k : x.shape[a];
    if (s) symbols.push(s.name);
  }
  let total = count === 1 && symbols.length ? sum(x, ax, keepdims) : mul(sum(x, ax, keepdims), 1 / count);
  for (const name of symbols) total = mul(total, apply("recip", [apply("dim", [], { name, dtype: x.dtype })]));
  return total;
}

export function reshape(x: Node, shape: Shape): Node {
  if (sameShape(x.shape, shape)) return x;
  if (x.isConst && x.size === shape.reduce((m, d) => m * d, 1)) return constant(x.value, x.dtype, shape);
  return apply("reshape", [x], { shape: [...shape] });
}

export function transpose(x: Node, perm?: readonly number[]): Node {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  return p.every((v, i) => v === i) ? x : apply("transpose", [x], { perm: [...p] });
}

/** Swap the last two axes (NumPy's matrix_transpose, `x.mT`). */
export function matrixTranspose(x: Node): Node {
  if (x.rank < 2) throw new GradcError(`matrixTranspose: needs at least 2 axes, got ${x}\n  at ${describe("matrixTranspose", [x], {})}`);
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [x.rank - 1, x.rank - 2];
  return transpose(x, perm);
}

/**
 * Matrix product, NumPy's matmul: [..., M, K] @ [..., K, N] -> [..., M, N] with the batch axes
 * broadcast; a 1-D operand is a row (left) or column (right) vector whose axis the result drops.
 * transposeA / transposeB swap an operand's last two axes first (tf.matMul's flags). Records the
 * `matmul` primitive (ops/contraction.ts); a product with a 2-D right operand is one 2-D matmul.
 *
 *   matmul(q, k, false, true)   // q [B,T,D] @ k[B,S,D]^T -> [B,T,S]
 */
export function matmul(a: Node, b: Node, transposeA = false, transposeB = false): Node {
  const where = () => `\n  at ${describe("matmul", [a, b], transposeA || transposeB ? { transposeA, transposeB } : {})}`;
  if (!(a instanceof Node) || !(b instanceof Node))
    throw new GradcError(`matmul: operands must be graph nodes, got ${describeValue(a instanceof Node ? b : a)}`);
  if (a.rank === 0 || b.rank === 0)
    throw new GradcError(`matmul: operands need at least one axis, got ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} (use mul for scalars)${where()}`);
  if ((transposeA && a.rank < 2) || (transposeB && b.rank < 2))
    throw new GradcError(`matmul: only an operand with 2 or more axes can be transposed, got ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}${where()}`);
  const x = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : transposeA ? matrixTranspose(a) : a;
  const y = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : transposeB ? matrixTranspose(b) : b;
  const [m, k] = x.shape.slice(-2);
  const [k2, n] = y.shape.slice(-2);
  if (k !== k2) {
    const seen = transposeA || transposeB ? ` (after transposes: ${shapeStr(x.shape)} @ ${shapeStr(y.shape)})` : "";
    throw new GradcError(`matmul: inner dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}${seen}${where()}`);
  }
  const batchA = x.shape.slice(0, -2),
    batchB = y.shape.slice(0, -2);
  let out: Node;
  if (batchB.length === 0) {
    // [..., M, K] @ [K, N] is one [(...)*M, K] @ [K, N] product
    const rows = batchA.reduce((p, s) => p * s, m);
    out = reshape(apply("matmul", [reshape(x, [rows, k]), y]), [...batchA, m, n]);
  } else {
    const rank = Math.max(batchA.length, batchB.length);
    const pad = (s: readonly number[]) => [...new Array(rank - s.length).fill(1), ...s];
    const [pa, pb] = [pad(batchA), pad(batchB)];
    const batch = pa.map((s, i) => {
      if (s !== pb[i] && s !== 1 && pb[i] !== 1)
        throw new GradcError(`matmul: batch axes ${shapeStr(batchA)} and ${shapeStr(batchB)} do not broadcast${where()}`);
      return Math.max(s, pb[i]);
    });
    out = apply("matmul", [broadcastTo(x, [...batch, m, k]), broadcastTo(y, [...batch, k, n])]);
  }
  if (a.rank === 1 || b.rank === 1)
    out = reshape(
      out,
      out.shape.filter((_, i) => !(a.rank === 1 && i === out.rank - 2) && !(b.rank === 1 && i === out.rank - 1)),
    );
  return out;
}
