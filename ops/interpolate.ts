// interpolate (resize) as a composite: along each spatial axis, a product with an interpolation
// matrix M [out, in] built from iota (so gradients, forward mode and ONNX come from matmul's):
//   nearest: M[j, i] = 1 where i = floor(j * r), PyTorch's "nearest";
//   linear:  M[j, i] = max(0, 1 - |i - s_j|), the hat function at the source position
//            s_j = clamp((j + 0.5) * r - 0.5, 0, in - 1), or s_j = j * (in - 1) / (out - 1) with
//            alignCorners: linear, bilinear and trilinear as PyTorch computes them.
// r is 1 / scale when a scale is given (PyTorch's and ONNX's rule), else in / out. M is computed in
// float64 and cast, so float32 data gets the same source positions.

import * as b from "../core/builder.js";
import { GradcError } from "../core/errors.js";
import { describe, Node } from "../core/node.js";
import { shapeStr } from "../core/tensor.js";
import type { Spatial } from "./conv-builders.js";

export interface InterpolateOptions {
  /** Output spatial sizes (one number for every axis, or one per axis). */
  size?: Spatial;
  /** Or a scale per axis: output floor(input * scale). */
  scale?: number | readonly number[];
  /** "nearest" (default) or "linear" (bilinear on 2 spatial axes, trilinear on 3). */
  mode?: "nearest" | "linear";
  /** linear only: the corners' centres map onto each other (PyTorch's align_corners). */
  alignCorners?: boolean;
}

/** The interpolation matrix of one axis, [out, in], in float64. */
function matrix(n: number, out: number, r: number, mode: "nearest" | "linear", align: boolean): Node {
  const j = b.iota([out, n], 0), i = b.iota([out, n], 1);
  if (mode === "nearest") {
    const src = b.mul(j, r);
    return b.mul(b.lessEqual(i, src), b.less(src, b.add(i, 1)));
  }
  const src = align ? b.mul(j, out > 1 ? (n - 1) / (out - 1) : 0) : b.clip(b.sub(b.mul(b.add(j, 0.5), r), 0.5), 0, n - 1);
  return b.relu(b.sub(1, b.abs(b.sub(i, src))));
}

/**
 * Resize the spatial axes of x [N, C, ...] (1 to 3 of them).
 *
 *   interpolate(x, { scale: 2 })                                  // nearest, twice the size
 *   interpolate(x, { size: [5, 3], mode: "linear", alignCorners: true })
 */
export function interpolate(x: Node, opts: InterpolateOptions): Node {
  const where = () => `\n  at ${describe("interpolate", [x], {})}`;
  if (!(x instanceof Node)) throw new GradcError(`interpolate: the input must be a graph node, got ${typeof x}`);
  const rank = x.rank - 2;
  if (rank < 1 || rank > 3) throw new GradcError(`interpolate: the input ${shapeStr(x.shape)} must be [N, C, spatial...] with 1 to 3 spatial axes${where()}`);
  const { size, scale, mode = "nearest", alignCorners = false } = opts ?? {};
  if (mode !== "nearest" && mode !== "linear") throw new GradcError(`interpolate: mode must be "nearest" or "linear", got ${JSON.stringify(mode)}${where()}`);
  if ((size === undefined) === (scale === undefined)) throw new GradcError(`interpolate: give exactly one of size and scale${where()}`);
  if (alignCorners && mode !== "linear") throw new GradcError(`interpolate: alignCorners applies to mode "linear" only${where()}`);
  const perAxis = (v: number | readonly number[], what: string) => {
    const list = typeof v === "number" ? new Array(rank).fill(v) : [...v];
    if (list.length !== rank || !list.every((e) => typeof e === "number" && Number.isFinite(e) && e > 0)) {
      throw new GradcError(`interpolate: ${what} must be a positive number or ${rank} of them, got ${JSON.stringify(v)} for input ${shapeStr(x.shape)}${where()}`);
    }
    return list as number[];
  };
  const inSizes = x.shape.slice(2);
  const scales = scale === undefined ? null : perAxis(scale, "scale");
  const sizes = scales ? inSizes.map((n, t) => Math.floor(n * scales[t])) : perAxis(size!, "size");
  const bad = sizes.findIndex((s) => !Number.isInteger(s) || s < 1);
  if (bad >= 0) throw new GradcError(`interpolate: output size ${sizes[bad]} on spatial axis ${bad} (input ${shapeStr(x.shape)}${scales ? `, scale ${scales[bad]}` : ""}): sizes must be integers of at least 1${where()}`);
  let y = x;
  for (let t = 0; t < rank; t++) {
    const axis = 2 + t, n = inSizes[t], out = sizes[t];
    if (out === n && (!scales || scales[t] === 1)) continue; // the identity
    const m = b.cast(matrix(n, out, scales ? 1 / scales[t] : n / out, mode, alignCorners), x.dtype);
    const perm = y.shape.map((_, d) => d).filter((d) => d !== axis).concat(axis);
    const moved = b.matmul(b.transpose(y, perm), b.transpose(m));
    y = b.transpose(moved, perm.map((_, d) => perm.indexOf(d)));
  }
  return y;
}
