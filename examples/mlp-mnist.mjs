// A two-layer perceptron on the MNIST digits, as a trainable module: its parameters are a tree
// from initializers, its loss and predictions functions of that tree.
//
//   npx gradc train examples/mlp-mnist.mjs --data mnist --epochs 1
//   npx gradc inspect examples/mlp.mjs        # the same kind of model, its derived backward

import { ops, init, scope } from "gradc";

const D = 28 * 28,
  H = 128,
  C = 10;

function scores(p, X) {
  const x = X.reshape([X.shape[0], D]); // [B, 1, 28, 28] images -> rows
  const h = scope("hidden", () => ops.affine(x, p.hidden.W, p.hidden.b).relu());
  return scope("out", () => ops.affine(h, p.out.W, p.out.b));
}

export default {
  init: (rng) => ({
    hidden: { W: init.heNormal(rng, [D, H]), b: init.zeros([H]) },
    out: { W: init.glorotUniform(rng, [H, C]), b: init.zeros([C]) },
  }),
  loss: (p, { X, y }) => ops.softmaxCrossEntropy(scores(p, X), y),
  predict: scores,
};
