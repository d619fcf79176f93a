// The geometry shared by conv, convTranspose and convFilter: three views of one trilinear form
//
//   T(x, w, y) = sum  y[n, g*Cog + co, o] * w[g*Cog + co, ci, k] * x[n, g*Cig + ci, o*s + k*d - pb]
//
// over batch n, group g, channels co < Cog and ci < Cig, output positions o and kernel taps k (x
// read as zero outside its extent: the padding). conv contracts x and w into y, convTranspose y
// and w into x, convFilter x and y into w; each op's gradient is the other two, so the three are
// closed under differentiation. Layout NC<spatial> (ONNX's and PyTorch's), w [Cout, Cin/groups,
// k...], 1 to 3 spatial axes. Attributes: stride, dilation (per spatial axis), pads (ONNX's
// order: every axis's begin, then every axis's end), groups; convTranspose adds outputPadding,
// convFilter the kernel's spatial size.

import type { Attrs, Aval } from "../core/registry.js";
import type { Shape } from "../core/tensor.js";
import { show } from "./checks.js";

export interface ConvGeometry {
  /** Spatial axes (1 to 3). */
  rank: number;
  n: number;
  groups: number;
  /** Input and output channels per group. */
  cig: number;
  cog: number;
  /** Spatial sizes of x (input), w (kernel) and y (output). */
  input: number[];
  kernel: number[];
  output: number[];
  stride: number[];
  dilation: number[];
  padBegin: number[];
  padEnd: number[];
}

/** Output size along one axis: floor((i + pb + pe - d(k-1) - 1) / s) + 1. */
export const convOutputSize = (i: number, k: number, s: number, d: number, pb: number, pe: number): number =>
  Math.floor((i + pb + pe - d * (k - 1) - 1) / s) + 1;

/** Input size convTranspose gives along one axis (the smallest x that conv maps to o, plus outputPadding). */
export const convTransposeSize = (o: number, k: number, s: number, d: number, pb: number, pe: number, op: number): number =>
  (o - 1) * s - pb - pe + d * (k - 1) + 1 + op;

function ints(attrs: Attrs, key: string, rank: number, min: number, what: string): number[] {
  const v = attrs[key];
  if (!Array.isArray(v) || v.length !== rank || !v.every((e) => Number.isInteger(e))) {
    throw new Error(`attribute ${key} must list ${rank} integer(s), one per spatial axis, got ${JSON.stringify(v)}`);
  }
  const bad = (v as number[]).findIndex((e) => e < min);
  if (bad >= 0)
    throw new Error(`${key} ${JSON.stringify(v)}: ${what} must be ${min === 0 ? "0 or more" : `at least ${min}`} (axis ${bad} has ${(v as number[])[bad]})`);
  return v as number[];
}

/** The checked attributes common to the three ops, for `rank` spatial axes. */
export function convAttrs(attrs: Attrs, rank: number): Pick<ConvGeometry, "stride" | "dilation" | "padBegin" | "padEnd" | "groups"> {
  const stride = ints(attrs, "stride", rank, 1, "a stride");
  const dilation = ints(attrs, "dilation", rank, 1, "a dilation");
  const pads = ints(attrs, "pads", 2 * rank, 0, "padding");
  const groups = attrs.groups;
  if (!Number.isInteger(groups) || (groups as number) < 1) throw new Error(`groups must be a positive integer, got ${JSON.stringify(groups)}`);
  return { stride, dilation, padBegin: pads.slice(0, rank), padEnd: pads.slice(rank), groups: groups as number };
}

function spatialRank(x: Aval, what: string): number {
  const r = x.shape.length - 2;
  if (r < 1 || r > 3) throw new Error(`${what} ${show(x.shape)} must be [N, C, spatial...] with 1 to 3 spatial axes (rank 3 to 5), got rank ${x.shape.length}`);
  return r;
}

function sameDtype(...xs: Aval[]): void {
  if (xs.some((x) => x.dtype !== xs[0].dtype)) throw new Error(`mixed dtypes ${xs.map((x) => x.dtype).join(" and ")}: cast one operand explicitly`);
}

