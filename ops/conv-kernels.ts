// Planned kernels of the three convolution views, for compiled code: im2col and one matrix
// product per group, through the compiler's GEMM (native or JavaScript, compile/codegen/gemm.ts).
//
// Columns are laid out [Cig*K][N][O] (a row per input channel and tap, every image side by side),
// so each group is ONE product over the whole batch:
//   conv:          Yc[Cog, N*O]    = W_g[Cog, Cig*K]  @ cols[Cig*K, N*O]     then Yc -> y [N, Cout, O]
//   convTranspose: cols[Cig*K, N*O] = W_g^T            @ Yc[Cog, N*O]        then col2im adds into x
//   convFilter:    dW_g[Cog, Cig*K] = Yc[Cog, N*O]     @ cols^T              (a strided view: no copy)
// Yc is y with its channels first ([Cout][N][O]): one copy of y's size, small beside the product.
// Scratch buffers are allocated once, when the kernel is planned.

import type { DType, Data } from "../core/tensor.js";
import type { Gemm, PlannedKernel } from "../core/registry.js";
import { three, type ConvGeometry } from "./conv-geometry.js";

interface Plan {
  c: ConvGeometry;
  I: number[];
  K: number[];
  O: number[];
  S: number[];
  D: number[];
  P: number[];
  isz: number;
  ksz: number;
  osz: number;
  /** Rows of the column matrix per group (Cig * taps) and its width (N * O). */
  rows: number;
  width: number;
  /** Per tap, the runs of real positions (tapRuns). */
  runs: Int32Array[];
}

function planOf(c: ConvGeometry): Plan {
  const t = three(c);
  const prod = (v: number[]) => v[0] * v[1] * v[2];
  const ksz = prod(t.K),
    osz = prod(t.O);
  const p: Plan = { c, ...t, isz: prod(t.I), ksz, osz, rows: c.cig * ksz, width: c.n * osz, runs: [] };
  p.runs = tapRuns(p);
  return p;
}

const alloc = (n: number, dtype: DType): Data => (dtype === "f32" ? new Float32Array(n) : new Float64Array(n));

/** The range of o with 0 <= o*s - p + k*d < size: [lo, hi). */
function validRange(count: number, s: number, p: number, kd: number, size: number): [number, number] {
  const lo = Math.max(0, Math.ceil((p - kd) / s));
  const hi = Math.min(count, Math.ceil((size + p - kd) / s));
  return [lo, Math.max(lo, hi)];
}

/**
 * Per kernel tap, the runs of real input positions along the last axis for one image and one
 * input channel, as triples (offset in the column row, offset in the x plane, length); the step
 * along x is the last axis's stride. Padding positions are in no run: the column matrix keeps the
 * zeros it was allocated with there (its real positions are the same at every call and group).
 */
function tapRuns(p: Plan): Int32Array[] {
  const { I, K, O, S, D, P } = p;
  const runs: Int32Array[] = [];
  for (let k0 = 0; k0 < K[0]; k0++)
    for (let k1 = 0; k1 < K[1]; k1++)
      for (let k2 = 0; k2 < K[2]; k2++) {
        const [lo2, hi2] = validRange(O[2], S[2], P[2], k2 * D[2], I[2]);
        const list: number[] = [];
        for (let o0 = 0; o0 < O[0]; o0++) {
          const i0 = o0 * S[0] - P[0] + k0 * D[0];
          for (let o1 = 0; o1 < O[1] && hi2 > lo2; o1++) {
            const i1 = o1 * S[1] - P[1] + k1 * D[1];
            if (i0 < 0 || i0 >= I[0] || i1 < 0 || i1 >= I[1]) continue;
            list.push((o0 * O[1] + o1) * O[2] + lo2, (i0 * I[1] + i1) * I[2] + lo2 * S[2] - P[2] + k2 * D[2], hi2 - lo2);
          }
        }
        runs.push(Int32Array.from(list));
      }
  return runs;
}

/**
 * Walk the column matrix of group g: for each row (ci, tap) and image, call
 * visit(runs, colBase, xBase) with that tap's runs and the row's and plane's base offsets.
 */
function eachRow(p: Plan, g: number, visit: (runs: Int32Array, col: number, x: number) => void): void {
  const { c, isz, osz, runs } = p;
  const cin = c.cig * c.groups;
  for (let ci = 0; ci < c.cig; ci++) {
    for (let tap = 0; tap < p.ksz; tap++) {
      const row = ci * p.ksz + tap;
      for (let n = 0; n < c.n; n++) visit(runs[tap], (row * c.n + n) * osz, (n * cin + g * c.cig + ci) * isz);
    }
  }
}

