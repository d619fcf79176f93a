// The benchmark's data: the same seeded batch for every implementation, in this process and in
// the child processes that run the outside references (they regenerate it from the seed rather
// than receive 32 MB over IPC). Plain typed arrays; the one gradc import (the generator) imports nothing, so a child
// loads nothing else.

import { mulberry32 } from "../core/mulberry32.js";

/** Forward inputs and the cotangent, row-major [N, D] or [D], float64. */
export interface Batch {
  N: number;
  D: number;
  x: Float64Array;
  gamma: Float64Array;
  beta: Float64Array;
  dout: Float64Array;
}

export const EPS = 1e-5;

function normals(n: number, next: () => number, scale = 1, shift = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    // Box-Muller; 1 - u keeps log away from 0
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const t = 2 * Math.PI * next();
    out[i] = shift + scale * r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = shift + scale * r * Math.sin(t);
  }
  return out;
}

/** The notebook's test batch: x ~ 5 randn + 12, gamma, beta and dout ~ randn. */
export function makeBatch(N: number, D: number, seed = 231): Batch {
  const next = mulberry32(seed ^ (N * 7919) ^ (D * 104729));
  return { N, D, x: normals(N * D, next, 5, 12), gamma: normals(D, next), beta: normals(D, next), dout: normals(N * D, next) };
}

export interface Gradients {
  dx: Float64Array | Float32Array;
  dgamma: Float64Array | Float32Array;
  dbeta: Float64Array | Float32Array;
}

/**
 * Reference gradients computed directly in float64 (hand-written forward, then the closed form),
 * used by the child processes to check what they measured. The parent checks against its own
 * alt kernel on gradc's residuals instead.
 */
export function referenceGradients({ N, D, x, gamma, dout }: Batch): Gradients {
  const mean = new Float64Array(D);
  const vr = new Float64Array(D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) mean[j] += x[i * D + j];
  for (let j = 0; j < D; j++) mean[j] /= N;
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) vr[j] += (x[i * D + j] - mean[j]) ** 2;
  const std = vr.map((v) => Math.sqrt(v / N + EPS));
  const xhat = x.map((v, k) => (v - mean[k % D]) / std[k % D]);
  const dgamma = new Float64Array(D);
  const dbeta = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      dbeta[j] += dout[i * D + j];
      dgamma[j] += dout[i * D + j] * xhat[i * D + j];
    }
  }
  const dx = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      const k = i * D + j;
      dx[k] = (gamma[j] / std[j] / N) * (N * dout[k] - dbeta[j] - xhat[k] * dgamma[j]);
    }
  }
  return { dx, dgamma, dbeta };
}

/** Largest absolute difference scaled by the reference's largest magnitude, over all outputs. */
export function relativeError(got: Gradients, want: Gradients): number {
  let worst = 0;
  for (const k of ["dx", "dgamma", "dbeta"] as const) {
    const a = got[k];
    const b = want[k];
    if (a.length !== b.length) return Infinity;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < b.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    const e = diff / (scale || 1);
    worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
  }
  return worst;
}
