// The user-facing builders of convolution and pooling, PyTorch's options in one record:
//
//   conv(x, w, { stride: 2, padding: "same", dilation: 1, groups: 1, bias })
//   convTranspose(x, w, { stride: 2, padding: 1, outputPadding: 1 })     // w [Cin, Cout/groups, k...]
//   maxPool(x, { kernel: 2 })  avgPool(x, { kernel: 3, stride: 1, padding: 1, countIncludePad: false })
//   globalAvgPool(x)  globalMaxPool(x)
//
// A number applies to every spatial axis; a list gives one per axis. padding: a number or a list
// (both sides alike), a list of [begin, end] pairs, "valid" (none) or "same" (output size
// ceil(input / stride); the odd extra on the end side, as TensorFlow and ONNX's SAME_UPPER).

import * as b from "../core/builder.js";
import { GradcError } from "../core/errors.js";
import { apply, describe, Node, scope } from "../core/node.js";
import { shapeStr } from "../core/tensor.js";
import { maxPoolIndex, poolGeometry } from "./pool.js";

export type Spatial = number | readonly number[];
export type Padding = Spatial | readonly (readonly [number, number])[] | "same" | "valid";

export interface ConvOptions {
  stride?: Spatial;
  padding?: Padding;
  dilation?: Spatial;
  groups?: number;
  /** Added per output channel ([Cout]). */
  bias?: Node;
}
export interface ConvTransposeOptions extends Omit<ConvOptions, "padding"> {
  padding?: Spatial | readonly (readonly [number, number])[];
  outputPadding?: Spatial;
}
export interface PoolOptions {
  kernel: Spatial;
  /** Default: the kernel (non-overlapping windows). */
  stride?: Spatial;
  padding?: Padding;
  dilation?: Spatial;
  /** avgPool: divide by the whole window (true, PyTorch's default) or by its real elements. */
  countIncludePad?: boolean;
  /**
   * Output sizes rounded up (PyTorch's ceil_mode, ONNX's ceil_mode): a last, partial window is
   * kept when it starts inside the input or the begin padding. Its overhang is padding that is
   * never counted (not even with countIncludePad).
   */
  ceilMode?: boolean;
}

function operand(op: string, x: unknown, what: string): Node {
  if (!(x instanceof Node)) throw new GradcError(`${op}: ${what} must be a graph node, got ${x === null ? "null" : typeof x}`);
  if (x.rank < 3 || x.rank > 5)
    throw new GradcError(
      `${op}: ${what} ${shapeStr(x.shape)} must be [N, C, spatial...] with 1 to 3 spatial axes (rank 3 to 5)\n  at ${describe(op, [x], {})}`,
    );
  return x;
}

function spatial(op: string, v: Spatial | undefined, rank: number, fallback: number, key: string, x: Node): number[] {
  if (v === undefined) return new Array(rank).fill(fallback);
  const list = typeof v === "number" ? new Array(rank).fill(v) : [...v];
  if (list.length !== rank || !list.every(Number.isInteger)) {
    throw new GradcError(
      `${op}: ${key} must be an integer or ${rank} integers (one per spatial axis), got ${JSON.stringify(v)}\n  at ${describe(op, [x], {})}`,
    );
  }
  return list;
}

/** Explicit pads in ONNX's order (begins, then ends). */
function pads(op: string, p: Padding | undefined, x: Node, kernel: number[], stride: number[], dilation: number[]): number[] {
  const rank = kernel.length;
  if (p === undefined || p === "valid") return new Array(2 * rank).fill(0);
  if (p === "same") {
    const input = x.shape.slice(2);
    const total = input.map((i, t) => Math.max(0, (Math.ceil(i / stride[t]) - 1) * stride[t] + dilation[t] * (kernel[t] - 1) + 1 - i));
    return [...total.map((s) => Math.floor(s / 2)), ...total.map((s) => s - Math.floor(s / 2))];
  }
  if (Array.isArray(p) && p.length === rank && p.every((e) => Array.isArray(e))) {
    const pairs = p as readonly (readonly number[])[];
    if (!pairs.every((e) => e.length === 2))
      throw new GradcError(`${op}: padding pairs must be [begin, end], got ${JSON.stringify(p)}\n  at ${describe(op, [x], {})}`);
    return [...pairs.map((e) => e[0]), ...pairs.map((e) => e[1])];
  }
  if (typeof p === "string")
    throw new GradcError(
      `${op}: padding must be a number, a list, [begin, end] pairs, "same" or "valid", got ${JSON.stringify(p)}\n  at ${describe(op, [x], {})}`,
    );
  const both = spatial(op, p as Spatial, rank, 0, "padding", x);
  return [...both, ...both];
}

