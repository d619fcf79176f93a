// How to draw valid random inputs for each builtin primitive, for the registry-walking property
// tests in ops.test.ts. Domains keep finite differences honest: positive inputs for log, sqrt,
// rsqrt and recip; operands kept apart (no ties) for maximum, minimum, the comparisons and max.
// An op that is not listed here must carry its own `sample` in its OpDef.

import type { OpDef, OpSample } from "../../core/registry.js";
import { tensor, type Shape, type Tensor } from "../../core/tensor.js";
import { randomTensor } from "./numeric.js";

type Rand = () => number;
export type Sampler = (rand: Rand) => OpSample;

const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

/** A shape of rank minRank..maxRank with sizes 1..maxDim. */
export function randShape(rand: Rand, minRank = 0, maxRank = 3, maxDim = 4): number[] {
  return Array.from({ length: int(rand, minRank, maxRank) }, () => int(rand, 1, maxDim));
}

const sign = (rand: Rand): number => (rand() < 0.5 ? -1 : 1);

/** Values bounded away from zero: ±[0.5, 2]. */
function awayFromZero(rand: Rand, shape: Shape): Tensor {
  const t = randomTensor(rand, shape, 0.5, 2);
  for (let i = 0; i < t.data.length; i++) t.data[i] *= sign(rand);
  return t;
}

/** y = x ± [0.1, 1]: a pair of operands that never tie (nor come within a finite-difference step). */
function apart(rand: Rand, shape: Shape): [Tensor, Tensor] {
  const x = randomTensor(rand, shape);
  const y = tensor(Array.from(x.data, (v) => v + sign(rand) * (0.1 + 0.9 * rand())), shape);
  return [x, y];
}

