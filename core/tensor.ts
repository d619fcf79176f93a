// Tensors: a row-major typed array and a shape. Float64 by default, float32 on request.

import { GradcError } from "./errors.js";
import { dimStr } from "./symbol-table.js";

export type DType = "f64" | "f32";
export type Shape = readonly number[];
export type Data = Float64Array | Float32Array;

export class Tensor {
  constructor(
    readonly data: Data,
    readonly shape: Shape,
  ) {
    // checked here, where every tensor enters: a short array read past its end gives NaN later
    if (!(data instanceof Float64Array || data instanceof Float32Array)) {
      throw new GradcError(
        `Tensor: data must be a Float64Array or Float32Array, got ${data === null ? "null" : Array.isArray(data) ? "an array (use tensor(...))" : typeof data === "object" ? ((data as object).constructor?.name ?? "an object") : typeof data}`,
      );
    }
    if (!Array.isArray(shape)) throw new GradcError(`Tensor: shape must be an array of sizes, got ${shape === null ? "null" : typeof shape}`);
    checkShape(shape, "Tensor");
    if (sizeOf(shape) !== data.length) {
      throw new GradcError(`Tensor: ${data.length} values do not fill shape [${shape.join(",")}] (${sizeOf(shape)} elements)`);
    }
    // a copy, frozen: the caller's array changed later cannot make shape and data disagree
    if (!Object.isFrozen(shape)) (this as { shape: Shape }).shape = Object.freeze([...shape]);
  }

  get dtype(): DType {
    return this.data instanceof Float32Array ? "f32" : "f64";
  }
  get size(): number {
    return this.data.length;
  }
  /** The element at a multi-index, e.g. `t.at(1, 2)`. */
  at(...index: number[]): number {
    return this.data[flatIndex(this.shape, index)];
  }
  /** Nested arrays, as numpy's `tolist()`. */
  toArray(): unknown {
    const go = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = strides(this.shape)[dim];
      return Array.from({ length: this.shape[dim] }, (_, i) => go(dim + 1, offset + i * stride));
    };
    return go(0, 0);
  }
  toString(): string {
    // not JSON.stringify: it prints NaN and Infinity as null
    const show = (v: unknown): string => (Array.isArray(v) ? `[${v.map(show).join(",")}]` : String(v));
    return `${this.dtype}[${this.shape.join(",")}] ${show(this.toArray())}`;
  }
}

type Nested = number | readonly Nested[];

/**
 * Make a tensor from numbers, nested arrays or a typed array.
 *
 *   tensor([[1, 2], [3, 4]])              // f64[2,2]
 *   tensor([1, 2, 3, 4], [2, 2], "f32")   // f32[2,2]
 *   tensor(new Float64Array(6), [2, 3])
 */
export function tensor(data: Nested | Data, shape?: Shape, dtype?: DType): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (data instanceof Float64Array || data instanceof Float32Array) {
    flat = data;
    inferred = [data.length];
    dtype ??= data instanceof Float32Array ? "f32" : "f64";
  } else {
    inferred = nestedShape(data);
    checkNested(data, inferred, []);
    flat = Array.isArray(data) ? ((data as unknown[]).flat(Infinity as 1) as number[]) : [data as number];
  }
  const finalShape = shape ? [...shape] : inferred;
  checkShape(finalShape, "tensor");
  if (sizeOf(finalShape) !== flat.length) {
    throw new GradcError(`tensor: ${flat.length} values do not fill shape [${finalShape.join(",")}] (${sizeOf(finalShape)} elements)`);
  }
  const Ctor = (dtype ?? "f64") === "f32" ? Float32Array : Float64Array;
  const buf = flat instanceof Ctor ? flat : Ctor.from(flat);
  return new Tensor(buf as Data, Object.freeze(finalShape));
}

export function zeros(shape: Shape, dtype: DType = "f64"): Tensor {
  return new Tensor(allocate(sizeOf(shape), dtype), Object.freeze([...shape]));
}

export function full(shape: Shape, value: number, dtype: DType = "f64"): Tensor {
  const t = zeros(shape, dtype);
  t.data.fill(value);
  return t;
}

/**
 * The most elements one tensor may hold: V8's typed-array length limit on 64-bit machines. The
 * interpreter fails to allocate anything larger; compile refuses a graph with a node this large
 * (even one fused away, never allocated), so a compiled loop is no longer than evaluate's.
 */
export const MAX_ELEMENTS = 2 ** 32;

