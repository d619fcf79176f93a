// Indexing primitives: slice (and its transpose, pad), concat, takeAlongAxis (a gather along one
// axis, with integer indices stored as floats) and its transpose scatterAdd. Each gradient rule is
// the other op of its pair, so the pairs are closed under differentiation. The builders that
// record them (NumPy-style slicing, checks at trace time) are in core/indexing.ts.

import type { Attrs, Aval, OpDef, OpSample } from "../core/registry.js";
import { apply, type Node } from "../core/node.js";
import * as b from "../core/builder.js";
import { strides, type Data, type Shape, type Tensor } from "../core/tensor.js";
import { show } from "./checks.js";
import { GradcError } from "../core/errors.js";
import { dimStr, symbolOf } from "../core/symbol-table.js";
import { checkSymbolicSlice } from "../core/indexing.js";
import { output, walk } from "./kernels.js";
import { indexingOnnx } from "./indexing-onnx.js";
import { int, randomTensor, randShape, tensorOf, type Rand } from "./samples.js";

/** Per-axis integer lists of the input's rank. */
function perAxis(attrs: Attrs, key: string, rank: number): number[] {
  const v = attrs[key];
  if (!Array.isArray(v) || v.length !== rank || !v.every(Number.isInteger))
    throw new Error(`attribute ${key} must list one integer per axis (${rank}), got ${JSON.stringify(v)}`);
  return v as number[];
}

/** Elements along an axis from start, by step, before stop. */
export const sliceCount = (start: number, stop: number, step: number): number => Math.max(0, Math.ceil((stop - start) / step));

function sliceShape(x: Aval, attrs: Attrs): Aval {
  const rank = x.shape.length;
  const [start, stop, step] = ["start", "stop", "step"].map((k) => perAxis(attrs, k, rank));
  const shape = x.shape.map((n, d) => {
    const [s, e, k] = [start[d], stop[d], step[d]];
    const bad = checkSymbolicSlice(n, d, s, e, k);
    if (bad) throw new Error(bad);
    const ok = k > 0 ? 0 <= s && s <= e && e <= n : k < 0 && -1 <= e && e <= s && s < Math.max(n, 0) + (s === e ? 1 : 0);
    if (!ok) throw new Error(`axis ${d} of ${show(x.shape)}: ${s}:${e}:${k} is out of range (size ${n})`);
    return sliceCount(s, e, k);
  });
  return { shape, dtype: x.dtype };
}

/** Offsets of a [start::step] view of `full` laid over `part` (row-major, strided). */
function viewOffsets(full: Shape, start: readonly number[], step: readonly number[]): { base: number; st: number[] } {
  const fs = strides(full);
  return { base: start.reduce((o, s, d) => o + s * fs[d], 0), st: step.map((k, d) => k * fs[d]) };
}

/** The transpose of slice: g placed at the positions slice(start, stop, step) reads in zeros of `shape`. */
function pad(g: Node, shape: Shape, attrs: Attrs): Node {
  return apply("pad", [g], { shape: [...shape], start: attrs.start, stop: attrs.stop, step: attrs.step });
}

function concatShape(xs: readonly Aval[], attrs: Attrs): Aval {
  if (xs.length === 0) throw new Error("needs at least one operand");
  const axis = attrs.axis as number;
  const rank = xs[0].shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) throw new Error(`axis ${String(axis)} is out of range for rank ${rank}`);
  for (const x of xs) {
    if (x.dtype !== xs[0].dtype) throw new Error(`mixed dtypes ${xs.map((y) => y.dtype).join(", ")}: cast explicitly`);
    if (x.shape.length !== rank || x.shape.some((s, d) => d !== axis && s !== xs[0].shape[d])) {
      throw new Error(`shapes ${xs.map((y) => show(y.shape)).join(", ")} differ off axis ${axis}`);
    }
  }
  // along the axis: all concrete, or all multiples of one symbol (N + N is 2N; N + 2 has no form)
  const syms = xs.map((x) => symbolOf(x.shape[axis])?.name);
  if (syms.some((n) => n !== syms[0])) {
    throw new Error(
      `along axis ${axis}, sizes ${xs.map((x) => dimStr(x.shape[axis])).join(" + ")} are not all multiples of one symbolic size (symbolic shapes hold only kN): concat them after binding concrete sizes`,
    );
  }
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((n, x) => n + x.shape[axis], 0);
  return { shape, dtype: xs[0].dtype };
}

