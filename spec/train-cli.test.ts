// gradc train: a module's model trained from the command line; the same seed gives the same
// numbers; outputs and bad input are checked before training starts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor } from "../core/tensor.js";
import { saveSafetensors } from "../nn/safetensors.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "cli.js");
const examples = join(root, "..", "examples");
const tmp = mkdtempSync(join(tmpdir(), "gradc-train-cli-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const train = (...args: string[]) => spawnSync(process.execPath, [cli, "train", ...args], { encoding: "utf8" });
const quick = ["--data", "mnist", "--epochs", "1", "--num-train", "400", "--batch", "50", "--seed", "3"];

test("gradc train writes results, plots, parameters and a checkpoint; the same seed gives the same numbers", () => {
  const runs = ["a", "b"].map((k) => {
    const out = join(tmp, k);
    execFileSync(process.execPath, [cli, "train", join(examples, "mlp-mnist.mjs"), ...quick, "--out", out], { stdio: "pipe" });
    for (const f of ["results.json", "loss.svg", "accuracy.svg", "index.html", "model.safetensors", "checkpoint.safetensors"])
      assert.ok(existsSync(join(out, f)), f);
    return JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  });
  assert.equal(runs[0].lossHistory.length, 8);
  assert.deepEqual(runs[0].lossHistory, runs[1].lossHistory);
  assert.deepEqual(runs[0].valAccHistory, runs[1].valAccHistory);
  assert.ok(runs[0].bestValAcc > 0.5, `val accuracy ${runs[0].valAccHistory}`);
  assert.deepEqual(runs[0].parameters["hidden.W"], [784, 128]);
});

test("gradc train: a bad --out, a batch larger than the data, another model's checkpoint: one line, before training", () => {
  const file = join(tmp, "file");
  writeFileSync(file, "x");
  let r = train(join(examples, "mlp-mnist.mjs"), ...quick, "--out", join(file, "sub"));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^gradc: train: cannot write --out .*is a file, not a folder/);
  r = train(join(examples, "mlp-mnist.mjs"), ...quick, "--batch", "500", "--out", join(tmp, "c"));
  assert.match(r.stderr, /the dataset holds 400 examples, fewer than one batch of 500/);
  assert.doesNotMatch(r.stdout, /Iteration/);
  const narrow = join(tmp, "narrow.mjs");
  writeFileSync(narrow, readFileSync(join(examples, "mlp-mnist.mjs"), "utf8").replace("H = 128", "H = 64"));
  r = train(narrow, ...quick, "--resume", join(tmp, "a", "checkpoint.safetensors"), "--out", join(tmp, "d"));
  assert.match(r.stderr, /checkpoint\.safetensors: parameter "hidden\.W" is f64\[784,128\], the model's is f64\[784,64\]/);
  assert.doesNotMatch(r.stdout, /Iteration/);
});

test("gradc train: an { inputs, fn } module with init, on a .safetensors data file with integer labels", () => {
  const mod = join(tmp, "softmax.mjs");
  writeFileSync(
    mod,
    `import { ops, init } from "gradc";
export default { inputs: {}, init: (rng) => ({ W: init.normal(rng, [2, 2], { std: 0.1 }), b: init.zeros([2]) }),
  fn: ({ X, y, W, b }) => ops.softmaxCrossEntropy(ops.affine(X, W, b), y), predict: (p, X) => ops.affine(X, p.W, p.b) };`,
  );
  // two separable blobs: class = (x0 > 0)
  const n = 64;
  const X = new Tensor(
    Float64Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? (Math.floor(i / 2) % 2 ? 1 : -1) * (1 + (i % 7) / 7) : (i % 5) / 5)),
    [n, 2],
  );
  const y = new Tensor(
    Float64Array.from({ length: n }, (_, i) => i % 2),
    [n],
  );
  const data = join(tmp, "blobs.safetensors");
  saveSafetensors(data, { X_train: X, y_train: y, X_val: X, y_val: y });
  const r = train(mod, "--data", data, "--epochs", "20", "--batch", "16", "--lr", "0.1", "--optimizer", "nesterov", "--out", join(tmp, "e"));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(tmp, "e", "results.json"), "utf8")).bestValAcc, 1);
  const bad = join(tmp, "bad.safetensors");
  saveSafetensors(bad, {
    X_train: X,
    y_train: new Tensor(
      Float64Array.from({ length: n }, (_, i) => (i === 9 ? 2.5 : i % 2)),
      [n],
    ),
    X_val: X,
    y_val: y,
  });
  assert.match(train(mod, "--data", bad, "--out", join(tmp, "f")).stderr, /training labels: label 2.5 at 9 is not an integer/);
});
