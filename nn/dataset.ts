// A generic in-memory dataset (examples X [N, ...] and integer labels y [N] or [N, ...]) with
// shuffled minibatches, and the two functions a classifier's evaluation needs: argmax and accuracy.
// Labels are integer arrays (Int32Array, Uint8Array, number[]) or tensors of whole numbers,
// checked once where they enter.

import { GradcError } from "../core/errors.js";
import { allocate, shapeStr, Tensor, type DType } from "../core/tensor.js";
import { RandomState } from "./random.js";

export type LabelArray = Int32Array | Uint8Array | readonly number[] | Tensor;

export interface Batch {
  X: Tensor;
  /** Labels as a tensor of the examples' dtype, shape [B] or [B, ...] (what a traced loss takes). */
  y: Tensor;
  /** The example indices in this batch. */
  index: Int32Array;
}

/**
 * Examples and labels in memory.
 *
 *   const train = new ArrayDataset(X, y, { numClasses: 10 });
 *   for (const { X, y } of train.batches(64, { rng })) ...     // shuffled each call
 */
export class ArrayDataset {
  readonly X: Tensor;
  /** Labels, one row per example, as integers. */
  readonly y: Int32Array;
  /** Shape of one example's labels ([] for one class per example). */
  readonly labelShape: readonly number[];
  readonly size: number;

  constructor(X: Tensor, y: LabelArray, opts: { numClasses?: number; name?: string } = {}) {
    const name = opts.name ?? "ArrayDataset";
    if (!(X instanceof Tensor) || X.shape.length < 1)
      throw new GradcError(`${name}: X must be a tensor [N, ...], got ${X instanceof Tensor ? shapeStr(X.shape) : typeof X}`);
    const n = X.shape[0];
    const labels = checkLabels(y, name, opts.numClasses);
    if (labels.length % Math.max(n, 1) !== 0 || (n === 0 && labels.length > 0)) {
      throw new GradcError(`${name}: ${n} examples (X ${shapeStr(X.shape)}) but ${labels.length} labels`);
    }
    this.labelShape = y instanceof Tensor ? y.shape.slice(1) : labels.length === n ? [] : [labels.length / n];
    if (y instanceof Tensor && y.shape[0] !== n) throw new GradcError(`${name}: ${n} examples (X ${shapeStr(X.shape)}) but labels ${shapeStr(y.shape)}`);
    this.X = X;
    this.y = labels;
    this.size = n;
  }

  /** Values per example of X, and label values per example. */
  get rowSize(): number {
    return this.size === 0 ? 0 : this.X.size / this.size;
  }
  get labelsPerExample(): number {
    return this.labelShape.reduce((a, b) => a * b, 1);
  }

  /** The examples at `index` as one batch, in that order (into `into` when given, for reuse). */
  take(index: Int32Array | readonly number[], into?: Batch): Batch {
    const row = this.rowSize,
      lab = this.labelsPerExample,
      n = index.length;
    const X = into?.X.shape[0] === n ? into.X : new Tensor(allocate(n * row, this.X.dtype), [n, ...this.X.shape.slice(1)]);
    const y = into?.y.shape[0] === n ? into.y : new Tensor(allocate(n * lab, this.X.dtype), [n, ...this.labelShape]);
    const idx = Int32Array.from(index);
    for (let i = 0; i < n; i++) {
      const k = idx[i];
      if (!(k >= 0 && k < this.size)) throw new GradcError(`ArrayDataset.take: index ${k} out of range 0..${this.size - 1}`);
      X.data.set(this.X.data.subarray(k * row, (k + 1) * row), i * row);
      for (let j = 0; j < lab; j++) y.data[i * lab + j] = this.y[k * lab + j];
    }
    return { X, y, index: idx };
  }