/** x and the indices agree off `axis` (NumPy's take_along_axis, without broadcasting). */
function alongShape(x: Aval, idx: Aval, attrs: Attrs, what: string): void {
  const axis = attrs.axis as number;
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) throw new Error(`axis ${String(axis)} is out of range for rank ${rank}`);
  if (idx.shape.length !== rank || idx.shape.some((s, d) => d !== axis && s !== x.shape[d])) {
    throw new Error(`${what} ${show(idx.shape)} must match ${show(x.shape)} on every axis but ${axis}`);
  }
}

/** The flat offset into x of each index entry; a plain Error (evaluate/compile name the node) when one is out of range. */
function gatherOffsets(xShape: Shape, idx: { shape: Shape; data: ArrayLike<number> }, axis: number, op: string): Int32Array {
  const n = xShape[axis];
  const xs = strides(xShape);
  const is = strides(idx.shape);
  const offs = new Int32Array(idx.data.length);
  for (let i = 0; i < offs.length; i++) {
    const v = idx.data[i];
    if (!Number.isInteger(v) || v < -n || v >= n) {
      const at = idx.shape.map((_, d) => Math.floor(i / is[d]) % idx.shape[d]);
      throw new Error(
        `${op}: index ${v} at [${at.join(",")}] is ${Number.isInteger(v) ? "out of range" : "not an integer"} for axis ${axis} of size ${n} (x ${show(xShape)}, indices ${show(idx.shape)})`,
      );
    }
    let off = 0;
    for (let d = 0; d < xShape.length; d++) off += (d === axis ? (v < 0 ? v + n : v) : Math.floor(i / is[d]) % idx.shape[d]) * xs[d];
    offs[i] = off;
  }
  return offs;
}

/** x viewed as [A, n, B] and the indices as [A, m, B] around `axis`: a planned gather's or scatter's loop bounds. */
function alongDims(xShape: Shape, idxShape: Shape, axis: number): { A: number; n: number; m: number; B: number } {
  const A = xShape.slice(0, axis).reduce((p, s) => p * s, 1),
    B = xShape.slice(axis + 1).reduce((p, s) => p * s, 1);
  return { A, n: xShape[axis], m: idxShape[axis], B };
}

/** Index entry i (negative counts from the end); a bad one is reported by gatherOffsets' message. */
function indexAt(idx: Data, i: number, n: number, xShape: Shape, idxShape: Shape, axis: number, op: string): number {
  const v = idx[i];
  if (!(Number.isInteger(v) && v >= -n && v < n)) gatherOffsets(xShape, { shape: idxShape, data: idx }, axis, op); // throws
  return v < 0 ? v + n : v;
}

/** A random non-empty strided window per axis, steps of either sign. */
function sliceSample(rand: Rand): OpSample {
  const shape = randShape(rand, 1, 3, 5);
  const start: number[] = [],
    stop: number[] = [],
    step: number[] = [];
  for (const n of shape) {
    const k = [1, 2, 3, -1, -2][int(rand, 0, 4)];
    const s = int(rand, 0, n - 1);
    start.push(s), step.push(k), stop.push(k > 0 ? int(rand, s + 1, n) : int(rand, -1, s - 1));
  }
  return { inputs: [randomTensor(rand, shape)], attrs: { start, stop, step } };
}

/** x, an axis, and indices into it (repeats included) shaped like x off the axis. */
function along(rand: Rand): { x: Tensor; idx: Tensor; axis: number } {
  const shape = randShape(rand, 1, 3);
  const axis = int(rand, 0, shape.length - 1);
  const n = shape[axis];
  const ishape = shape.map((s, d) => (d === axis ? int(rand, 1, 4) : s));
  return { x: randomTensor(rand, shape), idx: tensorOf(ishape, () => int(rand, -n, n - 1)), axis };
}

