// Trigonometric primitives and round. Each record: scalar function, codegen template, gradient and
// tangent rule (one derivative shared by both), ONNX lowering and sampler. Conventions (docs/ops.md): Math's functions in float64, so sin, cos
// and tan of huge arguments are what V8 computes (fully reduced); asin, acos outside [-1, 1] are
// NaN, and their gradients at +-1 are infinite; round sends halves to even.

import * as b from "../core/builder.js";
import type { Node } from "../core/node.js";
import type { OnnxLowering, OpDef } from "../core/registry.js";
import { both, elementwise } from "./elementwise.js";
import { acosF64, asinF64, atanF64, nativeOr, same, tanF64 } from "./onnx-special.js";
import { randShape, tensorOf, unary, type Sampler } from "./samples.js";

/** An elementwise op from its derivative: vjp g * f'(x), jvp t * f'(x). */
function smooth(name: string, scalar: (x: number) => number, fn: string, d: (x: Node, out: Node) => Node, onnx: OnnxLowering, sample: Sampler): OpDef {
  return {
    ...elementwise({ name, arity: 1, tags: ["costly"], scalar, expr: ([x]) => `Math.${fn}(${x})`, vjp: (g, [x], out) => [b.mul(g, d(x, out))], onnx, sample }),
    jvp: ([t], [x], out) => (t ? b.mul(t, d(x, out)) : null),
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
  // sample domains: tan away from its poles, asin and acos inside (-1, 1) away from the infinite slopes at +-1
  smooth("sin", Math.sin, "sin", (x) => b.cos(x), same("Sin"), unary(-4, 4)),
  smooth("cos", Math.cos, "cos", (x) => b.neg(b.sin(x)), same("Cos"), unary(-4, 4)),
  smooth("tan", Math.tan, "tan", (_x, out) => b.add(b.square(out), 1), nativeOr("Tan", tanF64), unary(-1.3, 1.3)),
  smooth("asin", Math.asin, "asin", invSqrtOneMinusSquare, nativeOr("Asin", asinF64), unary(-0.9, 0.9)),
  smooth("acos", Math.acos, "acos", (x) => b.neg(invSqrtOneMinusSquare(x)), nativeOr("Acos", acosF64), unary(-0.9, 0.9)),
  smooth("atan", Math.atan, "atan", (x) => b.recip(b.add(b.square(x), 1)), nativeOr("Atan", atanF64), unary(-4, 4)),
  {
    ...elementwise({
      name: "round",
      arity: 1,
      scalar: roundHalfEven,
      expr: ([x]) => `((x) => (x - Math.floor(x) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x)))(${x})`,
      // nearest rounds halves to even, as round's scalar does; the result is an integer, exact in either lane type
      simd: both((e, [x]) => e.nearest(x)),
      vjp: () => [null], // piecewise constant: zero gradient, as NumPy-likes give
      onnx: same("Round"),
      // integers plus offsets kept 0.1 from the jumps, and exact halves (ties) now and then; gradient 0
      sample: (rand) => ({
        inputs: [tensorOf(randShape(rand), () => Math.floor(rand() * 9) - 4 + (rand() < 0.2 ? 0.5 : (rand() - 0.5) * 0.8))],
        attrs: {},
        wrt: [],
      }),
    }),
  },
];
