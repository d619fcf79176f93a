// Models with state (batchnorm's running averages) as tree models: the notebook's nets'
// asModel() thread their running averages as a state tree returned beside the loss, and train as
// the nets themselves do, through valueAndGrad and through the compiled training step.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor } from "../core/tensor.js";
import { FullyConnectedNet } from "../nn/net.js";
import { ThreeLayerConvNet } from "../nn/convnet.js";
import { Solver, type SolverOptions } from "../nn/solver.js";
import { treeModel } from "../nn/model.js";
import { RandomState } from "../nn/random.js";
import * as optim from "../nn/optimizers.js";

const quiet: SolverOptions = { verbose: false, numTrainSamples: null };

function toyData(n: number, shape: number[], seed: number) {
  const rng = new RandomState(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const make = (m: number) => ({ X: new Tensor(rng.randn(m * size), [m, ...shape]), y: Float64Array.from({ length: m }, () => rng.randint(0, 10)) });
  const train = make(n),
    val = make(40);
  return { XTrain: train.X, yTrain: train.y, XVal: val.X, yVal: val.y };
}

const close = (a: Record<string, Tensor>, b: Record<string, Tensor>, tol: number) => {
  for (const [k, t] of Object.entries(b)) {
    for (let i = 0; i < t.size; i++)
      assert.ok(Math.abs(a[k].data[i] - t.data[i]) <= tol * (1 + Math.abs(t.data[i])), `${k}[${i}]: ${a[k].data[i]} vs ${t.data[i]}`);
  }
};

test("FullyConnectedNet with batchnorm as a tree model: the running averages are its state, and it trains as the net itself does", () => {
  const data = toyData(200, [64], 1);
  const net = () => new FullyConnectedNet([30, 20], { inputDim: 64, seed: 4, normalization: "batchnorm", reg: 0.01 });
  const opts: SolverOptions = { ...quiet, updateRule: "adam", optimConfig: { learningRate: 1e-3 }, batchSize: 50, numEpochs: 2, seed: 9 };
  const itself = new Solver(net(), data, opts).train();
  const asModel = new Solver(net().asModel(), data, opts).train();
  itself.lossHistory.forEach((l, i) => assert.ok(Math.abs(l - asModel.lossHistory[i]) < 1e-9 * l, `iteration ${i + 1}: ${l} vs ${asModel.lossHistory[i]}`));
  assert.deepEqual(asModel.valAccHistory, itself.valAccHistory);
  const state = asModel.model.state!;
  assert.deepEqual(Object.keys(state), ["runningMean1", "runningVar1", "runningMean2", "runningVar2"]);
  close(state, (itself.model as FullyConnectedNet).state, 1e-9);
});

test("the compiled training step threads the state too: Adam through one executable follows valueAndGrad + update", () => {
  const data = toyData(200, [64], 2);
  const net = () => new FullyConnectedNet([30], { inputDim: 64, seed: 5, normalization: "batchnorm" });
  const opts = (compiledStep: boolean): SolverOptions => ({
    ...quiet,
    optimizer: optim.adam({ lr: 1e-3 }),
    compiledStep,
    batchSize: 50,
    numEpochs: 2,
    seed: 3,
  });
  const compiled = new Solver(net().asModel(), data, opts(true)).train();
  const eager = new Solver(net().asModel(), data, opts(false)).train();
  compiled.lossHistory.forEach((l, i) => assert.ok(Math.abs(l - eager.lossHistory[i]) < 1e-9 * l, `iteration ${i + 1}: ${l} vs ${eager.lossHistory[i]}`));
  const s = (x: Solver) => x.model.state!;
  assert.ok(
    s(compiled).runningMean1.data.some((v) => v !== 0),
    "the running mean moved",
  );
  close(s(compiled), s(eager), 1e-9);
});

test("ThreeLayerConvNet with spatial batchnorm as a tree model: the same loss, gradients and running averages as the net", () => {
  const opts = {
    inputDim: [3, 8, 8] as const,
    numFilters: 4,
    filterSize: 3,
    hiddenDim: 10,
    normalization: "batchnorm" as const,
    dtype: "f64" as const,
    seed: 2,
    weightScale: 1e-2,
    reg: 0.1,
  };
  const net = new ThreeLayerConvNet(opts);
  const model = treeModel(new ThreeLayerConvNet(opts).asModel());
  const rng = new RandomState(7);
  const X = new Tensor(rng.randn(6 * 3 * 8 * 8), [6, 3, 8, 8]);
  const y = [0, 1, 2, 3, 4, 5];
  for (let k = 0; k < 2; k++) {
    const want = net.loss(X, y),
      got = model.loss(X, y);
    assert.ok(Math.abs(want.loss - got.loss) < 1e-10 * want.loss);
    close(got.grads, want.grads, 1e-8);
    close(model.state, net.state, 1e-12);
  }
  const scores = model.loss(X),
    ref = net.loss(X);
  close({ s: scores }, { s: ref }, 1e-10);
});