export const indexingOps: OpDef[] = [
  {
    name: "slice",
    kind: "movement",
    arity: 1,
    attrs: { start: "ints", stop: "ints", step: "ints" },
    shape: ([x], attrs) => sliceShape(x, attrs),
    impl: ([x], attrs, out) => {
      const r = output(out);
      const { base, st } = viewOffsets(x.shape, attrs.start as number[], attrs.step as number[]);
      const xd = x.data,
        rd = r.data;
      walk(out.shape, st, (i, off) => {
        rd[i] = xd[base + off];
      });
      return r;
    },
    vjp: (g, [x], _out, attrs) => [pad(g, x.shape, attrs)],
    onnx: indexingOnnx.slice,
    sample: sliceSample,
  },
  {
    // attrs: the full `shape` and the slice (start, stop, step) whose positions x fills
    name: "pad",
    kind: "other",
    arity: 1,
    attrs: { shape: "ints", start: "ints", stop: "ints", step: "ints" },
    tags: ["linear"],
    shape: ([x], attrs) => {
      const shape = perAxis(attrs, "shape", x.shape.length);
      const window = sliceShape({ shape, dtype: x.dtype }, attrs).shape;
      if (window.some((c, d) => c !== x.shape[d]))
        throw new Error(`the window ${show(window)} of ${show(shape)} does not have the operand's shape ${show(x.shape)}`);
      return { shape, dtype: x.dtype };
    },
    impl: ([x], attrs, out) => {
      const r = output(out);
      const { base, st } = viewOffsets(out.shape, attrs.start as number[], attrs.step as number[]);
      const xd = x.data,
        rd = r.data;
      walk(x.shape, st, (i, off) => {
        rd[base + off] = xd[i];
      });
      return r;
    },
    vjp: (g, _x, _out, attrs) => [apply("slice", [g], { start: attrs.start, stop: attrs.stop, step: attrs.step })],
    onnx: indexingOnnx.pad,
    // the window of a random slice of `shape`, filled
    sample: (rand) => {
      const s = sliceSample(rand);
      const shape = s.inputs[0].shape;
      const window = shape.map((_, d) =>
        Math.max(0, Math.ceil(((s.attrs.stop as number[])[d] - (s.attrs.start as number[])[d]) / (s.attrs.step as number[])[d])),
      );
      return { inputs: [randomTensor(rand, window)], attrs: { shape: [...shape], ...s.attrs } };
    },
  },
  {
    name: "concat",
    kind: "other",
    arity: -1,
    attrs: { axis: "int" },
    shape: (xs, attrs) => concatShape(xs, attrs),
    impl: (xs, attrs, out) => {
      const r = output(out);
      const axis = attrs.axis as number;
      const outer = out.shape.slice(0, axis).reduce((m, s) => m * s, 1);
      const inner = out.shape.slice(axis + 1).reduce((m, s) => m * s, 1);
      const row = out.shape[axis] * inner;
      let at = 0;
      for (const x of xs) {
        const w = x.shape[axis] * inner;
        for (let o = 0; o < outer; o++) r.data.set(x.data.subarray(o * w, (o + 1) * w), o * row + at);
        at += w;
      }
      return r;
    },
    vjp: (g, xs, _out, attrs) => {
      const axis = attrs.axis as number;
      let at = 0;
      return xs.map((x) => {
        const start = g.shape.map((_, d) => (d === axis ? at : 0));
        const stop = g.shape.map((s, d) => (d === axis ? at + x.shape[axis] : s));
        at += x.shape[axis];
        return b.slice(g, ...start.map((s, d) => [s, stop[d]] as [number, number]));
      });
    },
    onnx: indexingOnnx.concat,
    sample: (rand) => {
      const shape = randShape(rand, 1, 3);
      const axis = int(rand, 0, shape.length - 1);
      const inputs = Array.from({ length: int(rand, 1, 3) }, () =>
        randomTensor(
          rand,
          shape.map((s, d) => (d === axis ? int(rand, 1, 3) : s)),
        ),
      );
      return { inputs, attrs: { axis } };
    },
  },
  {
    name: "takeAlongAxis",
    kind: "other",
    arity: 2,
    attrs: { axis: "int" },
    shape: ([x, idx], attrs) => {
      alongShape(x, idx, attrs, "indices");
      return { shape: idx.shape, dtype: x.dtype };
    },
    impl: ([x, idx], attrs, out) => {
      const r = output(out);
      const offs = gatherOffsets(x.shape, idx, attrs.axis as number, "takeAlongAxis");
      for (let i = 0; i < offs.length; i++) r.data[i] = x.data[offs[i]];
      return r;
    },
    kernel: ([x, idx], attrs) => {
      const axis = attrs.axis as number;
      const { A, n, m, B } = alongDims(x.shape, idx.shape, axis);
      return ([xd, id], out) => {
        for (let a = 0, i = 0; a < A; a++) {
          for (let j = 0; j < m; j++) {
            for (let q = 0; q < B; q++, i++) out[i] = xd[(a * n + indexAt(id, i, n, x.shape, idx.shape, axis, "takeAlongAxis")) * B + q];
          }
        }
      };
    },
    vjp: (g, [x, idx], _out, attrs) => [b.scatterAdd(b.constant(0, x.dtype, x.shape), idx, g, attrs.axis as number), null],
    onnx: indexingOnnx.takeAlongAxis,
    // integer indices (as floats), negative ones included; they get no gradient
    sample: (rand) => {
      const { x, idx, axis } = along(rand);
      return { inputs: [x, idx], attrs: { axis }, wrt: [0] };
    },
  },
  {
    name: "scatterAdd",
    kind: "other",
    arity: 3,
    attrs: { axis: "int" },
    shape: ([x, idx, upd], attrs) => {
      alongShape(x, idx, attrs, "indices");
      if (upd.shape.length !== idx.shape.length || upd.shape.some((s, d) => s !== idx.shape[d]))
        throw new Error(`updates ${show(upd.shape)} must have the shape of the indices ${show(idx.shape)}`);
      if (upd.dtype !== x.dtype) throw new Error(`mixed dtypes ${x.dtype} and ${upd.dtype}: cast explicitly`);
      return { shape: x.shape, dtype: x.dtype };
    },
    impl: ([x, idx, upd], attrs, out) => {
      const r = output(out);
      r.data.set(x.data);
      const offs = gatherOffsets(x.shape, idx, attrs.axis as number, "scatterAdd");
      for (let i = 0; i < offs.length; i++) r.data[offs[i]] += upd.data[i];
      return r;
    },
    kernel: ([x, idx], attrs) => {
      const axis = attrs.axis as number;
      const { A, n, m, B } = alongDims(x.shape, idx.shape, axis);
      return ([xd, id, ud], out) => {
        out.set(xd);
        for (let a = 0, i = 0; a < A; a++) {
          for (let j = 0; j < m; j++) {
            for (let q = 0; q < B; q++, i++) out[(a * n + indexAt(id, i, n, x.shape, idx.shape, axis, "scatterAdd")) * B + q] += ud[i];
          }
        }
      };
    },
    vjp: (g, [, idx], _out, attrs) => [g, null, b.takeAlongAxis(g, idx, attrs.axis as number)],
    onnx: indexingOnnx.scatterAdd,
    sample: (rand) => {
      const { x, idx, axis } = along(rand);
      return { inputs: [x, idx, randomTensor(rand, idx.shape)], attrs: { axis }, wrt: [0, 2] };
    },
  },
  {
    // class labels (integers stored as floats) read by oneHot and softmaxCrossEntropy: the value
    // unchanged, checked where it is known (evaluate, compile(...).run), so a label 7 of 3 classes,
    // 1.5 or -1 is an error naming the op that reads it and the position, not a dropped loss term
    name: "classIndex",
    kind: "other",
    arity: 1,
    attrs: { classes: "int", of: "string" },
    shape: ([y], attrs) => {
      if ((attrs.classes as number) < 1) throw new Error(`classes must be at least 1, got ${attrs.classes}`);
      return y;
    },
    impl: ([y], attrs, out) => {
      const r = output(out);
      const classes = attrs.classes as number;
      const d = y.data;
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
          const at = y.shape.length === 1 ? `position ${i}` : `position ${i} (row-major in ${show(y.shape)})`;
          throw new GradcError(`${attrs.of as string}: label ${v} at ${at} is not a class in 0..${classes - 1} (an integer below ${classes})`);
        }
      }
      r.data.set(d);
      return r;
    },
    vjp: () => [null],
    onnx: indexingOnnx.classIndex,
    // valid labels only: an out-of-range one is an error (spec/identity.test.ts), not a value to compare
    sample: (rand) => {
      const classes = int(rand, 1, 5);
      const y = tensorOf([int(rand, 1, 6)], () => int(rand, 0, classes - 1));
      return { inputs: [y], attrs: { classes, of: "oneHot" }, wrt: [] };
    },
  },
];