/** Convolution (cross-correlation, as PyTorch's and ONNX's Conv): x [N, Cin, ...], w [Cout, Cin/groups, k...]. */
export function conv(x: Node, w: Node, opts: ConvOptions = {}): Node {
  operand("conv", x, "the input");
  if (!(w instanceof Node)) throw new GradcError(`conv: the weights must be a graph node, got ${typeof w}`);
  const rank = x.rank - 2;
  const kernel = w.shape.slice(2);
  const stride = spatial("conv", opts.stride, rank, 1, "stride", x);
  const dilation = spatial("conv", opts.dilation, rank, 1, "dilation", x);
  const sizes = kernel.length === rank ? kernel : new Array(rank).fill(1); // a rank mismatch is the shape rule's to report
  const attrs = { stride, dilation, pads: pads("conv", opts.padding, x, sizes, stride, dilation), groups: opts.groups ?? 1 };
  return scope("conv", () => {
    const y = apply("conv", [x, w], attrs);
    return opts.bias ? b.add(y, channelBias("conv", opts.bias, y)) : y;
  });
}

/** Transposed convolution (PyTorch's conv_transpose): x [N, Cin, ...], w [Cin, Cout/groups, k...]. */
export function convTranspose(x: Node, w: Node, opts: ConvTransposeOptions = {}): Node {
  operand("convTranspose", x, "the input");
  if (!(w instanceof Node)) throw new GradcError(`convTranspose: the weights must be a graph node, got ${typeof w}`);
  const rank = x.rank - 2;
  const stride = spatial("convTranspose", opts.stride, rank, 1, "stride", x);
  const dilation = spatial("convTranspose", opts.dilation, rank, 1, "dilation", x);
  const p = pads("convTranspose", opts.padding, x, new Array(rank).fill(1), stride, dilation);
  const outputPadding = spatial("convTranspose", opts.outputPadding, rank, 0, "outputPadding", x);
  return scope("convTranspose", () => {
    const y = apply("convTranspose", [x, w], { stride, dilation, pads: p, groups: opts.groups ?? 1, outputPadding });
    return opts.bias ? b.add(y, channelBias("convTranspose", opts.bias, y)) : y;
  });
}

function channelBias(op: string, bias: Node, y: Node): Node {
  if (!(bias instanceof Node) || bias.rank !== 1 || bias.shape[0] !== y.shape[1]) {
    throw new GradcError(
      `${op}: bias must be [${y.shape[1]}] (one per output channel), got ${bias instanceof Node ? shapeStr(bias.shape) : typeof bias}\n  at ${describe(op, [y], {})}`,
    );
  }
  return b.reshape(bias, [y.shape[1], ...new Array(y.rank - 2).fill(1)]);
}

interface PoolAttrs {
  kernel: number[];
  stride: number[];
  dilation: number[];
  pads: number[];
  /** ceilMode's padding added at the end of each axis (included in pads). */
  overhang: number[];
}

function poolAttrs(op: string, x: Node, o: PoolOptions): PoolAttrs {
  if (typeof o !== "object" || o === null || o.kernel === undefined) throw new GradcError(`${op}: options must give the window's kernel, e.g. { kernel: 2 }`);
  const rank = x.rank - 2;
  const kernel = spatial(op, o.kernel, rank, 1, "kernel", x);
  const stride = spatial(op, o.stride ?? kernel, rank, 1, "stride", x);
  const dilation = spatial(op, o.dilation, rank, 1, "dilation", x);
  const p = pads(op, o.padding, x, kernel, stride, dilation);
  const overhang = kernel.map((k, t) => (o.ceilMode ? ceilOverhang(x.shape[2 + t], k, stride[t], dilation[t], p[t], p[rank + t]) : 0));
  return { kernel, stride, dilation, pads: p.map((v, i) => (i < rank ? v : v + overhang[i - rank])), overhang };
}

