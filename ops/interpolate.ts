// interpolate (resize) as a composite: along each spatial axis, a product with an interpolation
// matrix M [out, in] built from iota (so gradients, forward mode and ONNX come from matmul's).
// Output position j reads the source position s_j, clamped to [0, in - 1], given by `coordinates`
// (ONNX's coordinate_transformation_mode): asymmetric j * r, halfPixel (j + 0.5) * r - 0.5,
// alignCorners j * (in - 1) / (out - 1). Then
//   nearest: M[j, i] = 1 where i is s_j rounded by `rounding` (floor by default);
//   linear:  M[j, i] = max(0, 1 - |i - s_j|), the hat function at s_j.
// Defaults are PyTorch's F.interpolate: nearest asymmetric with floor, linear (bilinear, trilinear)
// halfPixel; ONNX Resize's nearest default is { coordinates: "halfPixel", rounding: "roundPreferFloor" }.
// r is 1 / scale when a scale is given (PyTorch's and ONNX's rule), else in / out. M is computed in
// float64 and cast, so float32 data gets the same source positions.

import * as b from "../core/builder.js";
import { GradcError } from "../core/errors.js";
import { describe, Node, scope } from "../core/node.js";
import { shapeStr } from "../core/tensor.js";
import type { Spatial } from "./conv-builders.js";

export interface InterpolateOptions {
  /** Output spatial sizes (one number for every axis, or one per axis). */
  size?: Spatial;
  /** Or a scale per axis: output floor(input * scale). */
  scale?: number | readonly number[];
  /** "nearest" (default) or "linear" (bilinear on 2 spatial axes, trilinear on 3). */
  mode?: "nearest" | "linear";
  /** The corners' centres map onto each other (PyTorch's align_corners): coordinates "alignCorners". */
  alignCorners?: boolean;
  /** Where output j reads (ONNX's coordinate_transformation_mode); default asymmetric for nearest, halfPixel for linear. */
  coordinates?: Coordinates;
  /** nearest only: how the source position becomes an index (ONNX's nearest_mode); default floor. */
  rounding?: Rounding;
}

export type Coordinates = "asymmetric" | "halfPixel" | "alignCorners";
export type Rounding = "floor" | "ceil" | "roundPreferFloor" | "roundPreferCeil";

/** The source position of each output j (a [out, in] node, constant along i), clamped to the input. */
function source(j: Node, n: number, out: number, r: number, coordinates: Coordinates): Node {
  const s =
    coordinates === "alignCorners"
      ? b.mul(j, out > 1 ? (n - 1) / (out - 1) : 0)
      : coordinates === "halfPixel"
        ? b.sub(b.mul(b.add(j, 0.5), r), 0.5)
        : b.mul(j, r);
  return b.clip(s, 0, n - 1);
}

/** M[j, i] = 1 where i is s rounded: the half-open (or half-closed) unit interval around i that holds s. */
function nearestOf(i: Node, s: Node, rounding: Rounding): Node {
  switch (rounding) {
    case "floor": // i <= s < i + 1
      return b.mul(b.lessEqual(i, s), b.less(s, b.add(i, 1)));
    case "ceil": // i - 1 < s <= i
      return b.mul(b.less(b.sub(i, 1), s), b.lessEqual(s, i));
    case "roundPreferFloor": // i - 0.5 < s <= i + 0.5
      return b.mul(b.less(b.sub(i, 0.5), s), b.lessEqual(s, b.add(i, 0.5)));
    case "roundPreferCeil": // i - 0.5 <= s < i + 0.5
      return b.mul(b.lessEqual(b.sub(i, 0.5), s), b.less(s, b.add(i, 0.5)));
  }
}

interface Sampling {
  mode: "nearest" | "linear";
  coordinates: Coordinates;
  rounding: Rounding;
}

/** The interpolation matrix of one axis, [out, in], in float64. */
function matrix(n: number, out: number, r: number, how: Sampling): Node {
  const j = b.iota([out, n], 0),
    i = b.iota([out, n], 1);
  const src = source(j, n, out, r, how.coordinates);
  if (how.mode === "nearest") return nearestOf(i, src, how.rounding);
  return b.relu(b.sub(1, b.abs(b.sub(i, src))));
}

