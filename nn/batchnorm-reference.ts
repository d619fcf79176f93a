// The notebook's batchnorm written by hand (cs231n layers.py: batchnorm_forward and the "alt"
// backward, the closed form the notebook asks for) and its print_mean_std: the references gradc's
// traced and derived batchnorm are measured against.

import { Tensor, zeros, sameShape, shapeStr } from "../core/tensor.js";
import { GradcError } from "../core/errors.js";

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
export function batchnormForwardRef(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  eps = 1e-5,
): { out: Tensor; mean: Float64Array; variance: Float64Array; cache: BatchnormCache } {
  const [n, d] = checkNd("batchnormForwardRef", x, gamma, beta);
  const mean = new Float64Array(d),
    variance = new Float64Array(d),
    std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x.data[i * d + j];
    mean[j] = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x.data[i * d + j] - mean[j]) ** 2;
    variance[j] = v / n;
    std[j] = Math.sqrt(variance[j] + eps);
  }
  const xhat = zeros([n, d]),
    out = zeros([n, d], x.dtype);
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
  const dgamma = zeros([d], dout.dtype),
    dbeta = zeros([d], dout.dtype);
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
