// The notebook's checking helpers (cs231n gradient_check.py and layers.py), in TypeScript:
// numerical gradients by central differences, the relative error, and a hand-written batchnorm
// (forward and the "alt" backward) that gradc's derived gradients are measured against.
// Importable by users as "gradc/spec/helpers"; no dependency beyond gradc itself.

import { Tensor, tensor, zeros, sameShape, shapeStr, type DType, type Shape } from "../core/tensor.js";
import { GradcError } from "../core/errors.js";
import { mulberry32 } from "../core/mulberry32.js";

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
  const a = flat(x), b = flat(y);
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

/** Column means and standard deviations of a [N, D] tensor: the notebook's print_mean_std (numpy's mean/std over axis 0, ddof=0). */
export function columnStats(a: Tensor): { means: number[]; stds: number[] } {
  if (a.shape.length !== 2) throw new GradcError(`columnStats: expects a [N,D] tensor, got ${shapeStr(a.shape)}`);
  const [n, d] = a.shape;
  const means = Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a.data[i * d + j];
    return s / n;
  });
  const stds = means.map((m, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (a.data[i * d + j] - m) ** 2;
    return Math.sqrt(s / n);
  });
  return { means, stds };
}

/** What the notebook's batchnorm_forward keeps in its cache for the backward. */
export interface BatchnormCache {
  xhat: Tensor;
  /** sqrt(var + eps), one per feature. */
  std: Float64Array;
  gamma: Tensor;
}

/**
 * Train-mode batchnorm over axis 0 of x [N, D], written by hand with plain loops: the reference
 * the traced `batchnorm` composite is checked against.
 */
export function batchnormForwardRef(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): { out: Tensor; mean: Float64Array; variance: Float64Array; cache: BatchnormCache } {
  const [n, d] = checkNd("batchnormForwardRef", x, gamma, beta);
  const mean = new Float64Array(d), variance = new Float64Array(d), std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x.data[i * d + j];
    mean[j] = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x.data[i * d + j] - mean[j]) ** 2;
    variance[j] = v / n;
    std[j] = Math.sqrt(variance[j] + eps);
  }
  const xhat = zeros([n, d]), out = zeros([n, d], x.dtype);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      xhat.data[k] = (x.data[k] - mean[j]) / std[j];
      out.data[k] = gamma.data[j] * xhat.data[k] + beta.data[j];
    }
  }
  return { out, mean, variance, cache: { xhat, std, gamma } };
}

/**
 * The notebook's hand-derived `batchnorm_backward_alt`, in one sweep for the two sums and one
 * elementwise pass:
 *   dx = gamma / std / N * (N * dout - sum(dout) - xhat * sum(dout * xhat))
 *   dgamma = sum(dout * xhat), dbeta = sum(dout)          (sums over axis 0)
 */
export function batchnormBackwardAlt(dout: Tensor, cache: BatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const { xhat, std, gamma } = cache;
  const [n, d] = checkNd("batchnormBackwardAlt", dout, gamma, gamma);
  if (!sameShape(xhat.shape, dout.shape)) throw new GradcError(`batchnormBackwardAlt: xhat ${shapeStr(xhat.shape)} and dout ${shapeStr(dout.shape)} differ`);
  const dgamma = zeros([d], dout.dtype), dbeta = zeros([d], dout.dtype);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      dbeta.data[j] += dout.data[i * d + j];
      dgamma.data[j] += dout.data[i * d + j] * xhat.data[i * d + j];
    }
  }
  const dx = zeros([n, d], dout.dtype);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      dx.data[k] = (gamma.data[j] / std[j] / n) * (n * dout.data[k] - dbeta.data[j] - xhat.data[k] * dgamma.data[j]);
    }
  }
  return { dx, dgamma, dbeta };
}

function checkNd(who: string, x: Tensor, gamma: Tensor, beta: Tensor): [number, number] {
  if (x.shape.length !== 2) throw new GradcError(`${who}: expects x of shape [N,D], got ${shapeStr(x.shape)}`);
  const [n, d] = x.shape;
  for (const p of [gamma, beta]) {
    if (!sameShape(p.shape, [d])) throw new GradcError(`${who}: parameter of shape ${shapeStr(p.shape)} does not match D=${d} of x ${shapeStr(x.shape)}`);
  }
  return [n, d];
}

/**
 * A small seeded generator (mulberry32) for tests that want reproducible values without
 * numpy compatibility; fast-check properties draw its seed so a failure can be replayed.
 */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** A tensor of `shape` with values uniform in [lo, hi) drawn from `rand`. */
export function randomTensor(rand: () => number, shape: Shape, lo = -2, hi = 2, dtype: DType = "f64"): Tensor {
  const n = shape.reduce((m, s) => m * s, 1);
  return tensor(Array.from({ length: n }, () => lo + (hi - lo) * rand()), shape, dtype);
}
