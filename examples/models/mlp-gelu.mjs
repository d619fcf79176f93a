// A pre-layernorm MLP block with a GELU (tanh form), a residual connection and a classifier head
// trained with softmax cross-entropy, written as a user writes it.
//
//   npx gradc inspect examples/models/mlp-gelu.mjs
//   npx gradc bench examples/models/mlp-gelu.mjs --quick

import { ops } from "gradc";

const N = 32,
  D = 64,
  H = 128,
  C = 10;

export const gelu = (x) =>
  x.mul(0.5).mul(
    x
      .add(x.mul(x).mul(x).mul(0.044715))
      .mul(Math.sqrt(2 / Math.PI))
      .tanh()
      .add(1),
  );

function loss({ X, y, g, beta, W1, b1, W2, b2, Wo, bo }) {
  const h = ops.layernorm(X, g, beta);
  const r = X.add(ops.affine(gelu(ops.affine(h, W1, b1)), W2, b2)).named("residual");
  return ops.softmaxCrossEntropy(ops.affine(r, Wo, bo), y);
}

export default {
  inputs: { X: [N, D], y: [N], g: [D], beta: [D], W1: [D, H], b1: [H], W2: [H, D], b2: [D], Wo: [D, C], bo: [C] },
  fn: loss,
  wrt: ["g", "beta", "W1", "b1", "W2", "b2", "Wo", "bo"],
};
