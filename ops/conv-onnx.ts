// ONNX lowerings of the convolution and pooling primitives (their records' `onnx` in ops/conv.ts, ops/pool.ts).
//
// float32: Conv, ConvTranspose and MaxPool, as a user's exported net should read; convFilter is a
// Conv with the batch as channels (stride and dilation swapped). float64: ONNX Runtime's CPU Conv
// and ConvTranspose take float only, so a float64 conv is written exactly, tap by tap: the padded
// input sliced at each kernel offset (strided), multiplied by that tap's weights (MatMul over the
// group's channels) and summed; convTranspose places each tap's product back with a strided
// zero-fill (the pad lowering's). maxPoolIndex is MaxPool's Indices output (double included).

import type { Attrs, Aval, OnnxEmitter, OnnxLowering } from "../core/registry.js";
import { padInto } from "./indexing-onnx.js";

const prod = (v: readonly number[]) => v.reduce((p, s) => p * s, 1);

/** Every kernel tap as a multi-index, row-major. */
function taps(kernel: readonly number[]): number[][] {
  const out: number[][] = [[]];
  for (const k of kernel) out.splice(0, out.length, ...out.flatMap((t) => Array.from({ length: k }, (_, j) => [...t, j])));
  return out;
}

const spatialAxes = (r: number) => Array.from({ length: r }, (_, t) => 2 + t);

/** Conv's attributes in ONNX's names. */
const convAttrs = (a: Attrs, kernel: readonly number[]) => ({
  kernel_shape: [...kernel],
  strides: a.stride as number[],
  pads: a.pads as number[],
  dilations: a.dilation as number[],
  group: a.groups as number,
});

interface Geo {
  r: number;
  G: number;
  cig: number;
  cog: number;
  kernel: number[];
  input: number[];
  output: number[];
}

/** x [N, G*Cig, I], w [G*Cog, Cig, K], y [N, G*Cog, O] from the operands and the result. */
function geo(x: Aval, w: Aval, y: Aval, a: Attrs): Geo {
  const G = a.groups as number;
  return { r: x.shape.length - 2, G, cig: w.shape[1], cog: w.shape[0] / G, kernel: w.shape.slice(2), input: x.shape.slice(2), output: y.shape.slice(2) };
}

/** The padded input sliced at one tap: [N, G, Cig, prod(O)]. */
function tapSlice(e: OnnxEmitter, xp: string, c: Geo, a: Attrs, tap: readonly number[]): string {
  const s = a.stride as number[],
    d = a.dilation as number[];
  const start = tap.map((k, t) => k * d[t]);
  const stop = start.map((b, t) => b + s[t] * (c.output[t] - 1) + 1);
  const cut = e.node("Slice", [xp, e.ints(start), e.ints(stop), e.ints(spatialAxes(c.r)), e.ints(s)]);
  return e.node("Reshape", [cut, e.ints([0, c.G, c.cig, prod(c.output)])]);
}

/** One tap's weights: [G, Cog, Cig]. */
function tapWeights(e: OnnxEmitter, w: string, c: Geo, tap: readonly number[]): string {
  const cut = e.node("Slice", [w, e.ints(tap), e.ints(tap.map((k) => k + 1)), e.ints(spatialAxes(c.r))]);
  return e.node("Reshape", [cut, e.ints([c.G, c.cog, c.cig])]);
}

const padded = (e: OnnxEmitter, x: string, a: Attrs, r: number) => {
  const p = a.pads as number[];
  return e.node("Pad", [x, e.ints([0, 0, ...p.slice(0, r), 0, 0, ...p.slice(r)])]);
};

const conv: OnnxLowering = (e, [x, w], a, out, [xa, wa]) => {
  if (out.dtype === "f32") return e.node("Conv", [x, w], convAttrs(a, wa.shape.slice(2)));
  const c = geo(xa, wa, out, a);
  const xp = padded(e, x, a, c.r);
  const parts = taps(c.kernel).map((t) => e.node("MatMul", [tapWeights(e, w, c, t), tapSlice(e, xp, c, a, t)]));
  const sum = parts.length === 1 ? parts[0] : e.node("Sum", parts);
  return e.node("Reshape", [sum, e.ints([0, c.G * c.cog, ...c.output])]);
};

