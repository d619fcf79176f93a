// The notebook's gradient-checking helpers (cs231n gradient_check.py), in TypeScript: numerical
// gradients by central differences, the relative error, and seeded random tensors. Exported by
// gradc's index; no dependency beyond core.

import { Tensor, zeros, sameShape, shapeStr } from "../../core/tensor.js";
import { GradcError } from "../../core/errors.js";
import { mulberry32 } from "../../core/mulberry32.js";

/**
 * The gradient of a scalar function at x by central differences, as the notebook's
 * `eval_numerical_gradient(f, x, verbose=False, h=1e-5)`. Perturbs x in place and restores it.
 *
 *   const dx = evalNumericalGradient((x) => evaluate(g, { x, w }).out.data[0], x);
 */
export function evalNumericalGradient(f: (x: Tensor) => number, x: Tensor, h = 1e-5): Tensor {
  const grad = zeros(x.shape, x.dtype);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    d[i] = old + h;
    const plus = f(x);
    d[i] = old - h;
    const minus = f(x);
    d[i] = old;
    grad.data[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/**
 * The gradient of sum(f(x) * df) at x by central differences, as the notebook's
 * `eval_numerical_gradient_array(f, x, df, h=1e-5)`: df is the upstream gradient of f(x).
 *
 *   const dx = evalNumericalGradientArray((x) => evaluate(bn, { x, gamma, beta }).out, x, dout);
 */
export function evalNumericalGradientArray(f: (x: Tensor) => Tensor, x: Tensor, df: Tensor, h = 1e-5): Tensor {
  const grad = zeros(x.shape, x.dtype);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    d[i] = old + h;
    // copied, as the notebook's `f(x).copy()`: f(x) may be a view of x (a reshape), not new data
    const plus = Float64Array.from(f(x).data);
    d[i] = old - h;
    const low = f(x);
    const minus = Float64Array.from(low.data);
    const shape = low.shape;
    d[i] = old;
    if (!sameShape(shape, df.shape)) {
      throw new GradcError(`evalNumericalGradientArray: f(x) has shape ${shapeStr(shape)}, the upstream gradient df ${shapeStr(df.shape)}`);
    }
    let s = 0;
    for (let k = 0; k < df.data.length; k++) s += (plus[k] - minus[k]) * df.data[k];
    grad.data[i] = s / (2 * h);
  }
  return grad;
}

type Values = Tensor | number | ArrayLike<number>;
const flat = (v: Values): ArrayLike<number> => (v instanceof Tensor ? v.data : typeof v === "number" ? [v] : v);

/** The largest magnitude of the values (NaN if any is NaN). */
export function maxAbs(x: Values): number {
  let m = 0;
  for (const v of Array.from(flat(x))) m = Math.max(m, Math.abs(v));
  return m;
}

/** The largest absolute difference of two tensors of the same size (NaN if any is NaN). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.size !== b.size) throw new GradcError(`maxAbsDiff: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ in size`);
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/**
 * The notebook's relative error: max(|x - y| / max(1e-8, |x| + |y|)) over all elements.
 * Shapes must agree (tensors) or lengths (arrays).
 */
export function relError(x: Values, y: Values): number {
  if (x instanceof Tensor && y instanceof Tensor && !sameShape(x.shape, y.shape)) {
    throw new GradcError(`relError: shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)} differ`);
  }
  const a = flat(x),
    b = flat(y);
  if (a.length !== b.length) throw new GradcError(`relError: ${a.length} values against ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(1e-8, Math.abs(a[i]) + Math.abs(b[i]));
    // NaN must never pass a check written as `relError(...) < tol`
    if (Number.isNaN(e)) return NaN;
    worst = Math.max(worst, e);
  }
  return worst;
}

/**
 * A small seeded generator (mulberry32) for tests that want reproducible values without
 * numpy compatibility; fast-check properties draw its seed so a failure can be replayed.
 */
export const seededRandom: (seed: number) => () => number = mulberry32;

export { randomTensor } from "../../ops/samples.js";
