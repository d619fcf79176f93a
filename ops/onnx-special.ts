// ONNX lowerings of the trigonometric ops and erf for float64. ONNX defines Tan, Asin, Acos, Atan
// and Erf for double, but ONNX Runtime (1.30) implements them for float only: a float64 model
// using them would not run there. So float64 writes each as a composition of ops it runs in double
// (Sin, Cos, Sqrt, Exp, Where, ...); float32 writes the op itself. Accuracy of the compositions:
// a few ulps (atan: two argument halvings, then a 9-term odd series on |z| <= tan(pi/32)).
// Also the shared shapes of the op records' `onnx` lowerings (one ONNX op; a comparison cast back
// to numbers; a reduction) and the compositions for what ONNX lacks (log1p, expm1).

import type { OnnxEmitter, OnnxLowering } from "../core/registry.js";
import type { DType } from "../core/tensor.js";

/** The op is one ONNX op of the same operands. */
export const same =
  (opType: string): OnnxLowering =>
  (e, xs) =>
    e.node(opType, xs);
/** A comparison: ONNX gives booleans, gradc 1 and 0 in the operands' dtype. */
export const compare =
  (opType: string): OnnxLowering =>
  (e, xs, _a, out) =>
    e.node("Cast", [e.node(opType, xs)], { to: e.type(out.dtype) });
export const isZero = (e: OnnxEmitter, x: string, dtype: DType): string => e.node("Equal", [x, e.scalar(0, dtype)]);

/**
 * ONNX has no log1p: log(1 + x) alone loses x's low digits near 0, so Kahan's correction
 * log(u) * x / (u - 1) with u = 1 + x (exactly x where u rounds to 1; u itself where it is infinite).
 */
export const log1p: OnnxLowering = (e, [x], _a, out) => {
  const u = e.node("Add", [e.scalar(1, out.dtype), x]);
  const d = e.node("Sub", [u, e.scalar(1, out.dtype)]);
  const corrected = e.node("Div", [e.node("Mul", [e.node("Log", [u]), x]), d]);
  return e.node("Where", [isZero(e, d, out.dtype), x, e.node("Where", [e.node("IsInf", [u]), e.node("Log", [u]), corrected])]);
};

/** Nor expm1: exp(x) - 1 cancels near 0, so (u - 1) * x / log(u) with u = exp(x) (x where u is 1, -1 where u - 1 is, u - 1 where u is infinite). */
export const expm1: OnnxLowering = (e, [x], _a, out) => {
  const u = e.node("Exp", [x]);
  const d = e.node("Sub", [u, e.scalar(1, out.dtype)]);
  const corrected = e.node("Div", [e.node("Mul", [d, x]), e.node("Log", [u])]);
  const minusOne = e.node("Equal", [d, e.scalar(-1, out.dtype)]);
  const edge = e.node("Where", [e.node("Or", [minusOne, e.node("IsInf", [u])]), d, corrected]);
  return e.node("Where", [isZero(e, d, out.dtype), x, edge]);
};

/** The op itself for float32, a composition for float64. */
export const nativeOr =
  (opType: string, f64: (e: OnnxEmitter, x: string) => string): OnnxLowering =>
  (e, [x], _attrs, out) =>
    out.dtype === "f64" ? f64(e, x) : e.node(opType, [x]);

const c = (e: OnnxEmitter, v: number) => e.scalar(v, "f64");
const add = (e: OnnxEmitter, a: string, b: string) => e.node("Add", [a, b]);
const mul = (e: OnnxEmitter, a: string, b: string) => e.node("Mul", [a, b]);

/** Horner's rule over constant coefficients (highest degree first). */
function horner(e: OnnxEmitter, coeffs: readonly number[], u: string): string {
  return coeffs.slice(1).reduce((s, k) => add(e, mul(e, s, u), c(e, k)), c(e, coeffs[0]));
}

