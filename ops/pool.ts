// Pooling. One primitive, maxPoolIndex: for each window, the flat spatial index (within its
// [N, C] plane, as a float) of its largest element. Everything else is a composite:
//   maxPool(x)  = takeAlongAxis(x over flattened space, maxPoolIndex(x)): its gradient is the
//                 scatterAdd of g to the winners, so second order and forward mode come for free;
//   avgPool(x)  = conv of every channel with a kernel of ones, divided by the window's count
//                 (its size, or with countIncludePad false the real elements in it, itself a conv
//                 of ones over ones);
//   global pools are mean and max over the spatial axes.
// Conventions (PyTorch's): a window takes the first largest element (NaN wins: it propagates);
// a window that covers only padding is an error at trace time, so max pooling never returns the
// padding's -Infinity.

import type { Attrs, Aval, OpDef, PlannedKernel } from "../core/registry.js";
import { apply, type Node } from "../core/node.js";
import { output } from "./kernels.js";
import { convAttrs, convOutputSize, three, type ConvGeometry } from "./conv-geometry.js";
import { show } from "./checks.js";
import { randomTensor } from "./samples.js";
import { convOnnx } from "./conv-onnx.js";

/** Whether a window starting at `start` (taps `dilation` apart) has a tap on one of the input's `size` real elements. */
function touchesInput(start: number, kernel: number, dilation: number, size: number): boolean {
  const k = start >= 0 ? 0 : Math.ceil(-start / dilation); // the first tap at or after 0
  return k < kernel && start + k * dilation < size;
}

/** A pooling window's geometry: the conv of one channel with a kernel of `kernel` (groups 1). */
export function poolGeometry(x: Aval, attrs: Attrs): ConvGeometry {
  const rank = x.shape.length - 2;
  if (rank < 1 || rank > 3)
    throw new Error(`the input ${show(x.shape)} must be [N, C, spatial...] with 1 to 3 spatial axes (rank 3 to 5), got rank ${x.shape.length}`);
  const a = convAttrs({ ...attrs, groups: 1 }, rank);
  const kernel = attrs.kernel;
  if (!Array.isArray(kernel) || kernel.length !== rank || !kernel.every((k) => Number.isInteger(k) && k >= 1)) {
    throw new Error(`attribute kernel must list ${rank} positive integer(s), one per spatial axis, got ${JSON.stringify(kernel)}`);
  }
  const input = x.shape.slice(2);
  const output = input.map((i, t) => {
    const span = a.dilation[t] * (kernel[t] - 1) + 1;
    const padded = i + a.padBegin[t] + a.padEnd[t];
    if (span > padded)
      throw new Error(
        `the window spans ${span} on spatial axis ${t} (kernel ${kernel[t]}, dilation ${a.dilation[t]}), more than the padded input's ${padded} (input ${show(x.shape)})`,
      );
    const o = convOutputSize(i, kernel[t], a.stride[t], a.dilation[t], a.padBegin[t], a.padEnd[t]);
    // a window starting inside the input has a real first tap; only those starting in the padding
    // are checked: the leading ones (start < 0) and, as starts only grow, the last one
    const check = (p: number) => {
      const start = p * a.stride[t] - a.padBegin[t];
      if (touchesInput(start, kernel[t], a.dilation[t], i)) return;
      throw new Error(
        `window ${p} on spatial axis ${t} covers only padding (starts at ${start}, kernel ${kernel[t]}, dilation ${a.dilation[t]}, input ${show(x.shape)}): use less padding`,
      );
    };
    for (let p = 0; p < o && p * a.stride[t] < a.padBegin[t]; p++) check(p);
    if (o > 0) check(o - 1);
    return o;
  });
  return { rank, n: x.shape[0] * x.shape[1], cig: 1, cog: 1, input, kernel: kernel as number[], output, ...a, groups: 1 };
}

/** The argmax of each window, as a flat spatial index into its plane (first of equals; NaN wins). */
function maxIndexKernel([x]: readonly { data: ArrayLike<number>; shape: readonly number[] }[], attrs: Attrs, out: Aval) {
  const c = poolGeometry({ shape: x.shape, dtype: out.dtype }, attrs);
  const { I, K, O, S, D, P } = three(c);
  const isz = I[0] * I[1] * I[2],
    osz = O[0] * O[1] * O[2];
  const r = output(out);
  const xd = x.data,
    rd = r.data;
  for (let plane = 0; plane < c.n; plane++) {
    const xb = plane * isz;
    for (let o0 = 0; o0 < O[0]; o0++)
      for (let o1 = 0; o1 < O[1]; o1++)
        for (let o2 = 0; o2 < O[2]; o2++) {
          let best = -1,
            bv = -Infinity;
          for (let k0 = 0; k0 < K[0]; k0++) {
            const i0 = o0 * S[0] - P[0] + k0 * D[0];
            if (i0 < 0 || i0 >= I[0]) continue;
            for (let k1 = 0; k1 < K[1]; k1++) {
              const i1 = o1 * S[1] - P[1] + k1 * D[1];
              if (i1 < 0 || i1 >= I[1]) continue;
              for (let k2 = 0; k2 < K[2]; k2++) {
                const i2 = o2 * S[2] - P[2] + k2 * D[2];
                if (i2 < 0 || i2 >= I[2]) continue;
                const at = (i0 * I[1] + i1) * I[2] + i2;
                const v = xd[xb + at];
                if (best < 0 || v > bv || (Number.isNaN(v) && !Number.isNaN(bv))) {
                  best = at;
                  bv = v;
                }
              }
            }
          }
          rd[plane * osz + (o0 * O[1] + o1) * O[2] + o2] = best;
        }
  }
  return r;
}

