// The Solver as a general trainer: tree models { init, loss, predict }, optimizers over trees,
// shuffled epochs, NaN stops, safetensors checkpoints and resuming with the same numbers.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor } from "../core/tensor.js";
import type { Node } from "../core/node.js";
import { affine, softmaxCrossEntropy } from "../ops/composites.js";
import { loadMnist } from "../nn/data.js";
import { FullyConnectedNet } from "../nn/net.js";
import { Solver, type SolverOptions } from "../nn/solver.js";
import type { ModelSpec } from "../nn/model.js";
import { init } from "../nn/tree.js";
import { RandomState } from "../nn/random.js";
import * as optim from "../nn/optimizers.js";
import { loadSafetensors, saveSafetensors } from "../nn/safetensors.js";
import { loadParams, restoreCheckpoint, saveCheckpoint, saveParams } from "../nn/checkpoint.js";

const tmp = mkdtempSync(join(tmpdir(), "gradc-train-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const ds = loadMnist({ numTrain: 300, numVal: 100, numTest: 0 });
for (const X of [ds.X_train, ds.X_val]) for (let i = 0; i < X.data.length; i++) X.data[i] /= 255;
const data = { XTrain: ds.X_train, yTrain: ds.y_train, XVal: ds.X_val, yVal: ds.y_val };

type P = { hidden: { W: Node; b: Node }; out: { W: Node; b: Node } };
const mlp = (hidden = 32): ModelSpec => {
  const scores = (p: P, X: Node) => affine(affine(X.reshape([X.shape[0], 784]), p.hidden.W, p.hidden.b).relu(), p.out.W, p.out.b);
  return {
    init: (rng) => ({
      hidden: { W: init.heNormal(rng, [784, hidden]), b: init.zeros([hidden]) },
      out: { W: init.glorotUniform(rng, [hidden, 10]), b: init.zeros([10]) },
    }),
    loss: (p, { X, y }) => softmaxCrossEntropy(scores(p as unknown as P, X), y),
    predict: (p, X) => scores(p as unknown as P, X),
  };
};
const quiet: SolverOptions = { verbose: false, numTrainSamples: null };

test("the Solver trains a tree model with a tree optimizer over shuffled epochs", () => {
  const solver = new Solver(mlp(), data, { ...quiet, optimizer: optim.adam({ lr: 2e-3 }), shuffle: true, batchSize: 30, numEpochs: 3, seed: 1 });
  assert.deepEqual(Object.keys(solver.model.params), ["hidden.W", "hidden.b", "out.W", "out.b"]);
  solver.train();
  assert.equal(solver.lossHistory.length, 30);
  assert.equal(solver.valAccHistory.length, 4);
  assert.ok(solver.bestValAcc > 0.6, `val accuracy by epoch ${solver.valAccHistory}`);
  assert.equal(solver.optimizerState!.step, 30);
});

test("a run restored from a mid-epoch checkpoint ends with the same numbers as one never interrupted", () => {
  const opts: SolverOptions = { ...quiet, optimizer: optim.sgd({ lr: 0.05, momentum: 0.9 }), shuffle: true, batchSize: 40, numEpochs: 2, seed: 7 };
  const whole = new Solver(mlp(16), data, opts);
  for (let k = 0; k < 4; k++) whole.step();
  const file = join(tmp, "mid.safetensors");
  saveCheckpoint(whole, file);
  whole.train();
  const resumed = new Solver(mlp(16), data, { ...opts, optimizer: optim.sgd({ lr: 0.05, momentum: 0.9 }) });
  restoreCheckpoint(resumed, file);
  assert.equal(resumed.iteration, 4);
  resumed.train();
  assert.deepEqual(resumed.lossHistory, whole.lossHistory);
  assert.deepEqual(resumed.valAccHistory, whole.valAccHistory);
  for (const k of Object.keys(whole.model.params)) assert.deepEqual(resumed.model.params[k].data, whole.model.params[k].data, k);
});

test("the notebook's net and Adam rule resume from an epoch's checkpoint to the same numbers", () => {
  const opts = (log: string[]): SolverOptions => ({
    ...quiet,
    updateRule: "adam",
    optimConfig: { learningRate: 1e-3 },
    batchSize: 50,
    numEpochs: 2,
    seed: 3,
    onEpoch: (s) => s.epoch === 1 && saveCheckpoint(s, join(tmp, "epoch1.safetensors")) && log.push("saved"),
  });
  const whole = new Solver(new FullyConnectedNet([20], { inputDim: 784, seed: 0, normalization: "batchnorm" }), data, opts([])).train();
  const net = new FullyConnectedNet([20], { inputDim: 784, seed: 5, normalization: "batchnorm" });
  const resumed = new Solver(net, data, opts([]));
  restoreCheckpoint(resumed, join(tmp, "epoch1.safetensors"));
  resumed.train();
  assert.deepEqual(resumed.lossHistory, whole.lossHistory);
  for (const k of Object.keys(whole.model.params)) assert.deepEqual(resumed.model.params[k].data, whole.model.params[k].data, k);
  assert.deepEqual(net.state.runningMean1.data, (whole.model as FullyConnectedNet).state.runningMean1.data);
});

test("a checkpoint of another model is refused, naming the file and the parameter, before training", () => {
  const file = join(tmp, "small.safetensors");
  const small = new Solver(mlp(8), data, { ...quiet, optimizer: optim.adam(), seed: 0 });
  saveCheckpoint(small, file);
  const other = new Solver(mlp(16), data, { ...quiet, optimizer: optim.adam(), seed: 0 });
  assert.throws(() => restoreCheckpoint(other, file), /small\.safetensors: parameter "hidden\.W" is f64\[784,8\], the model's is f64\[784,16\]/);
  assert.throws(() => loadParams(file, mlp(16).init!(new RandomState(0))), /parameter "hidden\.W"/);
});

test("a NaN loss stops training with the epoch, the iteration and the first parameter whose gradient is not finite", () => {
  const model: ModelSpec = {
    init: () => ({ a: init.ones([3]), w: init.ones([784, 2]) }),
    loss: (p, { X }) => {
      const q = p as { a: Node; w: Node };
      return X.reshape([X.shape[0], 784]).matmul(q.w).mean().add(q.a.sqrt().sum());
    },
  };
  const lines: string[] = [];
  const solver = new Solver(model, data, {
    ...quiet,
    verbose: true,
    log: (l) => lines.push(l),
    progress: false,
    optimizer: optim.sgd({ lr: 5 }),
    batchSize: 100,
    numEpochs: 3,
    seed: 0,
  });
  solver.train();
  assert.ok(solver.stopped, "stopped");
  assert.equal(solver.stopped!.parameter, "a");
  assert.match(lines.at(-1)!, /loss is NaN at epoch 1, iteration 2 \(2 of 3 in the epoch\); the first parameter whose gradient is not finite: a/);
});

test("bad labels and a dataset smaller than one batch are refused when the Solver is made", () => {
  const bad = Int32Array.from(ds.y_train);
  bad[17] = 10;
  assert.throws(() => new Solver(mlp(), { ...data, yTrain: bad }, quiet), /training labels: label 10 at 17 is out of range: classes are 0\.\.9/);
  assert.throws(() => new Solver(mlp(), { ...data, yTrain: Array.from(ds.y_train, (v, i) => (i === 3 ? 0.5 : v)) }, quiet), /label 0.5 at 3 is not an integer/);
  assert.throws(() => new Solver(mlp(), data, { ...quiet, batchSize: 301 }), /holds 300 examples, fewer than one batch of 301/);
});

test("safetensors: the header other tools read; round trip; a damaged file is named", () => {
  const file = join(tmp, "t.safetensors");
  const W = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  saveParams(file, { layer: { W, b: new Tensor(Float64Array.from([0.5]), [1]) } }, { note: "hi" });
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
  assert.deepEqual(header["layer.W"], { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header["layer.b"], { dtype: "F64", shape: [1], data_offsets: [24, 32] });
  assert.equal(bytes.readFloatLE(8 + n + 4), 2);
  const back = loadSafetensors(file);
  assert.deepEqual(back.tensors["layer.W"].data, W.data);
  assert.equal(back.metadata.note, "hi");
  writeFileSync(file, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => loadSafetensors(file), /t\.safetensors: tensor "layer\.b" \(F64\[1\]\) has data_offsets \[24,32\]/);
  saveSafetensors(file, {});
  assert.deepEqual(loadSafetensors(file).tensors, {});
});

test("FullyConnectedNet.asModel is an { init, loss, predict } model that trains as the net itself does", () => {
  const net = () => new FullyConnectedNet([30, 20], { inputDim: 784, seed: 4, normalization: "layernorm", reg: 0.01 });
  const opts: SolverOptions = { ...quiet, updateRule: "adam", optimConfig: { learningRate: 1e-3 }, batchSize: 50, numEpochs: 2, seed: 9 };
  const itself = new Solver(net(), data, opts).train();
  const asModel = new Solver(net().asModel(), data, opts).train();
  assert.deepEqual(Object.keys(asModel.model.params), Object.keys(itself.model.params));
  itself.lossHistory.forEach((l, i) => assert.ok(Math.abs(l - asModel.lossHistory[i]) < 1e-9 * l, `iteration ${i + 1}: ${l} vs ${asModel.lossHistory[i]}`));
  assert.deepEqual(asModel.valAccHistory, itself.valAccHistory);
});
