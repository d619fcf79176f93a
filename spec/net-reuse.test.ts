// FullyConnectedNet({ reuseOutputs: true }): loss returns views of the compiled graphs' buffers
// (what the Solver and the experiments use). The values must be the fresh-array net's, step after
// step, with the running averages carried over.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { FullyConnectedNet } from "../nn/net.js";
import { RandomState } from "../nn/random.js";
import { tensor } from "../core/tensor.js";

test("a net with reuseOutputs computes the same losses, gradients, running averages and scores as one without", () => {
  const rs = new RandomState(3);
  const X = tensor(rs.randn(8, 6), [8, 6]);
  const y = [0, 1, 2, 1, 0, 2, 2, 1];
  const [fresh, reused] = [false, true].map(
    (reuseOutputs) => new FullyConnectedNet([5, 4], { inputDim: 6, numClasses: 3, weightScale: 0.3, normalization: "batchnorm", seed: 2, reuseOutputs }),
  );
  for (let step = 0; step < 3; step++) {
    const a = fresh.loss(X, y),
      b = reused.loss(X, y);
    assert.equal(b.loss, a.loss, `step ${step}: loss`);
    for (const k of Object.keys(a.grads)) assert.deepEqual(Array.from(b.grads[k].data), Array.from(a.grads[k].data), `step ${step}: d${k}`);
    // a plain gradient step on both, so the next step sees new parameters
    for (const net of [fresh, reused]) {
      const g = net === fresh ? a.grads : b.grads;
      for (const k of Object.keys(net.params)) net.params[k].data.forEach((_, i, w) => (w[i] -= 0.1 * g[k].data[i]));
    }
  }
  for (const k of Object.keys(fresh.state)) assert.deepEqual(Array.from(reused.state[k].data), Array.from(fresh.state[k].data), k);
  assert.deepEqual(Array.from(reused.loss(X).data), Array.from(fresh.loss(X).data), "test-mode scores");
});