  /**
   * The minibatches of one pass: shuffled with rng's permutation when given, in order otherwise;
   * the last, smaller batch is dropped unless dropLast is false.
   */
  *batches(batchSize: number, opts: { rng?: RandomState; dropLast?: boolean; reuse?: boolean } = {}): Generator<Batch> {
    checkBatchSize(batchSize, this.size, "ArrayDataset.batches");
    const order = opts.rng ? Int32Array.from(opts.rng.permutation(this.size)) : Int32Array.from({ length: this.size }, (_, i) => i);
    const end = (opts.dropLast ?? true) ? this.size - (this.size % batchSize) : this.size;
    let last: Batch | undefined;
    for (let s = 0; s < end; s += batchSize) {
      const b = this.take(order.subarray(s, Math.min(s + batchSize, end)), opts.reuse ? last : undefined);
      last = b;
      yield b;
    }
  }

  /** Examples from..to-1 as a view (no copy): for predicting in batches. */
  slice(from: number, to: number): Tensor {
    const row = this.rowSize;
    return new Tensor(this.X.data.subarray(from * row, to * row), [to - from, ...this.X.shape.slice(1)]);
  }
}

/** A batch size must be a positive integer no larger than the dataset. */
export function checkBatchSize(batchSize: number, size: number, where: string): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new GradcError(`${where}: the batch size must be a positive integer, got ${batchSize}`);
  if (size < batchSize) throw new GradcError(`${where}: the dataset holds ${size} examples, fewer than one batch of ${batchSize}`);
}

/** Labels as an Int32Array, every one a whole number in 0..numClasses-1: an error naming the first that is not. */
export function checkLabels(y: LabelArray, where: string, numClasses?: number): Int32Array {
  const values: ArrayLike<number> = y instanceof Tensor ? y.data : y;
  if (values === null || typeof values !== "object" || typeof values.length !== "number")
    throw new GradcError(`${where}: labels must be an integer array or a tensor, got ${typeof y}`);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = values[i];
    if (!Number.isInteger(c)) throw new GradcError(`${where}: label ${c} at ${i} is not an integer (labels are class indices)`);
    if (c < 0 || (numClasses !== undefined && c >= numClasses)) {
      throw new GradcError(`${where}: label ${c} at ${i} is out of range: classes are 0..${numClasses === undefined ? "" : numClasses - 1}`);
    }
    out[i] = c;
  }
  return out;
}

/**
 * The index of the largest value along the last axis (first on ties, as numpy): scores [..., C] -> [...].
 *
 *   argmax(tensor([[0.1, 2, 0.3], [5, 1, 1]]))   // Int32Array [1, 0]
 */
export function argmax(scores: Tensor): Int32Array {
  const c = scores.shape[scores.shape.length - 1];
  if (scores.shape.length < 1 || !(c >= 1)) throw new GradcError(`argmax: scores must have a last axis of classes, got ${shapeStr(scores.shape)}`);
  const rows = scores.size / c,
    d = scores.data;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (d[i * c + j] > d[i * c + best]) best = j;
    out[i] = best;
  }
  return out;
}

/**
 * The fraction of rows whose argmax is the label: scores [..., C], labels [...] (integers).
 *
 *   accuracy(scores, y)   // 0.93
 */
export function accuracy(scores: Tensor, labels: LabelArray): number {
  const pred = argmax(scores);
  const y: ArrayLike<number> = labels instanceof Tensor ? labels.data : labels;
  if (y.length !== pred.length) throw new GradcError(`accuracy: ${pred.length} predictions (scores ${shapeStr(scores.shape)}) but ${y.length} labels`);
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) hit++;
  return pred.length === 0 ? 0 : hit / pred.length;
}

/** Labels [N] as a float tensor of a dtype (what softmaxCrossEntropy takes). */
export function labelTensor(y: LabelArray, dtype: DType = "f64"): Tensor {
  const v = checkLabels(y, "labelTensor");
  const data = allocate(v.length, dtype);
  data.set(v);
  return new Tensor(data, y instanceof Tensor ? y.shape : [v.length]);
}
