// The notebook's staged batchnorm_backward written by hand in TypeScript: the computational graph
// walked backwards one gate at a time, one fresh array per intermediate, as NumPy would run it.
// Each helper below is one NumPy expression (a whole-array loop that allocates its result).

import type { Gradients } from "./data.js";

type F64 = Float64Array;

/** a * b, both [N, D] */
const mul = (a: F64, b: F64): F64 => {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] * b[k];
  return out;
};
/** a + b, both [N, D] */
const add = (a: F64, b: F64): F64 => {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] + b[k];
  return out;
};
/** a * s, s a scalar */
const scale = (a: F64, s: number): F64 => {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] * s;
  return out;
};
/** a [N, D] * row [D], broadcast over rows */
const mulRow = (a: F64, row: F64): F64 => {
  const D = row.length;
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] * row[k % D];
  return out;
};
/** np.ones((N, D)) * row: a row [D] materialized to [N, D] */
const tile = (row: F64, N: number): F64 => {
  const D = row.length;
  const out = new Float64Array(N * D);
  for (let k = 0; k < out.length; k++) out[k] = row[k % D];
  return out;
};
/** np.sum(a, axis=0) of [N, D] */
const sum0 = (a: F64, D: number): F64 => {
  const out = new Float64Array(D);
  for (let k = 0; k < a.length; k++) out[k % D] += a[k];
  return out;
};
/** elementwise map of a [D] vector */
const map = (v: F64, f: (x: number) => number): F64 => v.map(f);

/**
 * The staged backward from the residuals (xc = x - mu, std = sqrt(var + eps), xhat = xc / std),
 * gate by gate as in the notebook (Kratzert's derivation).
 */
export function stagedBackward(dout: F64, xhat: F64, xc: F64, gamma: F64, std: F64, N: number, D: number): Gradients {
  const dbeta = sum0(dout, D);
  const dgamma = sum0(mul(dout, xhat), D);
  const dxhat = mulRow(dout, gamma);
  const ivar = map(std, (s) => 1 / s);
  const divar = sum0(mul(dxhat, xc), D);
  const dxmu1 = mulRow(dxhat, ivar);
  const dsqrtvar = divar.map((d, j) => (-1 / (std[j] * std[j])) * d);
  const dvar = dsqrtvar.map((d, j) => (0.5 / std[j]) * d);
  const dsq = scale(tile(dvar, N), 1 / N);
  const dxmu2 = mul(scale(xc, 2), dsq);
  const dx1 = add(dxmu1, dxmu2);
  const dmu = map(sum0(add(dxmu1, dxmu2), D), (s) => -s);
  const dx2 = scale(tile(dmu, N), 1 / N);
  const dx = add(dx1, dx2);
  return { dx, dgamma, dbeta };
}