/** x -> the column matrix of group g (its padding positions hold zeros from the start). */
function im2col(p: Plan, g: number, x: Data, cols: Data): void {
  const step = p.S[2];
  eachRow(p, g, (runs, cb, xb) => {
    for (let q = 0; q < runs.length; q += 3) {
      let c0 = cb + runs[q],
        x0 = xb + runs[q + 1];
      const end = c0 + runs[q + 2];
      if (step === 1) {
        for (; c0 + 3 < end; c0 += 4, x0 += 4) {
          cols[c0] = x[x0];
          cols[c0 + 1] = x[x0 + 1];
          cols[c0 + 2] = x[x0 + 2];
          cols[c0 + 3] = x[x0 + 3];
        }
      }
      for (; c0 < end; c0++, x0 += step) cols[c0] = x[x0];
    }
  });
}

/** The column matrix of group g added into x (padding dropped). */
function col2im(p: Plan, g: number, cols: Data, x: Data): void {
  const step = p.S[2];
  eachRow(p, g, (runs, cb, xb) => {
    for (let q = 0; q < runs.length; q += 3) {
      let c0 = cb + runs[q],
        x0 = xb + runs[q + 1];
      const end = c0 + runs[q + 2];
      for (; c0 < end; c0++, x0 += step) x[x0] += cols[c0];
    }
  });
}

/** y [N, C, O] <-> Yc [C, N, O]. */
function channelsFirst(p: Plan, y: Data, yc: Data): void {
  const { c, osz } = p;
  const cout = c.cog * c.groups;
  for (let n = 0; n < c.n; n++) for (let ch = 0; ch < cout; ch++) yc.set(y.subarray((n * cout + ch) * osz, (n * cout + ch + 1) * osz), (ch * c.n + n) * osz);
}
function channelsLast(p: Plan, yc: Data, y: Data): void {
  const { c, osz } = p;
  const cout = c.cog * c.groups;
  for (let n = 0; n < c.n; n++) for (let ch = 0; ch < cout; ch++) y.set(yc.subarray((ch * c.n + n) * osz, (ch * c.n + n + 1) * osz), (n * cout + ch) * osz);
}

export function convKernel(c: ConvGeometry, dtype: DType, gemm: Gemm): PlannedKernel {
  const p = planOf(c);
  const cols = alloc(p.rows * p.width, dtype);
  const yc = alloc(c.cog * c.groups * p.width, dtype);
  const mm = gemm({ dtype, m: c.cog, k: p.rows, n: p.width, sa: [p.rows, 1], sb: [p.width, 1] });
  const wGroup = c.cog * p.rows,
    yGroup = c.cog * p.width;
  return ([x, w], y) => {
    for (let g = 0; g < c.groups; g++) {
      im2col(p, g, x, cols);
      mm(w.subarray(g * wGroup, (g + 1) * wGroup), cols, yc.subarray(g * yGroup, (g + 1) * yGroup));
    }
    channelsLast(p, yc, y);
  };
}

export function convTransposeKernel(c: ConvGeometry, dtype: DType, gemm: Gemm): PlannedKernel {
  const p = planOf(c);
  const cols = alloc(p.rows * p.width, dtype);
  const yc = alloc(c.cog * c.groups * p.width, dtype);
  // A = W_g^T: element (row, co) at co * rows + row
  const mm = gemm({ dtype, m: p.rows, k: c.cog, n: p.width, sa: [1, p.rows], sb: [p.width, 1] });
  const wGroup = c.cog * p.rows,
    yGroup = c.cog * p.width;
  return ([y, w], x) => {
    channelsFirst(p, y, yc);
    x.fill(0);
    for (let g = 0; g < c.groups; g++) {
      mm(w.subarray(g * wGroup, (g + 1) * wGroup), yc.subarray(g * yGroup, (g + 1) * yGroup), cols);
      col2im(p, g, cols, x);
    }
  };
}

export function convFilterKernel(c: ConvGeometry, dtype: DType, gemm: Gemm): PlannedKernel {
  const p = planOf(c);
  const cols = alloc(p.rows * p.width, dtype);
  const yc = alloc(c.cog * c.groups * p.width, dtype);
  const wGroup = c.cog * p.rows,
    yGroup = c.cog * p.width;
  // the longer of the two sides as the product's rows (measured: [32, 147] is 2.5x slower than its transpose)
  const transposed = p.rows > c.cog;
  // dW_g = Yc @ cols^T, or dW_g^T = cols @ Yc^T into a scratch that is then transposed
  const mm = transposed
    ? gemm({ dtype, m: p.rows, k: p.width, n: c.cog, sa: [p.width, 1], sb: [1, p.width] })
    : gemm({ dtype, m: c.cog, k: p.width, n: p.rows, sa: [p.width, 1], sb: [1, p.width] });
  const wt = alloc(transposed ? wGroup : 0, dtype);
  return ([x, y], w) => {
    channelsFirst(p, y, yc);
    for (let g = 0; g < c.groups; g++) {
      im2col(p, g, x, cols);
      const dy = yc.subarray(g * yGroup, (g + 1) * yGroup),
        dw = w.subarray(g * wGroup, (g + 1) * wGroup);
      if (!transposed) mm(dy, cols, dw);
      else {
        mm(cols, dy, wt);
        for (let r = 0; r < p.rows; r++) for (let co = 0; co < c.cog; co++) dw[co * p.rows + r] = wt[r * c.cog + co];
      }
    }
  };
}