const convTranspose: OnnxLowering = (e, [y, w], a, out, [ya, wa]) => {
  const kernel = wa.shape.slice(2);
  if (out.dtype === "f32") return e.node("ConvTranspose", [y, w], { ...convAttrs(a, kernel), output_padding: a.outputPadding as number[] });
  const c = geo(out, wa, ya, a);
  const p = a.pads as number[],
    s = a.stride as number[],
    d = a.dilation as number[];
  const full = [ya.shape[0], c.G * c.cig, ...c.input.map((i, t) => i + p[t] + p[c.r + t])];
  const yr = e.node("Reshape", [y, e.ints([0, c.G, c.cog, prod(c.output)])]);
  const parts = taps(c.kernel).map((tap) => {
    const wt = e.node("Transpose", [tapWeights(e, w, c, tap)], { perm: [0, 2, 1] });
    const t = e.node("Reshape", [e.node("MatMul", [wt, yr]), e.ints([0, c.G * c.cig, ...c.output])]);
    return padInto(
      e,
      t,
      { shape: full, start: [0, 0, ...tap.map((k, i) => k * d[i])], step: [1, 1, ...s] },
      [ya.shape[0], c.G * c.cig, ...c.output],
      out.dtype,
    );
  });
  const sum = parts.length === 1 ? parts[0] : e.node("Sum", parts);
  return e.node("Slice", [sum, e.ints(p.slice(0, c.r)), e.ints(c.input.map((i, t) => p[t] + i)), e.ints(spatialAxes(c.r))]);
};

/**
 * convFilter. float32: a Conv with the batch as channels, stride and dilation swapped, groups kept
 * as the conv's groups: x [N, G*Cig, I] -> [Cig, G*N, I], y [N, G*Cog, O] -> [G*Cog, N, O]; the
 * result [Cig, G*Cog, K'] (K' >= K) cut to K and transposed to [G*Cog, Cig, K]. float64: per tap,
 * y @ slice^T summed over the batch, taps stacked on a last axis.
 */
const convFilter: OnnxLowering = (e, [x, y], a, out, [xa, ya]) => {
  const c = geo(xa, out, ya, a);
  const { r, G, cig, cog, kernel } = c;
  const sp = spatialAxes(r).map((t) => t + 1);
  if (out.dtype === "f32") {
    const shaped = (v: string, head: number[], sizes: readonly number[]) => e.node("Reshape", [v, e.ints([...head, ...sizes])]);
    const xt = e.node("Transpose", [shaped(x, [0, G, cig], c.input)], { perm: [2, 1, 0, ...sp] });
    const yt = e.node("Transpose", [shaped(y, [0, G, cog], c.output)], { perm: [1, 2, 0, ...sp] });
    const full = e.node("Conv", [shaped(xt, [cig, -1], c.input), shaped(yt, [G * cog, -1], c.output)], {
      strides: a.dilation as number[],
      dilations: a.stride as number[],
      pads: a.pads as number[],
      group: G,
    });
    const cut = e.node("Slice", [full, e.ints(kernel.map(() => 0)), e.ints(kernel), e.ints(spatialAxes(r))]);
    return e.node("Transpose", [cut], { perm: [1, 0, ...spatialAxes(r)] });
  }
  const xp = padded(e, x, a, r);
  const yr = e.node("Reshape", [y, e.ints([0, G, cog, prod(c.output)])]);
  const parts = taps(kernel).map((t) => {
    const st = e.node("Transpose", [tapSlice(e, xp, c, a, t)], { perm: [0, 1, 3, 2] });
    const summed = e.node("ReduceSum", [e.node("MatMul", [yr, st]), e.ints([0])], { keepdims: 0 });
    return e.node("Unsqueeze", [summed, e.ints([3])]);
  });
  const stacked = parts.length === 1 ? parts[0] : e.node("Concat", parts, { axis: 3 });
  return e.node("Reshape", [stacked, e.ints([G * cog, cig, ...kernel])]);
};

/** MaxPool's Indices count over the whole NC<spatial> tensor: the remainder by the plane's size is the spatial index. */
const maxPoolIndex: OnnxLowering = (e, [x], a, out, [xa]) => {
  const [, indices] = e.multiNode(
    "MaxPool",
    [x],
    { kernel_shape: a.kernel as number[], strides: a.stride as number[], pads: a.pads as number[], dilations: a.dilation as number[] },
    2,
  );
  return e.node("Cast", [e.node("Mod", [indices, e.ints([prod(xa.shape.slice(2))])])], { to: e.type(out.dtype) });
};

/** Each record's `onnx` (ops/conv.ts, ops/pool.ts). */
export const convOnnx = { conv, convTranspose, convFilter, maxPoolIndex } as const;
