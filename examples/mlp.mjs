// A 2-layer perceptron with its loss: tanh hidden layer, softmax cross-entropy on the scores, plus
// an L2 penalty on the weights, as a training step differentiates it.
//
//   npx gradc inspect examples/mlp.mjs
//   npx gradc inspect examples/mlp.mjs --wrt W1,b1          # the first layer's gradients only
//   npx gradc inspect examples/mlp.mjs --entry traced       # the same model, exported as a traced Graph

import { ops, trace } from "gradc";

const N = 64,
  D = 128,
  H = 64,
  C = 10;
const reg = 1e-3;

const inputs = { X: [N, D], W1: [D, H], b1: [H], W2: [H, C], b2: [C], y: [N] };

function loss({ X, W1, b1, W2, b2, y }) {
  const h = ops.affine(X, W1, b1).tanh().named("h");
  const scores = ops.affine(h, W2, b2).named("scores");
  const penalty = W1.square()
    .sum()
    .add(W2.square().sum())
    .mul(0.5 * reg);
  return ops.softmaxCrossEntropy(scores, y).add(penalty);
}

export default { inputs, fn: loss, wrt: ["W1", "b1", "W2", "b2"] };

/** The same loss traced here: a module may export a finished Graph too (differentiated wrt all inputs). */
export const traced = trace(inputs, loss);
