// Valid random inputs for the op records' `sample` (walked by the registry tests, checkOp and the
// fuzzer). Domains keep finite differences honest: positive inputs for log, sqrt, rsqrt and recip;
// operands kept apart (no ties) for maximum, minimum, the comparisons and max.

import type { OpSample } from "../core/registry.js";
import { tensor, type DType, type Shape, type Tensor } from "../core/tensor.js";

export type Rand = () => number;
export type Sampler = (rand: Rand) => OpSample;

export const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

/** A tensor of `shape` with values uniform in [lo, hi) drawn from `rand`. */
export function randomTensor(rand: Rand, shape: Shape, lo = -2, hi = 2, dtype: DType = "f64"): Tensor {
  const n = shape.reduce((m, s) => m * s, 1);
  return tensor(
    Array.from({ length: n }, () => lo + (hi - lo) * rand()),
    shape,
    dtype,
  );
}

/** A tensor of `shape` whose values `next` draws in order. */
export function tensorOf(shape: Shape, next: () => number): Tensor {
  return tensor(Array.from({ length: shape.reduce((m, s) => m * s, 1) }, next), shape);
}

/** A shape of rank minRank..maxRank with sizes 1..maxDim. */
export function randShape(rand: Rand, minRank = 0, maxRank = 3, maxDim = 4): number[] {
  return Array.from({ length: int(rand, minRank, maxRank) }, () => int(rand, 1, maxDim));
}

const sign = (rand: Rand): number => (rand() < 0.5 ? -1 : 1);

/** Values bounded away from zero: ±[0.5, 2]. */
export function awayFromZero(rand: Rand, shape: Shape): Tensor {
  const t = randomTensor(rand, shape, 0.5, 2);
  for (let i = 0; i < t.data.length; i++) t.data[i] *= sign(rand);
  return t;
}

/** y = x ± [0.1, 1]: a pair of operands that never tie (nor come within a finite-difference step). */
function apart(rand: Rand, shape: Shape): [Tensor, Tensor] {
  const x = randomTensor(rand, shape);
  const y = tensor(
    Array.from(x.data, (v) => v + sign(rand) * (0.1 + 0.9 * rand())),
    shape,
  );
  return [x, y];
}

/** Distinct values at least 0.2 apart, in random order: max reductions without ties. */
export function distinct(rand: Rand, shape: Shape): Tensor {
  const n = shape.reduce((m, s) => m * s, 1);
  return tensor(
    permutation(rand, n).map((k) => (k - n / 2) * 0.3 + 0.1 * rand()),
    shape,
  );
}

/** One operand of a random shape, values in [lo, hi). */
export const unary =
  (lo: number, hi: number): Sampler =>
  (rand) => ({ inputs: [randomTensor(rand, randShape(rand), lo, hi)], attrs: {} });
/** Two operands of one random shape. */
export const binary: Sampler = (rand) => {
  const shape = randShape(rand);
  return { inputs: [randomTensor(rand, shape), randomTensor(rand, shape)], attrs: {} };
};
/** Two operands that never tie: comparisons, maximum and minimum. */
export const noTies: Sampler = (rand) => ({ inputs: apart(rand, randShape(rand)), attrs: {} });
/** A piecewise-constant op away from its jumps: finite differences see 0, the gradient must be 0. */
export const flat: Sampler = (rand) => ({ inputs: [awayFromZero(rand, randShape(rand))], attrs: {}, wrt: [] });

/** A non-empty sorted subset of the axes of a rank-r tensor. */
export function randAxes(rand: Rand, rank: number): number[] {
  const axes = Array.from({ length: rank }, (_, i) => i).filter(() => rand() < 0.5);
  return axes.length ? axes : [int(rand, 0, rank - 1)];
}

/** A random permutation of 0..n-1. */
export function permutation(rand: Rand, n: number): number[] {
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = int(rand, 0, i);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}
