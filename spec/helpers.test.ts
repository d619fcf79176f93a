// The checking tools themselves, checked: a reference that is wrong would pass wrong gradients.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor } from "../core/tensor.js";
import { evalNumericalGradient, evalNumericalGradientArray, randomTensor, relError, seededRandom } from "../compile/check/numeric.js";
import { batchnormBackwardAlt, batchnormForwardRef } from "../nn/batchnorm-reference.js";

test("relError is the notebook's: max |x - y| / max(1e-8, |x| + |y|)", () => {
  assert.equal(relError([1, 2], [1, 2]), 0);
  assert.equal(relError([1, 3], [1, 1]), 0.5);
  assert.equal(relError([0], [1e-9]), 0.1, "the 1e-8 floor");
  assert.ok(Number.isNaN(relError([NaN], [1])), "NaN never passes a `< tol` check");
  assert.throws(() => relError(tensor([1, 2]), tensor([[1, 2]])), /shapes \[2\] and \[1,2\] differ/);
});

test("numerical gradients of known functions", () => {
  const x = tensor([0.5, -1, 2]);
  const dx = evalNumericalGradient((t) => Array.from(t.data).reduce((s, v) => s + v * v * v, 0), x);
  assert.ok(relError(dx, [0.75, 3, 12]) < 1e-9);
  assert.deepEqual(Array.from(x.data), [0.5, -1, 2], "x is restored");
  const df = tensor([1, 2, 3]);
  const dy = evalNumericalGradientArray((t) => tensor(Array.from(t.data, Math.sin)), x, df);
  assert.ok(relError(dy, [Math.cos(0.5), 2 * Math.cos(-1), 3 * Math.cos(2)]) < 1e-9);
});

test("batchnormBackwardAlt agrees with finite differences of batchnormForwardRef", () => {
  const rand = seededRandom(231);
  const [n, d] = [5, 4];
  const x = randomTensor(rand, [n, d], 5, 15),
    gamma = randomTensor(rand, [d]),
    beta = randomTensor(rand, [d]);
  const dout = randomTensor(rand, [n, d]);
  const alt = batchnormBackwardAlt(dout, batchnormForwardRef(x, gamma, beta).cache);
  const fwd = (x: typeof gamma, g: typeof gamma, b: typeof gamma) => batchnormForwardRef(x, g, b).out;
  assert.ok(
    relError(
      alt.dx,
      evalNumericalGradientArray((v) => fwd(v, gamma, beta), x, dout),
    ) < 1e-7,
  );
  assert.ok(
    relError(
      alt.dgamma,
      evalNumericalGradientArray((v) => fwd(x, v, beta), gamma, dout),
    ) < 1e-7,
  );
  assert.ok(
    relError(
      alt.dbeta,
      evalNumericalGradientArray((v) => fwd(x, gamma, v), beta, dout),
    ) < 1e-7,
  );
});
