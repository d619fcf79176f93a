// How each builtin primitive is written in ONNX (default domain, opset ONNX_OPSET): one line per op,
// as a table the tests walk together with the registry, so a primitive added without a lowering
// fails a test instead of failing a user's export. User ops bring their own (defineOp's `onnx`).

import type { OnnxEmitter, OnnxLowering } from "../../core/registry.js";
import type { DType } from "../../core/tensor.js";
import { indexingLowerings } from "./onnx-indexing.js";
import { convLowerings } from "./onnx-conv.js";
import { symbolSize } from "../../core/symbol-table.js";

/**
 * The opset written: 17 (ONNX 1.12), the newest that ONNX's own checker in Debian's python3-onnx
 * knows, so exported models pass its full check; ReduceSum takes its axes as an input (since 13),
 * ReduceMax as an attribute (an input only from 18).
 */
export const ONNX_OPSET = 17;
/** IR version 8 is what ONNX 1.12 (opset 17) writes. */
export const ONNX_IR_VERSION = 8;

const same = (opType: string): OnnxLowering => (e, xs) => e.node(opType, xs);
/** A comparison: ONNX gives booleans, gradc 1 and 0 in the operands' dtype. */
const compare = (opType: string): OnnxLowering => (e, xs, _a, out) => e.node("Cast", [e.node(opType, xs)], { to: e.type(out.dtype) });
const reduceSum: OnnxLowering = (e, [x], attrs) => e.node("ReduceSum", [x, e.ints(attrs.axes as number[])], { keepdims: 1 });
const reduceMax: OnnxLowering = (e, [x], attrs) => e.node("ReduceMax", [x], { axes: attrs.axes as number[], keepdims: 1 });
const isZero = (e: OnnxEmitter, x: string, dtype: DType) => e.node("Equal", [x, e.scalar(0, dtype)]);

/**
 * ONNX has no log1p: log(1 + x) alone loses x's low digits near 0, so Kahan's correction
 * log(u) * x / (u - 1) with u = 1 + x (exactly x where u rounds to 1; u itself where it is infinite).
 */
function log1p(e: OnnxEmitter, x: string, dtype: DType): string {
  const u = e.node("Add", [e.scalar(1, dtype), x]);
  const d = e.node("Sub", [u, e.scalar(1, dtype)]);
  const corrected = e.node("Div", [e.node("Mul", [e.node("Log", [u]), x]), d]);
  return e.node("Where", [isZero(e, d, dtype), x, e.node("Where", [e.node("IsInf", [u]), e.node("Log", [u]), corrected])]);
}

/** Nor expm1: exp(x) - 1 cancels near 0, so (u - 1) * x / log(u) with u = exp(x) (x where u is 1, -1 where u - 1 is, u - 1 where u is infinite). */
function expm1(e: OnnxEmitter, x: string, dtype: DType): string {
  const u = e.node("Exp", [x]);
  const d = e.node("Sub", [u, e.scalar(1, dtype)]);
  const corrected = e.node("Div", [e.node("Mul", [d, x]), e.node("Log", [u])]);
  const minusOne = e.node("Equal", [d, e.scalar(-1, dtype)]);
  const edge = e.node("Where", [e.node("Or", [minusOne, e.node("IsInf", [u])]), d, corrected]);
  return e.node("Where", [isZero(e, d, dtype), x, edge]);
}

export const builtinLowerings: Readonly<Record<string, OnnxLowering>> = {
  // leaves: inputs are graph inputs, constants are written by the exporter itself (see onnx.ts)
  iota: (e, _x, attrs, out) => {
    const shape = out.shape;
    const axis = attrs.axis as number;
    // Range wants scalars: the axis' size (read from the shape, which may be symbolic) as one
    const size = e.node("Reshape", [e.node("Gather", [e.shape(shape), e.ints([axis])]), e.ints([])]);
    const range = e.node("Range", [e.scalar(0, out.dtype), e.node("Cast", [size], { to: e.type(out.dtype) }), e.scalar(1, out.dtype)]);
    const column = shape.map((_, i) => (i === axis ? -1 : 1));
    return e.node("Expand", [e.node("Reshape", [range, e.ints(column)]), e.shape(shape)]);
  },
  // a symbolic size as a value: read from the input shape that carries it
  dim: (e, _x, attrs, out) => e.node("Cast", [e.node("Reshape", [e.shape([symbolSize(attrs.name as string)]), e.ints([])])], { to: e.type(out.dtype) }),
  cast: (e, [x], attrs) => e.node("Cast", [x], { to: e.type(attrs.dtype as DType) }),

  add: same("Add"),
  sub: same("Sub"),
  mul: same("Mul"),
  div: same("Div"),
  maximum: same("Max"),
  less: compare("Less"),
  equal: compare("Equal"),
  // where(c, a, b) picks a where c is nonzero (NaN counts as nonzero, as c !== 0 in JavaScript)
  select: (e, [c, a, d], _attrs, out) => e.node("Where", [isZero(e, c, out.dtype), d, a]),
  minimum: same("Min"),
  pow: same("Pow"),
  lessEqual: compare("LessOrEqual"),
  notEqual: (e, xs, _a, out) => e.node("Cast", [e.node("Not", [e.node("Equal", xs)])], { to: e.type(out.dtype) }),
  abs: same("Abs"),
  sign: same("Sign"),
  sigmoid: same("Sigmoid"),
  log1p: (e, [x], _a, out) => log1p(e, x, out.dtype),
  expm1: (e, [x], _a, out) => expm1(e, x, out.dtype),
  neg: same("Neg"),
  exp: same("Exp"),
  log: same("Log"),
  sqrt: same("Sqrt"),
  rsqrt: (e, [x]) => e.node("Reciprocal", [e.node("Sqrt", [x])]),
  square: (e, [x]) => e.node("Mul", [x, x]),
  recip: same("Reciprocal"),
  tanh: same("Tanh"),
  stopGradient: same("Identity"),

  sum: reduceSum,
  max: reduceMax,
  broadcastTo: (e, [x], _attrs, out) => e.node("Expand", [x, e.shape(out.shape)]),
  reshape: (e, [x], _attrs, out) => e.node("Reshape", [x, e.shape(out.shape)]),
  transpose: (e, [x], attrs) => e.node("Transpose", [x], { perm: attrs.perm as number[] }),
  matmul: same("MatMul"),
  ...indexingLowerings,
  ...convLowerings,
};

/** Ops the exporter writes itself rather than through a lowering. */
export const LEAVES: ReadonlySet<string> = new Set(["input", "const"]);
