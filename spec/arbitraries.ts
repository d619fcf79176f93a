// fast-check arbitraries shared by the property tests: bounded shapes and float tensors.
// Kept apart from helpers.ts so that "gradc/spec/helpers" needs no fast-check at run time.

import fc from "fast-check";
import { tensor, type DType, type Shape, type Tensor } from "../core/tensor.js";

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  /** Sizes are drawn from [minDim, maxDim]. */
  minDim?: number;
  maxDim?: number;
}

/** Shapes of rank minRank..maxRank (default 0..3) with sizes minDim..maxDim (default 1..4). */
export function arbShape(opts: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 3, minDim = 1, maxDim = 4 } = opts;
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

export interface TensorOptions {
  /** Values are drawn from [min, max] (default [-2, 2]), never NaN or infinite. */
  min?: number;
  max?: number;
  dtype?: DType;
}

/** Float tensors of a given shape with bounded values. */
export function arbTensor(shape: Shape, opts: TensorOptions = {}): fc.Arbitrary<Tensor> {
  const { min = -2, max = 2, dtype = "f64" } = opts;
  const n = shape.reduce((m, s) => m * s, 1);
  const value = fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  return fc.array(value, { minLength: n, maxLength: n }).map((xs) => tensor(xs, shape, dtype));
}

/** A random shape and a tensor of it. */
export function arbShapedTensor(shape: ShapeOptions = {}, values: TensorOptions = {}): fc.Arbitrary<Tensor> {
  return arbShape(shape).chain((s) => arbTensor(s, values));
}

/** Seeds for `seededRandom`: properties that build their own inputs draw a seed, so failures replay. */
export const arbSeed = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0x7fffffff });

/** fast-check parameters for the suite: bounded runs, and the failing assertion's message in the report. */
export const runs = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, includeErrorInReport: true });