/**
 * Resize the spatial axes of x [N, C, ...] (1 to 3 of them).
 *
 *   interpolate(x, { scale: 2 })                                  // nearest, twice the size
 *   interpolate(x, { size: [5, 3], mode: "linear", alignCorners: true })
 *   interpolate(x, { scale: 0.6, coordinates: "halfPixel", rounding: "roundPreferFloor" })  // ONNX Resize's nearest
 */
export function interpolate(x: Node, opts: InterpolateOptions): Node {
  return scope("interpolate", () => interpolateBody(x, opts));
}

function interpolateBody(x: Node, opts: InterpolateOptions): Node {
  const where = () => `\n  at ${describe("interpolate", [x], {})}`;
  if (!(x instanceof Node)) throw new GradcError(`interpolate: the input must be a graph node, got ${typeof x}`);
  const rank = x.rank - 2;
  if (rank < 1 || rank > 3) throw new GradcError(`interpolate: the input ${shapeStr(x.shape)} must be [N, C, spatial...] with 1 to 3 spatial axes${where()}`);
  const { size, scale, mode = "nearest", alignCorners = false } = opts ?? {};
  if (mode !== "nearest" && mode !== "linear") throw new GradcError(`interpolate: mode must be "nearest" or "linear", got ${JSON.stringify(mode)}${where()}`);
  if ((size === undefined) === (scale === undefined)) throw new GradcError(`interpolate: give exactly one of size and scale${where()}`);
  const coordinates = opts?.coordinates ?? (alignCorners ? "alignCorners" : mode === "nearest" ? "asymmetric" : "halfPixel");
  if (!["asymmetric", "halfPixel", "alignCorners"].includes(coordinates))
    throw new GradcError(`interpolate: coordinates must be "asymmetric", "halfPixel" or "alignCorners", got ${JSON.stringify(coordinates)}${where()}`);
  if (alignCorners && coordinates !== "alignCorners")
    throw new GradcError(`interpolate: alignCorners contradicts coordinates ${JSON.stringify(coordinates)}${where()}`);
  const rounding = opts?.rounding ?? "floor";
  if (!["floor", "ceil", "roundPreferFloor", "roundPreferCeil"].includes(rounding))
    throw new GradcError(`interpolate: rounding must be "floor", "ceil", "roundPreferFloor" or "roundPreferCeil", got ${JSON.stringify(rounding)}${where()}`);
  if (opts?.rounding !== undefined && mode !== "nearest") throw new GradcError(`interpolate: rounding applies to mode "nearest" only${where()}`);
  const perAxis = (v: number | readonly number[], what: string) => {
    const list = typeof v === "number" ? new Array(rank).fill(v) : [...v];
    if (list.length !== rank || !list.every((e) => typeof e === "number" && Number.isFinite(e) && e > 0)) {
      throw new GradcError(
        `interpolate: ${what} must be a positive number or ${rank} of them, got ${JSON.stringify(v)} for input ${shapeStr(x.shape)}${where()}`,
      );
    }
    return list as number[];
  };
  const inSizes = x.shape.slice(2);
  const scales = scale === undefined ? null : perAxis(scale, "scale");
  const sizes = scales ? inSizes.map((n, t) => Math.floor(n * scales[t])) : perAxis(size!, "size");
  const bad = sizes.findIndex((s) => !Number.isInteger(s) || s < 1);
  if (bad >= 0)
    throw new GradcError(
      `interpolate: output size ${sizes[bad]} on spatial axis ${bad} (input ${shapeStr(x.shape)}${scales ? `, scale ${scales[bad]}` : ""}): sizes must be integers of at least 1${where()}`,
    );
  let y = x;
  for (let t = 0; t < rank; t++) {
    const axis = 2 + t,
      n = inSizes[t],
      out = sizes[t];
    if (out === n && (!scales || scales[t] === 1)) continue; // the identity
    const m = b.cast(matrix(n, out, scales ? 1 / scales[t] : n / out, { mode, coordinates, rounding }), x.dtype);
    const perm = y.shape
      .map((_, d) => d)
      .filter((d) => d !== axis)
      .concat(axis);
    const moved = b.matmul(b.transpose(y, perm), b.transpose(m));
    y = b.transpose(
      moved,
      perm.map((_, d) => perm.indexOf(d)),
    );
  }
  return y;
}
