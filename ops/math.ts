// More elementwise primitives: minimum, pow, two comparisons, abs, sign, sigmoid, log1p, expm1.
// greater and greaterEqual are not here: they are less and lessEqual with the operands swapped
// (core/builder.ts), exactly, NaN included. clip is minimum(maximum(x, lo), hi) (core/builder.ts).

import type { Node } from "../core/node.js";
import type { OpDef } from "../core/registry.js";
import * as b from "../core/builder.js";
import { both, elementwise } from "./elementwise.js";
import { compare, expm1, log1p, same } from "./onnx-special.js";
import { awayFromZero, flat, noTies, randomTensor, randShape, unary } from "./samples.js";

const zero = (like: Node): Node => b.constant(0, like.dtype, like.shape);

export const mathOps: OpDef[] = [
  elementwise({
    name: "minimum",
    arity: 2,
    tags: ["commutative"],
    scalar: (a, c) => Math.min(a, c),
    expr: ([a, c]) => `Math.min(${a}, ${c})`,
    simd: both((e, [a, c]) => e.min(a, c)),
    // ties send the gradient to the second operand, as maximum's do (docs/ops.md)
    vjp: (g, [x, y]) => {
      const wins = b.less(x, y);
      return [b.select(wins, g, zero(g)), b.select(wins, zero(g), g)];
    },
    onnx: same("Min"),
    sample: noTies,
  }),
  elementwise({
    name: "pow",
    arity: 2,
    tags: ["costly"],
    scalar: (a, c) => Math.pow(a, c),
    expr: ([a, c]) => `Math.pow(${a}, ${c})`,
    // d/dx = y x^(y-1), read as 0 at x = y = 0 (not 0 * Infinity = NaN); the select sits on x^(y-1)
    // alone, so d/dy of it is still x^(y-1) at y = 0 (the Hessian JAX's testPowSecondDerivative
    // expects). d/dy = x^y log(x), with log(x) read as log(1) at x = 0 (JAX's rule).
    vjp: (g, [x, y], out) => [
      b.mul(g, b.mul(y, b.select(b.mul(b.equal(x, 0), b.equal(y, 0)), 0, b.pow(x, b.sub(y, 1))))),
      b.mul(g, b.mul(out, b.log(b.select(b.equal(x, 0), 1, x)))),
    ],
    onnx: same("Pow"),
    // a positive base keeps x^y and log(x) defined for every exponent; kept away from 1, where
    // d/dy x^y = x^y log(x) vanishes and a relative error would measure only finite-difference noise
    sample: (rand) => {
      const shape = randShape(rand);
      const base = randomTensor(rand, shape, 0.2, 1);
      for (let i = 0; i < base.data.length; i++) base.data[i] = rand() < 0.5 ? 1 - 0.5 * base.data[i] : 1 + base.data[i];
      return { inputs: [base, randomTensor(rand, shape, -2, 2)], attrs: {} };
    },
  }),
  elementwise({
    name: "lessEqual",
    arity: 2,
    scalar: (a, c) => (a <= c ? 1 : 0),
    expr: ([a, c]) => `(${a} <= ${c} ? 1 : 0)`,
    simd: both((e, [a, c]) => e.lessEqual(a, c)),
    vjp: () => [null, null],
    onnx: compare("LessOrEqual"),
    sample: noTies,
  }),
  elementwise({
    name: "notEqual",
    arity: 2,
    tags: ["commutative"],
    scalar: (a, c) => (a !== c ? 1 : 0),
    expr: ([a, c]) => `(${a} !== ${c} ? 1 : 0)`,
    simd: both((e, [a, c]) => e.notEqual(a, c)),
    vjp: () => [null, null],
    onnx: (e, xs, _a, out) => e.node("Cast", [e.node("Not", [e.node("Equal", xs)])], { to: e.type(out.dtype) }),
    sample: noTies,
  }),
  elementwise({
    name: "abs",
    arity: 1,
    scalar: Math.abs,
    expr: ([a]) => `Math.abs(${a})`,
    simd: both((e, [a]) => e.abs(a)),
    // sign(0) = 0: no gradient at the kink, as JAX and PyTorch
    vjp: (g, [x]) => [b.mul(g, b.sign(x))],
    onnx: same("Abs"),
    sample: (rand) => ({ inputs: [awayFromZero(rand, randShape(rand))], attrs: {} }),
  }),
  elementwise({
    name: "sign",
    arity: 1,
    scalar: Math.sign,
    expr: ([a]) => `Math.sign(${a})`,
    vjp: () => [null], // piecewise constant: zero gradient
    onnx: same("Sign"),
    sample: flat,
  }),
  elementwise({
    name: "sigmoid",
    arity: 1,
    tags: ["costly"],
    // 1 / (1 + e^-x) is accurate for every x (e^-x overflows to Infinity only where the result is 0)
    scalar: (a) => 1 / (1 + Math.exp(-a)),
    expr: ([a]) => `(1 / (1 + Math.exp(-${a})))`,
    vjp: (g, _x, out) => [b.mul(g, b.mul(out, b.sub(1, out)))],
    onnx: same("Sigmoid"),
    sample: unary(-3, 3),
  }),
  elementwise({
    name: "log1p",
    arity: 1,
    tags: ["costly"],
    scalar: Math.log1p,
    expr: ([a]) => `Math.log1p(${a})`,
    vjp: (g, [x]) => [b.div(g, b.add(x, 1))],
    onnx: log1p,
    sample: unary(-0.5, 2),
  }),
  elementwise({
    name: "expm1",
    arity: 1,
    tags: ["costly"],
    scalar: Math.expm1,
    expr: ([a]) => `Math.expm1(${a})`,
    vjp: (g, _x, out) => [b.mul(g, b.add(out, 1))],
    onnx: expm1,
    sample: unary(-2, 2),
  }),
];
