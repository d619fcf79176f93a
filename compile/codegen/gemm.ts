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

/** i-p-j order: a row of C accumulates rows of B scaled by A's entries (contiguous inner loop when B's rows are). */
function jsGemm(s: GemmSpec): (a: Data, b: Data, c: Data) => void {
  const { m, k, n } = s;
  const [sa0, sa1] = s.sa, [sb0, sb1] = s.sb;
  return (a, b, c) => {
    c.fill(0, 0, m * n);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const av = a[i * sa0 + p * sa1];
        const bp = p * sb0;
        for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j * sb1];
      }
    }
  };
}
