// The three-layer conv net as the notebook checks it: every parameter's gradient against finite
// differences (without and with spatial batchnorm and group norm, float64), the Solver overfitting
// a few images, scores in test mode, and bad input named.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { ThreeLayerConvNet, type ConvNormalization } from "../nn/convnet.js";
import { Solver } from "../nn/solver.js";
import { RandomState } from "../nn/random.js";
import { Tensor } from "../core/tensor.js";
import { GradcError } from "../core/errors.js";
import { evalNumericalGradient, maxAbs, relError } from "../compile/check/numeric.js";

const images = (n: number, shape: number[], seed: number) => {
  const rng = new RandomState(seed);
  return new Tensor(rng.randn(n, ...shape), [n, ...shape]);
};

for (const normalization of [null, "batchnorm", "groupnorm"] as ConvNormalization[]) {
  test(`every gradient of the conv net (${normalization ?? "no normalization"}) agrees with finite differences`, () => {
    const net = new ThreeLayerConvNet({
      inputDim: [3, 6, 6],
      numFilters: 4,
      filterSize: 3,
      hiddenDim: 7,
      numClasses: 5,
      weightScale: 0.3,
      reg: 0.05,
      dtype: "f64",
      seed: 24,
      normalization,
      groups: 2,
    });
    const X = images(3, [3, 6, 6], 1);
    const y = [0, 3, 4];
    const { grads } = net.loss(X, y);
    for (const name of Object.keys(net.params)) {
      const state = { ...net.state };
      const num = evalNumericalGradient(() => {
        Object.assign(net.state, state); // train mode moves the running averages: every probe starts from the same ones
        return net.loss(X, y).loss;
      }, net.params[name]);
      if (name === "b1" && normalization === "batchnorm") {
        // a bias feeding batchnorm is subtracted away with the batch mean: its gradient is 0 up to round-off
        assert.ok(maxAbs(grads[name]) < 1e-12 && maxAbs(num) < 1e-8, `b1: |derived| ${maxAbs(grads[name])}, |numerical| ${maxAbs(num)}`);
        continue;
      }
      const err = relError(num, grads[name]);
      assert.ok(err < 1e-6, `${name}: relative error ${err}`);
    }
  });
}

test("the Solver overfits 20 images with the conv net (training accuracy 1), test mode gives scores", () => {
  const rng = new RandomState(3);
  const X = images(20, [3, 8, 8], 2);
  const y = Array.from({ length: 20 }, (_, i) => i % 4);
  const net = new ThreeLayerConvNet({ inputDim: [3, 8, 8], numFilters: 6, filterSize: 3, hiddenDim: 30, numClasses: 4, weightScale: 0.1, rng });
  const solver = new Solver(
    net,
    { XTrain: X, yTrain: y, XVal: X, yVal: y },
    { numEpochs: 40, batchSize: 10, updateRule: "adam", optimConfig: { learningRate: 5e-3 }, rng },
  );
  solver.train();
  assert.ok(solver.trainAccHistory.at(-1)! >= 0.95, `train accuracy ${solver.trainAccHistory.at(-1)}`);
  assert.deepEqual(net.loss(X).shape, [20, 4]);
  assert.equal(net.dtype, "f32");
});

test("bad options and inputs are GradcErrors naming the net", () => {
  assert.throws(
    () => new ThreeLayerConvNet({ filterSize: 4 }),
    (e: unknown) => e instanceof GradcError && /filterSize must be odd/.test(e.message),
  );
  assert.throws(
    () => new ThreeLayerConvNet({ normalization: "groupnorm", numFilters: 6, groups: 4 }),
    (e: unknown) => e instanceof GradcError && /groups 4 must divide numFilters 6/.test(e.message),
  );
  const net = new ThreeLayerConvNet({ inputDim: [3, 8, 8], numFilters: 2, hiddenDim: 4 });
  assert.throws(
    () => net.loss(images(2, [3, 6, 6], 1)),
    (e: unknown) => e instanceof GradcError && /expected N images of \[3,8,8\]/.test(e.message),
  );
});