/** The end padding that makes the floor rule's output size the ceil rule's (the kept last window must start before the end padding). */
function ceilOverhang(size: number, k: number, s: number, d: number, begin: number, end: number): number {
  const span = d * (k - 1) + 1,
    padded = size + begin + end;
  if (span > padded || s < 1) return 0; // the shape rule reports it
  let out = Math.ceil((padded - span) / s) + 1;
  if ((out - 1) * s >= size + begin) out--;
  return Math.max(0, (out - 1) * s + span - padded);
}

const ofPool = (a: PoolAttrs) => ({ kernel: a.kernel, stride: a.stride, dilation: a.dilation, pads: a.pads });

/** Max pooling: the largest element of each window (the first of equals; NaN propagates). */
export function maxPool(x: Node, opts: PoolOptions): Node {
  operand("maxPool", x, "the input");
  const a = poolAttrs("maxPool", x, opts);
  return scope("maxPool", () => {
    const idx = maxPoolIndex(x, ofPool(a));
    const [n, c] = x.shape;
    const flat = b.reshape(x, [n, c, x.size / (n * c) || 0]);
    const taken = b.takeAlongAxis(flat, b.reshape(idx, [n, c, idx.size / (n * c) || 0]), 2);
    return b.reshape(taken, idx.shape);
  });
}

/** Average pooling: each window's mean, with padding counted (countIncludePad, the default) or not. */
export function avgPool(x: Node, opts: PoolOptions): Node {
  operand("avgPool", x, "the input");
  const a = poolAttrs("avgPool", x, opts);
  try {
    poolGeometry(x, ofPool(a)); // windows on real elements only, as maxPool's
  } catch (e) {
    throw new GradcError(`avgPool: ${(e as Error).message}\n  at ${describe("avgPool", [x], ofPool(a))}`);
  }
  return scope("avgPool", () => avgPoolBody(x, a, opts.countIncludePad ?? true));
}

function avgPoolBody(x: Node, a: PoolAttrs, countIncludePad: boolean): Node {
  const [n, c, ...space] = x.shape;
  const rank = space.length;
  // every channel is its own image: a conv of one channel with a kernel of ones
  const ones = b.constant(1, x.dtype, [1, 1, ...a.kernel]);
  const attrs = { stride: a.stride, dilation: a.dilation, pads: a.pads, groups: 1 };
  const flat = b.reshape(x, [n * c, 1, ...space]);
  const sums = apply("conv", [flat, ones], attrs);
  const out = [n, c, ...sums.shape.slice(2)];
  if (countIncludePad && a.overhang.every((e) => e === 0)) return b.reshape(b.mul(sums, 1 / a.kernel.reduce((p, k) => p * k, 1)), out);
  // the divisor: the window's real elements, or (countIncludePad) those of the explicitly padded input, never ceilMode's overhang
  const explicit = a.pads.map((p, i) => (i < rank ? p : p - a.overhang[i - rank]));
  const counted = countIncludePad ? space.map((s, t) => s + explicit[t] + explicit[rank + t]) : space;
  const countPads = countIncludePad ? [...new Array(rank).fill(0), ...a.overhang] : a.pads;
  const counts = apply("conv", [b.constant(1, x.dtype, [1, 1, ...counted]), ones], { ...attrs, pads: countPads });
  return b.reshape(b.div(sums, counts), out);
}

const spatialAxes = (x: Node) => x.shape.slice(2).map((_, t) => 2 + t);

/** The mean over the spatial axes, kept as size 1: [N, C, 1, ...]. */
export function globalAvgPool(x: Node): Node {
  return scope("globalAvgPool", () => b.mean(operand("globalAvgPool", x, "the input"), spatialAxes(x), true));
}

/** The largest element over the spatial axes, kept as size 1: [N, C, 1, ...]. */
export function globalMaxPool(x: Node): Node {
  return scope("globalMaxPool", () => b.max(operand("globalMaxPool", x, "the input"), spatialAxes(x), true));
}
