// The notebook's printed figures, reproduced to every printed digit: numpy's seeded stream
// (nn/random.ts) feeds gradc's graphs, so a seeded notebook cell and its gradc port agree exactly.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { RandomState } from "../nn/random.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { Tensor, tensor } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { batchnorm } from "../ops/composites.js";
import { evalNumericalGradientArray, relError } from "../compile/check/numeric.js";
import { columnStats } from "../nn/batchnorm-reference.js";

const N = 200,
  D1 = 50,
  D2 = 60,
  D3 = 3;

/** a = relu(X W1) W2, as the notebook builds it. */
const twoLayer = trace({ X: [N, D1], W1: [D1, D2], W2: [D2, D3] }, ({ X, W1, W2 }) => X.matmul(W1).relu().matmul(W2));

/** The batchnorm forward with running averages in and out, train or test mode. */
const bnTrain = trace({ a: [N, D3], gamma: [D3], beta: [D3], rm: [D3], rv: [D3] }, ({ a, gamma, beta, rm, rv }) => {
  const r = batchnorm(a, gamma, beta, { runningMean: rm, runningVar: rv });
  return { out: r.out, rm: r.runningMean!, rv: r.runningVar! };
});
const bnTest = trace(
  { a: [N, D3], gamma: [D3], beta: [D3], rm: [D3], rv: [D3] },
  ({ a, gamma, beta, rm, rv }) => batchnorm(a, gamma, beta, { mode: "test", runningMean: rm, runningVar: rv }).out,
);

/** Equal to every digit numpy printed (precision 8). */
function printed(actual: number[], expected: number[], what: string) {
  assert.deepEqual(
    actual.map((v) => Number(v.toFixed(8))),
    expected,
    `${what}: ${actual.join(", ")}`,
  );
}

const randn = (rs: RandomState, ...dims: number[]) => tensor(rs.randn(...dims) as Float64Array, dims);

test("np.random.seed(231): before batch normalization, the notebook's means and stds", () => {
  const rs = new RandomState(231);
  const X = randn(rs, N, D1),
    W1 = randn(rs, D1, D2),
    W2 = randn(rs, D2, D3);
  const a = evaluate(twoLayer, { X, W1, W2 }).out;
  const { means, stds } = columnStats(a);
  printed(means, [-2.3814598, -13.18038246, 1.91780462], "means");
  printed(stds, [27.18502186, 34.21455511, 37.68611762], "stds");

  const zero = tensor([0, 0, 0]);
  const out = evaluate(bnTrain, { a, gamma: tensor([1, 2, 3]), beta: tensor([11, 12, 13]), rm: zero, rv: zero }).out;
  const after = columnStats(out);
  printed(after.means, [11, 12, 13], "means with beta");
  printed(after.stds, [0.99999999, 1.99999999, 2.99999999], "stds with gamma");
});

test("np.random.seed(231): the test-time check after 50 training passes, to every printed digit", () => {
  const rs = new RandomState(231);
  const W1 = randn(rs, D1, D2),
    W2 = randn(rs, D2, D3);
  const gamma = tensor([1, 1, 1]),
    beta = tensor([0, 0, 0]);
  let rm = tensor([0, 0, 0]),
    rv = tensor([0, 0, 0]);
  for (let t = 0; t < 50; t++) {
    const a = evaluate(twoLayer, { X: randn(rs, N, D1), W1, W2 }).out;
    ({ rm, rv } = evaluate(bnTrain, { a, gamma, beta, rm, rv }));
  }
  const a = evaluate(twoLayer, { X: randn(rs, N, D1), W1, W2 }).out;
  const { means, stds } = columnStats(evaluate(bnTest, { a, gamma, beta, rm, rv }).out);
  printed(means, [-0.03927354, -0.04349152, -0.10452688], "means");
  printed(stds, [1.01531428, 1.01238373, 0.97819988], "stds");
});

test("np.random.seed(231): gradient check at N=4, D=5 gives the notebook's orders of error", () => {
  const rs = new RandomState(231);
  const n = 4,
    d = 5;
  const x = tensor(
    (rs.randn(n, d) as Float64Array).map((v) => 5 * v + 12),
    [n, d],
  );
  const gamma = randn(rs, d),
    beta = randn(rs, d),
    dout = randn(rs, n, d);
  const fwd = trace({ x: [n, d], gamma: [d], beta: [d] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out);
  const f = (inputs: Record<string, Tensor>) => evaluate(fwd, inputs).out;
  const num = {
    dx: evalNumericalGradientArray((v) => f({ x: v, gamma, beta }), x, dout),
    dgamma: evalNumericalGradientArray((v) => f({ x, gamma: v, beta }), gamma, dout),
    dbeta: evalNumericalGradientArray((v) => f({ x, gamma, beta: v }), beta, dout),
  };
  const { forward, backward } = vjp(fwd, { of: "out" });
  const res = evaluate(forward, { x, gamma, beta });
  const bwd = optimize(backward);
  const inputs = Object.fromEntries(bwd.inputNames.map((k) => [k, k === "dout" ? dout : (res[k] ?? { x, gamma, beta }[k]!)]));
  const got = evaluate(bwd, inputs);
  const err = { dx: relError(num.dx, got.dx), dgamma: relError(num.dgamma, got.dgamma), dbeta: relError(num.dbeta, got.dbeta) };
  // the notebook prints dx 1.7e-09, dgamma 7.4e-13, dbeta 2.9e-12
  assert.ok(err.dx > 1e-10 && err.dx < 1e-8, `dx error ${err.dx}`);
  assert.ok(err.dgamma > 1e-14 && err.dgamma < 1e-11, `dgamma error ${err.dgamma}`);
  assert.ok(err.dbeta > 1e-13 && err.dbeta < 1e-11, `dbeta error ${err.dbeta}`);
  console.log(`# notebook gradient check: dx ${err.dx.toExponential(3)}, dgamma ${err.dgamma.toExponential(3)}, dbeta ${err.dbeta.toExponential(3)}`);
});