/** Checks the kernel fits and the output is non-empty; returns the output's spatial sizes. */
function outputOf(input: Shape, kernel: Shape, a: ReturnType<typeof convAttrs>, shapes: string): number[] {
  return input.map((i, t) => {
    const span = a.dilation[t] * (kernel[t] - 1) + 1;
    const padded = i + a.padBegin[t] + a.padEnd[t];
    if (span > padded)
      throw new Error(
        `the kernel spans ${span} on spatial axis ${t} (size ${kernel[t]}, dilation ${a.dilation[t]}), more than the padded input's ${padded} (${i} + pads ${a.padBegin[t]}, ${a.padEnd[t]}) (${shapes})`,
      );
    return convOutputSize(i, kernel[t], a.stride[t], a.dilation[t], a.padBegin[t], a.padEnd[t]);
  });
}

function channels(xc: number, wcin: number, cout: number, groups: number, shapes: string): { cig: number; cog: number } {
  if (xc % groups !== 0 || cout % groups !== 0)
    throw new Error(`channels are not divisible by groups ${groups}: ${xc} input and ${cout} output channels (${shapes})`);
  if (wcin !== xc / groups)
    throw new Error(`the weights have ${wcin} input channels per group, the input ${xc} / groups ${groups} = ${xc / groups} (${shapes})`);
  return { cig: xc / groups, cog: cout / groups };
}

/** conv(x, w): x [N, Cin, I...], w [Cout, Cin/groups, K...]. */
export function convGeometry(x: Aval, w: Aval, attrs: Attrs): ConvGeometry {
  const rank = spatialRank(x, "the input");
  const shapes = `input ${show(x.shape)}, weights ${show(w.shape)}`;
  if (w.shape.length !== x.shape.length)
    throw new Error(`the weights ${show(w.shape)} must have the input's rank ${x.shape.length} ([Cout, Cin/groups, kernel...]) (${shapes})`);
  sameDtype(x, w);
  const a = convAttrs(attrs, rank);
  const kernel = w.shape.slice(2);
  if (kernel.some((k) => k < 1)) throw new Error(`the kernel ${show(kernel)} has an empty axis (${shapes})`);
  const { cig, cog } = channels(x.shape[1], w.shape[1], w.shape[0], a.groups, shapes);
  const input = x.shape.slice(2);
  return { rank, n: x.shape[0], cig, cog, input, kernel, output: outputOf(input, kernel, a, shapes), ...a };
}

/** convTranspose(y, w): y [N, Cout, O...] (conv's output side), w [Cout, Cin/groups, K...] -> x [N, Cin, I...]. */
export function convTransposeGeometry(y: Aval, w: Aval, attrs: Attrs): ConvGeometry {
  const rank = spatialRank(y, "the input");
  const shapes = `input ${show(y.shape)}, weights ${show(w.shape)}`;
  if (w.shape.length !== y.shape.length)
    throw new Error(`the weights ${show(w.shape)} must have the input's rank ${y.shape.length} ([Cin, Cout/groups, kernel...]) (${shapes})`);
  sameDtype(y, w);
  const a = convAttrs(attrs, rank);
  const op = ints(attrs, "outputPadding", rank, 0, "output padding");
  const bad = op.findIndex((p, t) => p >= Math.max(a.stride[t], a.dilation[t]));
  if (bad >= 0)
    throw new Error(
      `outputPadding ${JSON.stringify(op)} must be below the stride or the dilation on each axis (axis ${bad}: ${op[bad]}, stride ${a.stride[bad]}, dilation ${a.dilation[bad]}) (${shapes})`,
    );
  const kernel = w.shape.slice(2);
  if (kernel.some((k) => k < 1)) throw new Error(`the kernel ${show(kernel)} has an empty axis (${shapes})`);
  if (y.shape[1] !== w.shape[0]) throw new Error(`the input has ${y.shape[1]} channels, the weights' first axis ${w.shape[0]} (${shapes})`);
  if (y.shape[1] % a.groups !== 0) throw new Error(`channels are not divisible by groups ${a.groups}: ${y.shape[1]} input channels (${shapes})`);
  const output = y.shape.slice(2);
  const input = output.map((o, t) => convTransposeSize(o, kernel[t], a.stride[t], a.dilation[t], a.padBegin[t], a.padEnd[t], op[t]));
  const small = input.findIndex((i) => i < 1);
  if (small >= 0)
    throw new Error(
      `the output would have size ${input[small]} on spatial axis ${small}: the pads ${a.padBegin[small]}, ${a.padEnd[small]} remove more than the ${input[small] + a.padBegin[small] + a.padEnd[small]} positions the kernel covers (${shapes})`,
    );
  return { rank, n: y.shape[0], cig: w.shape[1], cog: y.shape[1] / a.groups, input, kernel, output, ...a };
}