/** A zeroed array of `size` elements; `who` (the entry allocating) names a failure. */
export function allocate(size: number, dtype: DType, who = "allocate"): Data {
  try {
    return dtype === "f32" ? new Float32Array(size) : new Float64Array(size);
  } catch (e) {
    // V8's RangeError says only "Invalid typed array length"; say how large and that it is the size
    if (!(e instanceof RangeError)) throw e;
    throw new GradcError(`${who}: cannot allocate ${size} ${dtype} elements (${size * (dtype === "f32" ? 4 : 8)} bytes): ${e.message}`);
  }
}

function nestedShape(data: Nested): number[] {
  const shape: number[] = [];
  let d: Nested = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = (d as Nested[])[0];
  }
  return shape;
}

/** Nested data must be rectangular and hold only numbers: no ragged rows, strings, booleans or nulls. */
function checkNested(d: unknown, shape: readonly number[], at: number[]): void {
  const where = at.length ? `element [${at.join("][")}]` : "the value";
  if (at.length < shape.length) {
    const want = shape.slice(at.length);
    if (!Array.isArray(d) || d.length !== want[0]) {
      const got = Array.isArray(d) ? `a list of ${d.length}` : typeof d === "number" ? "a number" : valueStr(d);
      throw new GradcError(
        `tensor: ragged data: ${where} is ${got}, expected a list of shape [${want.join(",")}] (the data's first elements give shape [${shape.join(",")}])`,
      );
    }
    for (let i = 0; i < d.length; i++) {
      at.push(i);
      checkNested(d[i], shape, at);
      at.pop();
    }
  } else if (typeof d !== "number") {
    throw new GradcError(`tensor: ${where} is ${Array.isArray(d) ? "a list" : valueStr(d)}, not a number`);
  }
}

/** A non-number element as the message shows it (JSON.stringify throws on a BigInt). */
function valueStr(d: unknown): string {
  if (typeof d === "bigint") return `the BigInt ${d}n (convert it with Number(...))`;
  try {
    return JSON.stringify(d) ?? String(d);
  } catch {
    return typeof d; // a cyclic object
  }
}

/** Elements in a shape; 0 when any axis is empty, even where the others overflow ([1e308, 1e308, 0] is not NaN). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const s of shape) {
    if (s === 0) return 0;
    n *= s;
  }
  return n;
}

export function strides(shape: Shape): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

function flatIndex(shape: Shape, index: number[]): number {
  if (index.length !== shape.length) throw new GradcError(`at: index of rank ${index.length} into shape [${shape.join(",")}]`);
  const st = strides(shape);
  let k = 0;
  index.forEach((i, d) => {
    if (!Number.isInteger(i) || i < 0 || i >= shape[d]) throw new GradcError(`at: index ${i} out of range for axis ${d} of [${shape.join(",")}]`);
    k += i * st[d];
  });
  return k;
}

/** The most axes a shape may have (NumPy 2's limit): a rank-5000 shape would overflow the stack in deep passes. */
export const MAX_RANK = 64;

export function checkShape(shape: Shape, where: string): void {
  if (shape.length > MAX_RANK) throw new GradcError(`${where}: a shape of rank ${shape.length}: gradc takes at most ${MAX_RANK} axes`);
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new GradcError(`${where}: bad shape [${shape.join(",")}]: dimensions must be non-negative integers`);
  }
}

/** `[200,3]`; a symbolic size by its name, `[N,3]` (core/symbol-table.ts). */
export const shapeStr = (shape: Shape): string => `[${shape.map(dimStr).join(",")}]`;
export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((s, i) => s === b[i]);

/**
 * What is wrong with a tensor at the moment it is used, or undefined: its buffer transferred or
 * detached (postMessage, ArrayBuffer.transfer: the view reads 0 values) or its data no longer
 * filling its shape. A tensor is checked when made; this checks it where it is read.
 */
export function staleTensor(t: Tensor): string | undefined {
  const buffer = t.data.buffer as ArrayBuffer & { detached?: boolean };
  if (buffer.detached === true || (t.data.length === 0 && t.data.byteOffset === 0 && buffer.byteLength === 0 && sizeOf(t.shape) > 0)) {
    return `its buffer was transferred or detached (it held ${sizeOf(t.shape)} values of shape [${t.shape.join(",")}])`;
  }
  if (t.data.length !== sizeOf(t.shape)) return `its ${t.data.length} values no longer fill its shape [${t.shape.join(",")}]`;
  return undefined;
}
