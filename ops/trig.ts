// Trigonometric primitives and round. Each record: scalar function, codegen template, gradient and
// tangent rule (one derivative shared by both), and ONNX lowering (samplers: compile/check/samples.ts). Conventions (docs/ops.md): Math's functions in float64, so sin, cos
// and tan of huge arguments are what V8 computes (fully reduced); asin, acos outside [-1, 1] are
// NaN, and their gradients at +-1 are infinite; round sends halves to even.

import * as b from "../core/builder.js";
import type { Node } from "../core/node.js";
import type { OnnxLowering, OpDef } from "../core/registry.js";
import { both, elementwise } from "./elementwise.js";
import { acosF64, asinF64, atanF64, nativeOr, tanF64 } from "./onnx-special.js";

const same = (opType: string): OnnxLowering => (e, xs) => e.node(opType, xs);

/** An elementwise op from its derivative: vjp g * f'(x), jvp t * f'(x). */
function smooth(name: string, scalar: (x: number) => number, fn: string, d: (x: Node, out: Node) => Node, onnx: OnnxLowering): OpDef {
  return {
    ...elementwise({ name, arity: 1, tags: ["costly"], scalar, expr: ([x]) => `Math.${fn}(${x})`, vjp: (g, [x], out) => [b.mul(g, d(x, out))] }),
    jvp: ([t], [x], out) => (t ? b.mul(t, d(x, out)) : null),
    onnx,
  };
}

/** 1 / sqrt(1 - x^2): asin's derivative, acos' negated. */
const invSqrtOneMinusSquare = (x: Node): Node => b.rsqrt(b.sub(1, b.square(x)));

/**
 * Round half to even, from Math.round (which sends halves up): where x is exactly halfway, twice
 * the rounding of x / 2 (exact: x / 2 is a quarter-odd number) is the even neighbour. Infinities,
 * NaN and -0 pass through; -0.4 and -0.5 give -0, as NumPy does.
 */
export const roundHalfEven = (x: number): number => (x - Math.floor(x) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));

export const trigOps: OpDef[] = [
  smooth("sin", Math.sin, "sin", (x) => b.cos(x), same("Sin")),
  smooth("cos", Math.cos, "cos", (x) => b.neg(b.sin(x)), same("Cos")),
  // d tan = 1 + tan^2 (the output, not 1 / cos^2: no second cosine)
  smooth("tan", Math.tan, "tan", (_x, out) => b.add(b.square(out), 1), nativeOr("Tan", tanF64)),
  smooth("asin", Math.asin, "asin", invSqrtOneMinusSquare, nativeOr("Asin", asinF64)),
  smooth("acos", Math.acos, "acos", (x) => b.neg(invSqrtOneMinusSquare(x)), nativeOr("Acos", acosF64)),
  smooth("atan", Math.atan, "atan", (x) => b.recip(b.add(b.square(x), 1)), nativeOr("Atan", atanF64)),
  {
    ...elementwise({
      name: "round", arity: 1,
      scalar: roundHalfEven,
      expr: ([x]) => `((x) => (x - Math.floor(x) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x)))(${x})`,
      // nearest rounds halves to even, as round's scalar does; the result is an integer, exact in either lane type
      simd: both((e, [x]) => e.nearest(x)),
      vjp: () => [null], // piecewise constant: zero gradient, as NumPy-likes give
    }),
    onnx: (e, xs) => e.node("Round", xs),
  },
];
