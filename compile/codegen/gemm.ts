// The matrix product handed to ops' planned kernels (OpDef.kernel, e.g. convolution's im2col):
// the native kernels when the addon is loaded (every float64 size; float32 as the matmul stages
// use them), else a JavaScript loop. Each C[i,j] is summed over p in increasing order from zero.

import type { Gemm, GemmSpec } from "../../core/registry.js";
import type { Data } from "../../core/tensor.js";
import { nativeKernels } from "./native/addon.js";

/** A Gemm for compiled code: native unless `native` is false or the addon is not loaded. */
export function plannedGemm(native: boolean): Gemm {
  const nk = native ? nativeKernels() : null;
  return (s: GemmSpec) => {
    if (nk) {
      const plan = nk.plan(s.dtype === "f32", s.m, s.k, s.n, s.sa[0], s.sa[1], s.sb[0], s.sb[1], false, 1, 0, 0);
      return (a, b, c) => nk.gemm(plan, a, b, c);
    }
    return jsGemm(s);
  };
}

/**
 * i-p-j order: a row of C accumulates rows of B scaled by A's entries. A B not contiguous along
 * its rows (a transposed view) is first copied into a contiguous scratch, so the inner loop is.
 */
function jsGemm(s: GemmSpec): (a: Data, b: Data, c: Data) => void {
  const { m, k, n } = s;
  const [sa0, sa1] = s.sa;
  const packed = s.sb[1] !== 1 ? (s.dtype === "f32" ? new Float32Array(k * n) : new Float64Array(k * n)) : null;
  return (a, b, c) => {
    let rows = b,
      sb0 = s.sb[0];
    if (packed) {
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) packed[p * n + j] = b[p * s.sb[0] + j * s.sb[1]];
      rows = packed;
      sb0 = n;
    }
    c.fill(0, 0, m * n);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const av = a[i * sa0 + p * sa1];
        const bp = p * sb0;
        for (let j = 0; j < n; j++) c[ci + j] += av * rows[bp + j];
      }
    }
  };
}
