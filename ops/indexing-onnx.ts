// ONNX lowerings of the indexing primitives (their records' `onnx` in ops/indexing.ts): Slice, a strided zero-fill for
// pad (ONNX's Pad has no stride), Concat, GatherElements and ScatterElements(reduction="add").

import type { Attrs, OnnxEmitter, OnnxLowering } from "../core/registry.js";
import type { DType } from "../core/tensor.js";

const INT64 = 7;
/** An end index before the start of any axis (ONNX clamps it to -1 for a negative step). */
const BEFORE_START = -(2 ** 53 - 1);

/** Indices stored as floats, as int64. */
const indices = (e: OnnxEmitter, idx: string) => e.node("Cast", [idx], { to: INT64 });

/**
 * pad: x placed at start + step*i along each axis of zeros. Axis by axis: a negative step becomes a
 * reversal and a positive one; a step k > 1 interleaves k - 1 zeros after each element (concat
 * with zeros on a new axis, merge, drop the trailing zeros); then Pad adds the zeros around.
 */
export function padInto(e: OnnxEmitter, x: string, attrs: Attrs, inShape: readonly number[], dtype: DType): string {
  const shape = [...inShape];
  const full = attrs.shape as number[];
  const lo: number[] = [],
    hi: number[] = [];
  shape.forEach((c, d) => {
    let s = (attrs.start as number[])[d],
      k = (attrs.step as number[])[d];
    if (c === 0) {
      lo.push(0), hi.push(full[d]);
      return;
    }
    if (k < 0) {
      x = e.node("Slice", [x, e.ints([-1]), e.ints([BEFORE_START]), e.ints([d]), e.ints([-1])]);
      s += k * (c - 1);
      k = -k;
    }
    if (k > 1) {
      const withNew = [...shape.slice(0, d + 1), 1, ...shape.slice(d + 1)];
      const zeros = e.node("Expand", [e.scalar(0, dtype), e.shape([...shape.slice(0, d + 1), k - 1, ...shape.slice(d + 1)])]);
      const spread = e.node("Concat", [e.node("Reshape", [x, e.shape(withNew)]), zeros], { axis: d + 1 });
      const merged = [...shape];
      merged[d] = c * k;
      x = e.node("Slice", [e.node("Reshape", [spread, e.shape(merged)]), e.ints([0]), e.ints([(c - 1) * k + 1]), e.ints([d])]);
      shape[d] = (c - 1) * k + 1;
    }
    lo.push(s), hi.push(full[d] - s - shape[d]);
  });
  return e.node("Pad", [x, e.ints([...lo, ...hi]), e.scalar(0, dtype)]);
}

/** Each record's `onnx` (ops/indexing.ts). */
export const indexingOnnx = {
  slice: (e, [x], attrs) => {
    const stop = (attrs.stop as number[]).map((v) => (v < 0 ? BEFORE_START : v));
    return e.node("Slice", [x, e.ints(attrs.start as number[]), e.ints(stop), e.ints(stop.map((_, d) => d)), e.ints(attrs.step as number[])]);
  },
  // the lowering sees value names, not shapes: the operand's shape is the output's at the counts
  pad: (e, [x], attrs, out) => {
    const [start, stop, step] = ["start", "stop", "step"].map((k) => attrs[k] as number[]);
    return padInto(
      e,
      x,
      attrs,
      start.map((s, d) => Math.max(0, Math.ceil((stop[d] - s) / step[d]))),
      out.dtype,
    );
  },
  // labels pass through; ONNX has no check that fails a run, so the exported graph trusts them
  classIndex: (e, [y]) => e.node("Identity", [y]),
  concat: (e, xs, attrs) => e.node("Concat", xs, { axis: attrs.axis as number }),
  takeAlongAxis: (e, [x, idx], attrs) => e.node("GatherElements", [x, indices(e, idx)], { axis: attrs.axis as number }),
  scatterAdd: (e, [x, idx, upd], attrs) => e.node("ScatterElements", [x, indices(e, idx), upd], { axis: attrs.axis as number, reduction: "add" }),
} satisfies Record<string, OnnxLowering>;