/** Distinct values at least 0.2 apart, in random order: max reductions without ties. */
function distinct(rand: Rand, shape: Shape): Tensor {
  const n = shape.reduce((m, s) => m * s, 1);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = int(rand, 0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return tensor(order.map((k) => (k - n / 2) * 0.3 + 0.1 * rand()), shape);
}

const unary = (lo: number, hi: number): Sampler => (rand) => ({ inputs: [randomTensor(rand, randShape(rand), lo, hi)], attrs: {} });
const binary = (rand: Rand): OpSample => {
  const shape = randShape(rand);
  return { inputs: [randomTensor(rand, shape), randomTensor(rand, shape)], attrs: {} };
};
const noTies = (rand: Rand): OpSample => ({ inputs: apart(rand, randShape(rand)), attrs: {} });

/** A non-empty sorted subset of the axes of a rank-r tensor. */
function randAxes(rand: Rand, rank: number): number[] {
  const axes = Array.from({ length: rank }, (_, i) => i).filter(() => rand() < 0.5);
  return axes.length ? axes : [int(rand, 0, rank - 1)];
}

/** x, an axis, and indices into it (repeats included) shaped like x off the axis. */
function along(rand: Rand): { x: Tensor; idx: Tensor; axis: number } {
  const shape = randShape(rand, 1, 3);
  const axis = int(rand, 0, shape.length - 1);
  const n = shape[axis];
  const ishape = shape.map((s, d) => (d === axis ? int(rand, 1, 4) : s));
  const count = ishape.reduce((m, s) => m * s, 1);
  return { x: randomTensor(rand, shape), idx: tensor(Array.from({ length: count }, () => int(rand, -n, n - 1)), ishape), axis };
}

export const builtinSamples: Readonly<Record<string, Sampler>> = {
  add: binary,
  sub: binary,
  mul: binary,
  div: (rand) => {
    const shape = randShape(rand);
    return { inputs: [randomTensor(rand, shape), awayFromZero(rand, shape)], attrs: {} };
  },
  maximum: noTies,
  less: noTies,
  equal: noTies,
  // the condition is a mask: perturbing it is meaningless, and it gets no gradient
  select: (rand) => {
    const shape = randShape(rand);
    const cond = tensor(Array.from({ length: shape.reduce((m, s) => m * s, 1) }, () => (rand() < 0.5 ? 0 : 1)), shape);
    return { inputs: [cond, randomTensor(rand, shape), randomTensor(rand, shape)], attrs: {}, wrt: [1, 2] };
  },
  neg: unary(-2, 2),
  exp: unary(-2, 2),
  log: unary(0.2, 3),
  sqrt: unary(0.2, 3),
  rsqrt: unary(0.2, 3),
  recip: unary(0.3, 3),
  square: unary(-2, 2),
  tanh: unary(-2, 2),
  // declared gradient-free: finite differences see the identity, the gradient must be zero
  stopGradient: (rand) => ({ ...unary(-2, 2)(rand), wrt: [] }),
  // f32 rounding (6e-8 relative) over a step of 1e-3 gives errors near 1e-4
  cast: (rand) => {
    const up = rand() < 0.5;
    const x = randomTensor(rand, randShape(rand), -2, 2, up ? "f32" : "f64");
    return { inputs: [x], attrs: { dtype: up ? "f64" : "f32" }, h: 1e-3, tol: 1e-3 };
  },
  sum: (rand) => {
    const shape = randShape(rand, 1, 3);
    return { inputs: [randomTensor(rand, shape)], attrs: { axes: randAxes(rand, shape.length) } };
  },
  max: (rand) => {
    const shape = randShape(rand, 1, 3);
    return { inputs: [distinct(rand, shape)], attrs: { axes: randAxes(rand, shape.length) } };
  },
  broadcastTo: (rand) => {
    const target = randShape(rand, 1, 3);
    const shape = target.map((s) => (rand() < 0.5 ? 1 : s));
    return { inputs: [randomTensor(rand, shape)], attrs: { shape: target } };
  },
  reshape: (rand) => {
    const shape = randShape(rand, 1, 3);
    const n = shape.reduce((m, s) => m * s, 1);
    const choices = [[n], [...shape].reverse(), [1, ...shape], [n, 1]];
    return { inputs: [randomTensor(rand, shape)], attrs: { shape: choices[int(rand, 0, choices.length - 1)] } };
  },
  transpose: (rand) => {
    const shape = randShape(rand, 1, 4);
    const perm = shape.map((_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) {
      const j = int(rand, 0, i);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    return { inputs: [randomTensor(rand, shape)], attrs: { perm } };
  },
  // 2-D, or batched with 1-2 batch axes
  matmul: (rand) => {
    const batch = randShape(rand, 0, 2, 3);
    const [m, k, n] = [int(rand, 1, 4), int(rand, 1, 4), int(rand, 1, 4)];
    return { inputs: [randomTensor(rand, [...batch, m, k]), randomTensor(rand, [...batch, k, n])], attrs: {} };
  },
  minimum: noTies,
  lessEqual: noTies,
  notEqual: noTies,
  // a positive base keeps x^y and log(x) defined for every exponent; kept away from 1, where
  // d/dy x^y = x^y log(x) vanishes and a relative error would measure only finite-difference noise
  pow: (rand) => {
    const shape = randShape(rand);
    const base = randomTensor(rand, shape, 0.2, 1);
    for (let i = 0; i < base.data.length; i++) base.data[i] = rand() < 0.5 ? 1 - 0.5 * base.data[i] : 1 + base.data[i];
    return { inputs: [base, randomTensor(rand, shape, -2, 2)], attrs: {} };
  },
  abs: (rand) => ({ inputs: [awayFromZero(rand, randShape(rand))], attrs: {} }),
  // piecewise constant: finite differences away from 0 see 0, the gradient must be 0
  sign: (rand) => ({ inputs: [awayFromZero(rand, randShape(rand))], attrs: {}, wrt: [] }),
  sigmoid: unary(-3, 3),
  // a random non-empty strided window per axis, steps of either sign
  slice: (rand) => {
    const shape = randShape(rand, 1, 3, 5);
    const start: number[] = [], stop: number[] = [], step: number[] = [];
    for (const n of shape) {
      const k = [1, 2, 3, -1, -2][int(rand, 0, 4)];
      const s = int(rand, 0, n - 1);
      start.push(s), step.push(k), stop.push(k > 0 ? int(rand, s + 1, n) : int(rand, -1, s - 1));
    }
    return { inputs: [randomTensor(rand, shape)], attrs: { start, stop, step } };
  },
  // the window of a random slice of `shape`, filled
  pad: (rand) => {
    const s = builtinSamples.slice(rand);
    const shape = s.inputs[0].shape;
    const window = shape.map((_, d) => Math.max(0, Math.ceil(((s.attrs.stop as number[])[d] - (s.attrs.start as number[])[d]) / (s.attrs.step as number[])[d])));
    return { inputs: [randomTensor(rand, window)], attrs: { shape: [...shape], ...s.attrs } };
  },
  concat: (rand) => {
    const shape = randShape(rand, 1, 3);
    const axis = int(rand, 0, shape.length - 1);
    const inputs = Array.from({ length: int(rand, 1, 3) }, () => randomTensor(rand, shape.map((s, d) => (d === axis ? int(rand, 1, 3) : s))));
    return { inputs, attrs: { axis } };
  },
  // integer indices (as floats), negative ones included; they get no gradient
  takeAlongAxis: (rand) => {
    const { x, idx, axis } = along(rand);
    return { inputs: [x, idx], attrs: { axis }, wrt: [0] };
  },
  scatterAdd: (rand) => {
    const { x, idx, axis } = along(rand);
    return { inputs: [x, idx, randomTensor(rand, idx.shape)], attrs: { axis }, wrt: [0, 2] };
  },
  // domains: tan away from its poles, asin and acos inside (-1, 1) away from the infinite slopes at +-1
  sin: unary(-4, 4),
  cos: unary(-4, 4),
  tan: unary(-1.3, 1.3),
  asin: unary(-0.9, 0.9),
  acos: unary(-0.9, 0.9),
  atan: unary(-4, 4),
  erf: unary(-3, 3),
  // integers plus offsets kept 0.1 from the jumps, and exact halves (ties) now and then; gradient 0
  round: (rand) => {
    const shape = randShape(rand);
    const n = shape.reduce((m, s) => m * s, 1);
    const data = Array.from({ length: n }, () => Math.floor(rand() * 9) - 4 + (rand() < 0.2 ? 0.5 : (rand() - 0.5) * 0.8));
    return { inputs: [tensor(data, shape)], attrs: {}, wrt: [] };
  },
  // a random axis and direction, inclusive or exclusive
  cumsum: (rand) => {
    const shape = randShape(rand, 1, 3);
    return { inputs: [randomTensor(rand, shape)], attrs: { axis: int(rand, 0, shape.length - 1), reverse: rand() < 0.5, exclusive: rand() < 0.5 } };
  },
  // valid labels only: an out-of-range one is an error (spec/identity.test.ts), not a value to compare
  classIndex: (rand) => {
    const classes = int(rand, 1, 5);
    const y = tensor(Array.from({ length: int(rand, 1, 6) }, () => int(rand, 0, classes - 1)));
    return { inputs: [y], attrs: { classes, of: "oneHot" }, wrt: [] };
  },
  log1p: unary(-0.5, 2),
  expm1: unary(-2, 2),
};

/** The op's sampler: its own `sample`, else the builtin table; undefined if neither knows it. */
export function samplerFor(def: OpDef): Sampler | undefined {
  return def.sample ? (rand) => def.sample!(rand) : builtinSamples[def.name];
}