/** convFilter(x, y): the weights' cotangent from x [N, Cin, I...] and y [N, Cout, O...]; kernel from attrs. */
export function convFilterGeometry(x: Aval, y: Aval, attrs: Attrs): ConvGeometry {
  const rank = spatialRank(x, "the input");
  const shapes = `input ${show(x.shape)}, output-side ${show(y.shape)}`;
  if (y.shape.length !== x.shape.length) throw new Error(`ranks differ (${shapes})`);
  sameDtype(x, y);
  const a = convAttrs(attrs, rank);
  const kernel = ints(attrs, "kernel", rank, 1, "a kernel size");
  if (x.shape[0] !== y.shape[0]) throw new Error(`batch sizes differ (${shapes})`);
  if (x.shape[1] % a.groups !== 0 || y.shape[1] % a.groups !== 0) throw new Error(`channels are not divisible by groups ${a.groups} (${shapes})`);
  const input = x.shape.slice(2);
  const output = outputOf(input, kernel, a, shapes);
  if (output.some((o, t) => o !== y.shape[2 + t]))
    throw new Error(`a kernel ${show(kernel)} over ${show(input)} gives ${show(output)}, not the output side's ${show(y.shape.slice(2))} (${shapes})`);
  return { rank, n: x.shape[0], cig: x.shape[1] / a.groups, cog: y.shape[1] / a.groups, input, kernel, output, ...a };
}

/** Shapes of the three operands. */
export const xShapeOf = (c: ConvGeometry): number[] => [c.n, c.cig * c.groups, ...c.input];
export const wShapeOf = (c: ConvGeometry): number[] => [c.cog * c.groups, c.cig, ...c.kernel];
export const yShapeOf = (c: ConvGeometry): number[] => [c.n, c.cog * c.groups, ...c.output];

/** Spatial lists padded to 3 axes (size 1, stride 1, no padding) so kernels loop over three. */
export function three(c: ConvGeometry): { I: number[]; K: number[]; O: number[]; S: number[]; D: number[]; P: number[] } {
  const pad = (v: number[], fill: number) => [...new Array(3 - c.rank).fill(fill), ...v];
  return { I: pad(c.input, 1), K: pad(c.kernel, 1), O: pad(c.output, 1), S: pad(c.stride, 1), D: pad(c.dilation, 1), P: pad(c.padBegin, 0) };
}

/**
 * For each tap: the offsets into x (-1 where the tap reads padding), w and y, row-major. The
 * reference kernels' loop. Padding taps are visited too: the padding is zeros that take part in
 * the products (0 * NaN is NaN), as in im2col, ONNX and PyTorch.
 */
export function forEachTap(c: ConvGeometry, fn: (xo: number, wo: number, yo: number) => void): void {
  const { I, K, O, S, D, P } = three(c);
  const isz = I[0] * I[1] * I[2],
    ksz = K[0] * K[1] * K[2],
    osz = O[0] * O[1] * O[2];
  const cin = c.cig * c.groups,
    cout = c.cog * c.groups;
  const inside = (i: number, n: number) => i >= 0 && i < n;
  for (let n = 0; n < c.n; n++) {
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / c.cog);
      const yBase = (n * cout + co) * osz;
      for (let ci = 0; ci < c.cig; ci++) {
        const xBase = (n * cin + g * c.cig + ci) * isz;
        const wBase = (co * c.cig + ci) * ksz;
        for (let o0 = 0; o0 < O[0]; o0++)
          for (let o1 = 0; o1 < O[1]; o1++)
            for (let o2 = 0; o2 < O[2]; o2++) {
              const yo = yBase + (o0 * O[1] + o1) * O[2] + o2;
              for (let k0 = 0; k0 < K[0]; k0++) {
                const i0 = o0 * S[0] - P[0] + k0 * D[0];
                for (let k1 = 0; k1 < K[1]; k1++) {
                  const i1 = o1 * S[1] - P[1] + k1 * D[1];
                  for (let k2 = 0; k2 < K[2]; k2++) {
                    const i2 = o2 * S[2] - P[2] + k2 * D[2];
                    const real = inside(i0, I[0]) && inside(i1, I[1]) && inside(i2, I[2]);
                    fn(real ? xBase + (i0 * I[1] + i1) * I[2] + i2 : -1, wBase + (k0 * K[1] + k1) * K[2] + k2, yo);
                  }
                }
              }
            }
      }
    }
  }
}
