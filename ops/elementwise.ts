// Elementwise primitives. Each record: scalar function (reference kernel and constant folding),
// codegen expression, SIMD and ONNX lowerings, gradient rule and test sampler, a few lines apart.

import type { Node } from "../core/node.js";
import type { Attrs, LaneLowering, OpDef } from "../core/registry.js";
import * as b from "../core/builder.js";
import { sameAvals } from "./checks.js";
import { map1, map2, output } from "./kernels.js";
import { compare, isZero, same } from "./onnx-special.js";
import { awayFromZero, binary, noTies, randomTensor, randShape, tensorOf, unary } from "./samples.js";

export interface ElementwiseSpec {
  name: string;
  arity: number;
  scalar: (...xs: number[]) => number;
  expr: (args: readonly string[], attrs: Attrs) => string;
  vjp?: (g: Node, x: readonly Node[], out: Node) => readonly (Node | null)[];
  tags?: readonly string[];
  /** Its SIMD lowering, per lane type it is exact in (core/registry.ts, LaneEmitter). */
  simd?: OpDef["simd"];
  /** How to write it in ONNX (ops/onnx-special.ts has the common shapes). */
  onnx?: OpDef["onnx"];
  /** Valid random inputs for the registry-walking tests (ops/samples.ts). */
  sample?: OpDef["sample"];
  source?: string;
}

/** Make an elementwise op record from its scalar function: shape rule and kernel come for free. */
export function elementwise(spec: ElementwiseSpec): OpDef {
  const { scalar } = spec;
  return {
    name: spec.name,
    kind: "elementwise",
    arity: spec.arity,
    attrs: {},
    tags: spec.tags ?? [],
    source: spec.source,
    scalar,
    expr: spec.expr,
    simd: spec.simd,
    onnx: spec.onnx,
    sample: spec.sample,
    shape: (inputs) => sameAvals(inputs),
    impl(inputs, _attrs, out) {
      const r = output(out);
      if (inputs.length === 1) map1(inputs[0].data, r.data, scalar);
      else if (inputs.length === 2) map2(inputs[0].data, inputs[1].data, r.data, scalar);
      else for (let i = 0; i < r.data.length; i++) r.data[i] = scalar(...inputs.map((x) => x.data[i]));
      return r;
    },
    vjp: spec.vjp && ((g, x, out) => spec.vjp!(g, x, out)),
  };
}

const zero = (like: Node): Node => b.constant(0, like.dtype, like.shape);

/** A SIMD lowering exact in both lane types (float32 ops whose float64 result rounds once, as f32x4's does). */
export const both = (l: LaneLowering): NonNullable<OpDef["simd"]> => ({ f64: l, f32: l });