/** atan(z) = z - z^3/3 + z^5/5 - ... for |z| <= 0.0985: 9 terms reach 1e-18. */
const ATAN_SERIES = Array.from({ length: 9 }, (_, k) => {
  const n = 8 - k; // highest degree first: (-1)^n / (2n + 1) multiplies z^(2n)
  return (n % 2 ? -1 : 1) / (2 * n + 1);
});

/** atan(y) = 2 atan(y / (1 + sqrt(1 + y^2))): halves the angle. */
const halve = (e: OnnxEmitter, y: string) => e.node("Div", [y, add(e, c(e, 1), e.node("Sqrt", [add(e, c(e, 1), mul(e, y, y))]))]);

export function atanF64(e: OnnxEmitter, x: string): string {
  const a = e.node("Abs", [x]);
  const big = e.node("Greater", [a, c(e, 1)]);
  const y = e.node("Where", [big, e.node("Reciprocal", [a]), a]); // atan(a) = pi/2 - atan(1/a) above 1
  const z = halve(e, halve(e, y));
  const r = mul(e, c(e, 4), mul(e, z, horner(e, ATAN_SERIES, mul(e, z, z))));
  const folded = e.node("Where", [big, e.node("Sub", [c(e, Math.PI / 2), r]), r]);
  return mul(e, e.node("Sign", [x]), folded);
}

/** asin(x) = atan(x / sqrt((1 - x)(1 + x))): +-pi/2 at +-1 (x / 0), NaN outside [-1, 1]. */
export const asinF64 = (e: OnnxEmitter, x: string): string =>
  atanF64(e, e.node("Div", [x, e.node("Sqrt", [mul(e, e.node("Sub", [c(e, 1), x]), add(e, c(e, 1), x))])]));

/** acos(x) = 2 atan(sqrt((1 - x) / (1 + x))): 0 at 1, pi at -1, no cancellation near either. */
export const acosF64 = (e: OnnxEmitter, x: string): string =>
  mul(e, c(e, 2), atanF64(e, e.node("Sqrt", [e.node("Div", [e.node("Sub", [c(e, 1), x]), add(e, c(e, 1), x)])])));

export const tanF64 = (e: OnnxEmitter, x: string): string => e.node("Div", [e.node("Sin", [x]), e.node("Cos", [x])]);

/**
 * erf as ops/erf.ts computes it: the same pieces and coefficients, selected by Where (every piece
 * is computed; Where picks). fround(a) is a Cast to float and back.
 */
export function erfF64(e: OnnxEmitter, x: string, small: readonly number[], pieces: readonly (readonly [number, number, number, readonly number[]])[]): string {
  const a = e.node("Abs", [x]);
  const inner = mul(e, x, horner(e, small, e.node("Sub", [mul(e, c(e, 2), mul(e, a, a)), c(e, 1)])));
  const h = e.node("Cast", [e.node("Cast", [a], { to: e.type("f32") })], { to: e.type("f64") });
  const l = e.node("Sub", [a, h]);
  const ex = mul(e, e.node("Exp", [e.node("Neg", [mul(e, h, h)])]), e.node("Exp", [e.node("Neg", [mul(e, l, add(e, a, h))])]));
  const r = pieces.reduceRight(
    (rest, [hi, mid, half, coeffs]) =>
      e.node("Where", [e.node("Less", [a, c(e, hi)]), horner(e, coeffs, e.node("Div", [e.node("Sub", [a, c(e, mid)]), c(e, half)])), rest]),
    c(e, 0),
  );
  // |x| >= 6 (infinities included, where ex is NaN) is sign(x); NaN stays NaN through Sign
  const last = pieces[pieces.length - 1][0];
  const tail = mul(e, e.node("Sign", [x]), e.node("Where", [e.node("Less", [a, c(e, last)]), e.node("Sub", [c(e, 1), mul(e, ex, r)]), c(e, 1)]));
  return e.node("Where", [e.node("Less", [a, c(e, 1)]), inner, tail]);
}
