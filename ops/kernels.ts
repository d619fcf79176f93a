// Reference kernel helpers: plain loops over row-major data, written for clarity first.

import { allocate, sizeOf, strides, Tensor, type Data, type Shape } from "../core/tensor.js";
import type { Aval } from "../core/registry.js";

/**
 * Walk every index of `shape` in row-major order, calling fn(i, off) where off is the offset
 * into a tensor with the given (possibly zero) strides: broadcasts, reductions and transposes
 * are all this one loop with different strides.
 */
export function walk(shape: Shape, st: readonly number[], fn: (i: number, off: number) => void): void {
  const rank = shape.length;
  const n = sizeOf(shape);
  if (n === 0) return;
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    fn(i, off);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += st[d];
      if (idx[d] < shape[d]) break;
      off -= st[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Strides of `shape` with zeros on axes of size 1 that are to be broadcast to `target`. */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const st = strides(shape);
  return target.map((t, d) => (shape[d] === 1 && t !== 1 ? 0 : st[d]));
}

export function output(out: Aval): Tensor {
  return new Tensor(allocate(sizeOf(out.shape), out.dtype), out.shape);
}

export function map1(x: Data, out: Data, f: (a: number) => number): void {
  for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
}

export function map2(x: Data, y: Data, out: Data, f: (a: number, b: number) => number): void {
  for (let i = 0; i < out.length; i++) out[i] = f(x[i], y[i]);
}