export const elementwiseOps: OpDef[] = [
  elementwise({
    name: "add",
    arity: 2,
    tags: ["commutative", "associative"],
    scalar: (a, c) => a + c,
    expr: ([a, c]) => `(${a} + ${c})`,
    simd: both((e, [a, c]) => e.add(a, c)),
    vjp: (g) => [g, g],
    onnx: same("Add"),
    sample: binary,
  }),
  elementwise({
    name: "sub",
    arity: 2,
    scalar: (a, c) => a - c,
    expr: ([a, c]) => `(${a} - ${c})`,
    simd: both((e, [a, c]) => e.sub(a, c)),
    vjp: (g) => [g, b.neg(g)],
    onnx: same("Sub"),
    sample: binary,
  }),
  elementwise({
    name: "mul",
    arity: 2,
    tags: ["commutative", "associative"],
    scalar: (a, c) => a * c,
    expr: ([a, c]) => `(${a} * ${c})`,
    simd: both((e, [a, c]) => e.mul(a, c)),
    vjp: (g, [x, y]) => [b.mul(g, y), b.mul(g, x)],
    onnx: same("Mul"),
    sample: binary,
  }),
  elementwise({
    name: "div",
    arity: 2,
    scalar: (a, c) => a / c,
    expr: ([a, c]) => `(${a} / ${c})`,
    simd: both((e, [a, c]) => e.div(a, c)),
    vjp: (g, [, y], out) => [b.div(g, y), b.neg(b.div(b.mul(g, out), y))],
    onnx: same("Div"),
    sample: (rand) => {
      const shape = randShape(rand);
      return { inputs: [randomTensor(rand, shape), awayFromZero(rand, shape)], attrs: {} };
    },
  }),
  elementwise({
    name: "maximum",
    arity: 2,
    tags: ["commutative"],
    scalar: (a, c) => Math.max(a, c),
    expr: ([a, c]) => `Math.max(${a}, ${c})`,
    // Math.max: NaN if either is NaN, and -0 < +0; WebAssembly's fmax is the same
    simd: both((e, [a, c]) => e.max(a, c)),
    // ties send the gradient to the second operand, so relu'(0) = 0 as in the notebook
    vjp: (g, [x, y]) => {
      const wins = b.less(y, x);
      return [b.select(wins, g, zero(g)), b.select(wins, zero(g), g)];
    },
    onnx: same("Max"),
    sample: noTies,
  }),
  elementwise({
    name: "less",
    arity: 2,
    scalar: (a, c) => (a < c ? 1 : 0),
    expr: ([a, c]) => `(${a} < ${c} ? 1 : 0)`,
    simd: both((e, [a, c]) => e.less(a, c)),
    vjp: () => [null, null],
    onnx: compare("Less"),
    sample: noTies,
  }),
  elementwise({
    name: "equal",
    arity: 2,
    tags: ["commutative"],
    scalar: (a, c) => (a === c ? 1 : 0),
    expr: ([a, c]) => `(${a} === ${c} ? 1 : 0)`,
    simd: both((e, [a, c]) => e.equal(a, c)),
    vjp: () => [null, null],
    onnx: compare("Equal"),
    sample: noTies,
  }),
  elementwise({
    name: "select",
    arity: 3,
    scalar: (c, a, d) => (c !== 0 ? a : d),
    expr: ([c, a, d]) => `(${c} !== 0 ? ${a} : ${d})`,
    simd: both((e, [c, a, d]) => e.select(c, a, d)),
    vjp: (g, [c]) => [null, b.select(c, g, zero(g)), b.select(c, zero(g), g)],
    // where(c, a, b) picks a where c is nonzero (NaN counts as nonzero, as c !== 0 in JavaScript)
    onnx: (e, [c, a, d], _attrs, out) => e.node("Where", [isZero(e, c, out.dtype), d, a]),
    // the condition is a mask: perturbing it is meaningless, and it gets no gradient
    sample: (rand) => {
      const shape = randShape(rand);
      const cond = tensorOf(shape, () => (rand() < 0.5 ? 0 : 1));
      return { inputs: [cond, randomTensor(rand, shape), randomTensor(rand, shape)], attrs: {}, wrt: [1, 2] };
    },
  }),
  elementwise({
    name: "neg",
    arity: 1,
    scalar: (a) => -a,
    expr: ([a]) => `(-${a})`,
    simd: both((e, [a]) => e.neg(a)),
    vjp: (g) => [b.neg(g)],
    onnx: same("Neg"),
    sample: unary(-2, 2),
  }),
  elementwise({
    name: "exp",
    arity: 1,
    tags: ["costly"],
    scalar: Math.exp,
    expr: ([a]) => `Math.exp(${a})`,
    vjp: (g, _x, out) => [b.mul(g, out)],
    onnx: same("Exp"),
    sample: unary(-2, 2),
  }),
  elementwise({
    name: "log",
    arity: 1,
    tags: ["costly"],
    scalar: Math.log,
    expr: ([a]) => `Math.log(${a})`,
    vjp: (g, [x]) => [b.div(g, x)],
    onnx: same("Log"),
    sample: unary(0.2, 3),
  }),
  elementwise({
    name: "sqrt",
    arity: 1,
    scalar: Math.sqrt,
    expr: ([a]) => `Math.sqrt(${a})`,
    simd: both((e, [a]) => e.sqrt(a)),
    vjp: (g, _x, out) => [b.div(b.mul(g, 0.5), out)],
    onnx: same("Sqrt"),
    sample: unary(0.2, 3),
  }),
  elementwise({
    name: "rsqrt",
    arity: 1,
    scalar: (a) => 1 / Math.sqrt(a),
    expr: ([a]) => `(1 / Math.sqrt(${a}))`,
    // 1 / sqrt(x) rounds twice in float32 lanes but once in the interpreter: float64 only
    simd: { f64: (e, [a]) => e.div(e.constant(1), e.sqrt(a)) },
    vjp: (g, [x], out) => [b.mul(b.div(b.mul(g, out), x), -0.5)],
    onnx: (e, [x]) => e.node("Reciprocal", [e.node("Sqrt", [x])]),
    sample: unary(0.2, 3),
  }),
  elementwise({
    name: "square",
    arity: 1,
    scalar: (a) => a * a,
    expr: ([a]) => `(${a} * ${a})`,
    simd: both((e, [a]) => e.mul(a, a)),
    vjp: (g, [x]) => [b.mul(b.mul(g, x), 2)],
    onnx: (e, [x]) => e.node("Mul", [x, x]),
    sample: unary(-2, 2),
  }),
  elementwise({
    name: "recip",
    arity: 1,
    scalar: (a) => 1 / a,
    expr: ([a]) => `(1 / ${a})`,
    simd: both((e, [a]) => e.div(e.constant(1), a)),
    vjp: (g, _x, out) => [b.neg(b.mul(g, b.square(out)))],
    onnx: same("Reciprocal"),
    sample: unary(0.3, 3),
  }),
  elementwise({
    name: "tanh",
    arity: 1,
    tags: ["costly"],
    scalar: Math.tanh,
    expr: ([a]) => `Math.tanh(${a})`,
    vjp: (g, _x, out) => [b.mul(g, b.sub(1, b.square(out)))],
    onnx: same("Tanh"),
    sample: unary(-2, 2),
  }),
  elementwise({
    name: "stopGradient",
    arity: 1,
    scalar: (a) => a,
    expr: ([a]) => a,
    simd: both((e, [a]) => a),
    vjp: () => [null],
    onnx: same("Identity"),
    // declared gradient-free: finite differences see the identity, the gradient must be zero
    sample: (rand) => ({ ...unary(-2, 2)(rand), wrt: [] }),
  }),
];
