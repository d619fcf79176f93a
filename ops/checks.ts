// Shape-rule helpers: each throws a plain Error saying what is wrong; `apply` adds the op and node.

import type { DType, Shape } from "../core/tensor.js";
import { sameShape, shapeStr } from "../core/tensor.js";
import type { Attrs, Aval } from "../core/registry.js";

export function sameAvals(inputs: readonly Aval[]): Aval {
  const [first] = inputs;
  for (const x of inputs.slice(1)) {
    if (x.dtype !== first.dtype) throw new Error(`mixed dtypes ${inputs.map((y) => y.dtype).join(" and ")}: cast one operand explicitly`);
    if (!sameShape(x.shape, first.shape)) throw new Error(`shapes ${inputs.map((y) => shapeStr(y.shape)).join(" and ")} differ`);
  }
  return { shape: first.shape, dtype: first.dtype };
}

export function shapeAttr(attrs: Attrs, key = "shape"): number[] {
  const s = attrs[key];
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`attribute ${key} must be a list of non-negative integers, got ${JSON.stringify(s)}`);
  }
  return s as number[];
}

export function dtypeAttr(attrs: Attrs): DType {
  const d = attrs.dtype;
  if (d !== "f64" && d !== "f32") throw new Error(`attribute dtype must be "f64" or "f32", got ${JSON.stringify(d)}`);
  return d;
}

export function axesAttr(attrs: Attrs, rank: number): number[] {
  const a = attrs.axes;
  if (!Array.isArray(a) || !a.every((d, i) => Number.isInteger(d) && d >= 0 && d < rank && (i === 0 || d > a[i - 1]))) {
    throw new Error(`attribute axes must be sorted distinct axes below rank ${rank}, got ${JSON.stringify(a)}`);
  }
  return a as number[];
}

export const show = (s: Shape): string => shapeStr(s);
