// The notebook's batchnorm_backward_alt written by hand in TypeScript, twice: as people write it
// (an ordinary function of the arrays and N, D that returns fresh outputs), and the way a code
// generator would emit it (a closure made once over fixed buffers, with N and D baked in as
// constants, which lets V8 drop bounds checks and hoist index arithmetic).
//
//   dbeta  = sum(dout, 0)
//   dgamma = sum(dout * xhat, 0)
//   dx     = gamma / std / N * (N * dout - dbeta - xhat * dgamma)
//
// Two sweeps over the [N, D] data: one reads dout and xhat to reduce, one reads them again and
// writes dx.

import type { Gradients } from "./data.js";

type F64 = Float64Array;

/** The ordinary function: arrays and sizes in, fresh gradients out. */
export function altBackward(dout: F64, xhat: F64, gamma: F64, std: F64, N: number, D: number): Gradients {
  const dbeta = new Float64Array(D);
  const dgamma = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      const k = i * D + j;
      dbeta[j] += dout[k];
      dgamma[j] += dout[k] * xhat[k];
    }
  }
  const scale = new Float64Array(D);
  for (let j = 0; j < D; j++) scale[j] = gamma[j] / std[j] / N;
  const dx = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      const k = i * D + j;
      dx[k] = scale[j] * (N * dout[k] - dbeta[j] - xhat[k] * dgamma[j]);
    }
  }
  return { dx, dgamma, dbeta };
}

/** Inputs and outputs of the specialized kernel, allocated once by the caller. */
export interface AltBuffers {
  dout: F64;
  xhat: F64;
  gamma: F64;
  std: F64;
  dx: F64;
  dgamma: F64;
  dbeta: F64;
}

const checkSize = (what: string, n: number) => {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bench/alt: ${what} must be a positive integer, got ${n}`);
};

/**
 * The hand-specialized kernel: `new Function` over a source with N and D as number literals,
 * called once to close over the buffers; the returned function takes no arguments.
 */
export function specializeAlt(N: number, D: number, buf: AltBuffers): () => void {
  checkSize("N", N);
  checkSize("D", D);
  const source = `
const scale = new Float64Array(${D});
return function altSpecialized() {
  for (let j = 0; j < ${D}; j++) { dbeta[j] = 0; dgamma[j] = 0; }
  for (let i = 0; i < ${N}; i++) {
    const row = i * ${D};
    for (let j = 0; j < ${D}; j++) {
      const d = dout[row + j];
      dbeta[j] += d;
      dgamma[j] += d * xhat[row + j];
    }
  }
  for (let j = 0; j < ${D}; j++) scale[j] = gamma[j] / std[j] / ${N};
  for (let i = 0; i < ${N}; i++) {
    const row = i * ${D};
    for (let j = 0; j < ${D}; j++) {
      dx[row + j] = scale[j] * (${N} * dout[row + j] - dbeta[j] - xhat[row + j] * dgamma[j]);
    }
  }
};`;
  const make = new Function("dout", "xhat", "gamma", "std", "dx", "dgamma", "dbeta", source);
  return make(buf.dout, buf.xhat, buf.gamma, buf.std, buf.dx, buf.dgamma, buf.dbeta) as () => void;
}