/**
 * The planned kernel: per axis and output position, the window's first real tap and its count
 * (taps are dilation apart), so the loops test no bounds; a window's taps in row-major order, as
 * the reference kernel takes them.
 */
function maxIndexPlanned(c: ConvGeometry): PlannedKernel {
  const { I, K, O, S, D, P } = three(c);
  const first = [0, 1, 2].map(() => [] as number[]);
  const count = [0, 1, 2].map(() => [] as number[]);
  for (let t = 0; t < 3; t++) {
    for (let o = 0; o < O[t]; o++) {
      const taps = Array.from({ length: K[t] }, (_, k) => o * S[t] - P[t] + k * D[t]).filter((i) => i >= 0 && i < I[t]);
      first[t].push(taps[0]);
      count[t].push(taps.length);
    }
  }
  const [f0, f1, f2] = first.map((v) => Int32Array.from(v));
  const [n0, n1, n2] = count.map((v) => Int32Array.from(v));
  const [d0, d1, d2] = D;
  const isz = I[0] * I[1] * I[2],
    row1 = I[2] * d1,
    row0 = I[1] * I[2] * d0;
  return ([xd], rd) => {
    let w = 0;
    for (let xb = 0; xb < c.n * isz; xb += isz) {
      for (let o0 = 0; o0 < O[0]; o0++)
        for (let o1 = 0; o1 < O[1]; o1++) {
          const base = (f0[o0] * I[1] + f1[o1]) * I[2];
          const c0 = n0[o0],
            c1 = n1[o1];
          for (let o2 = 0; o2 < O[2]; o2++) {
            const c2 = n2[o2];
            let best = base + f2[o2];
            let bv = xd[xb + best];
            for (let k0 = 0, r0 = base + f2[o2]; k0 < c0; k0++, r0 += row0) {
              for (let k1 = 0, r1 = r0; k1 < c1; k1++, r1 += row1) {
                for (let k2 = 0, at = r1; k2 < c2; k2++, at += d2) {
                  const v = xd[xb + at];
                  // the first largest; a NaN wins over any number (it propagates)
                  if (v > bv || (Number.isNaN(v) && !Number.isNaN(bv))) {
                    best = at;
                    bv = v;
                  }
                }
              }
            }
            rd[w++] = best;
          }
        }
    }
  };
}

export const poolOps: OpDef[] = [
  {
    name: "maxPoolIndex",
    kind: "other",
    arity: 1,
    attrs: { kernel: "ints", stride: "ints", dilation: "ints", pads: "ints" },
    shape: ([x], attrs) => ({ shape: [x.shape[0], x.shape[1], ...poolGeometry(x, attrs).output], dtype: x.dtype }),
    impl: (inputs, attrs, out) => maxIndexKernel(inputs, attrs, out),
    kernel: ([x], attrs) => maxIndexPlanned(poolGeometry(x, attrs)),
    // piecewise constant in x: an index has no gradient
    vjp: () => [null],
    jvp: () => null,
    onnx: convOnnx.maxPoolIndex,
    sample: (rand) => {
      const rank = [1, 2, 2, 3][Math.floor(rand() * 4)];
      const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
      const kernel = Array.from({ length: rank }, () => int(1, rank === 3 ? 2 : 3));
      const stride = kernel.map(() => int(1, 2));
      const dilation = kernel.map(() => int(1, 2));
      // PyTorch's limit (pad at most half the kernel) keeps every window on a real element
      const pads = [...kernel, ...kernel].map((k) => int(0, Math.floor(k / 2)));
      const input = kernel.map((k, t) => dilation[t] * (k - 1) + 1 + int(0, 3));
      return { inputs: [randomTensor(rand, [int(1, 2), int(1, 2), ...input])], attrs: { kernel, stride, dilation, pads }, wrt: [] };
    },
  },
];

export const maxPoolIndex = (x: Node, attrs: Attrs): Node => apply("maxPoolIndex", [x], attrs);
