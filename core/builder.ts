// The staged builder: NumPy-style functions that record nodes. Broadcasting is made explicit:
// operands are reshaped to a common rank and expanded with broadcastTo nodes, so every
// elementwise primitive sees equal shapes and no gradient rule handles broadcasting.

import type { DType, Shape } from "./tensor.js";
import { sameShape, shapeStr } from "./tensor.js";
import { GradcError } from "./errors.js";
import { apply, describe, Node, type Operand } from "./node.js";

export const input = (name: string, shape: Shape, dtype: DType = "f64"): Node =>
  apply("input", [], { name, shape: [...shape], dtype });

/** A constant filled with `value`. Broadcasting or reshaping a constant gives a constant. */
export const constant = (value: number, dtype: DType = "f64", shape: Shape = []): Node =>
  apply("const", [], { value, dtype, shape: [...shape] });

/** Index along `axis` of a tensor of `shape`: the building block of one-hot and masks. */
export const iota = (shape: Shape, axis: number, dtype: DType = "f64"): Node =>
  apply("iota", [], { shape: [...shape], axis, dtype });

/** Broadcast a list of operands against each other, NumPy's rules, made explicit as nodes. */
export function broadcastAll(op: string, xs: readonly Operand[]): Node[] {
  const nodes = xs.filter((x): x is Node => x instanceof Node);
  if (nodes.length === 0) throw new GradcError(`${op}: needs at least one graph node among its operands`);
  const dtype = nodes[0].dtype;
  const asNodes = xs.map((x) => (x instanceof Node ? x : constant(x, dtype)));
  const rank = Math.max(...asNodes.map((x) => x.rank));
  const out: number[] = new Array(rank).fill(1);
  for (const x of asNodes) {
    const pad = rank - x.rank;
    x.shape.forEach((s, i) => {
      const j = i + pad;
      if (s === out[j] || s === 1) return;
      if (out[j] === 1) out[j] = s;
      else throw new GradcError(`${op}: shapes ${asNodes.map((y) => shapeStr(y.shape)).join(" and ")} do not broadcast (axis ${j}: ${out[j]} vs ${s})\n  at ${describe(op, asNodes, {})}`);
    });
  }
  return asNodes.map((x) => broadcastTo(x, out));
}

/** NumPy's broadcast_to: prepends axes with a reshape, expands size-1 axes with broadcastTo. */
export function broadcastTo(x: Node, shape: Shape): Node {
  if (sameShape(x.shape, shape)) return x;
  if (x.isConst && shape.length >= x.rank && x.shape.every((s, i) => s === 1 || s === shape[i + shape.length - x.rank])) {
    return constant(x.value, x.dtype, shape);
  }
  if (shape.length < x.rank) {
    throw new GradcError(`broadcastTo: cannot broadcast ${shapeStr(x.shape)} to lower rank ${shapeStr(shape)}\n  at ${describe("broadcastTo", [x], { shape: [...shape] })}`);
  }
  const padded = [...new Array(shape.length - x.rank).fill(1), ...x.shape];
  const y = x.rank === shape.length ? x : reshape(x, padded);
  return sameShape(padded, shape) ? y : apply("broadcastTo", [y], { shape: [...shape] });
}

const binary = (op: string) => (a: Operand, b: Operand): Node => {
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

/** where(cond, a, b): a where cond is nonzero, else b. */
export function select(cond: Operand, a: Operand, b: Operand): Node {
  const [c, x, y] = broadcastAll("select", [cond, a, b]);
  return apply("select", [c, x, y]);
}

const unary = (op: string) => (x: Node): Node => apply(op, [x]);
export const neg = unary("neg");
export const exp = unary("exp");
export const log = unary("log");
export const sqrt = unary("sqrt");
export const rsqrt = unary("rsqrt");
export const square = unary("square");
export const recip = unary("recip");
export const tanh = unary("tanh");
export const stopGradient = unary("stopGradient");
export const relu = (x: Node): Node => maximum(x, 0);
export const cast = (x: Node, dtype: DType): Node => (x.dtype === dtype ? x : apply("cast", [x], { dtype }));

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

const reduction = (op: string) => (x: Node, axes?: number | readonly number[], keepdims = false): Node => {
  const ax = normalizeAxes(op, x, axes);
  const kept = ax.length === 0 ? x : apply(op, [x], { axes: ax });
  return keepdims ? kept : reshape(kept, x.shape.filter((_, i) => !ax.includes(i)));
};
/** Sum over axes. The primitive always keeps reduced axes (as size 1); keepdims=false reshapes. */
export const sum = reduction("sum");
export const max = reduction("max");

export function mean(x: Node, axes?: number | readonly number[], keepdims = false): Node {
  const ax = normalizeAxes("mean", x, axes);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  return mul(sum(x, ax, keepdims), 1 / count);
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

export const matmul = (a: Node, b: Node): Node => apply("matmul", [a, b]);
