// A three-layer perceptron on CIFAR-10 images (3x32x32), with layer normalization: the model to
// train on the 3,000-image subset until the conv net (issue #24) is in nn/.
//
//   npx gradc train examples/mlp-cifar.mjs --data cifar10 --epochs 10 --batch 50 --lr 1e-3 --dtype f32

import { ops, init, scope } from "gradc";

const D = 3 * 32 * 32,
  H = 256,
  C = 10;

function scores(p, X) {
  let h = X.reshape([X.shape[0], D]);
  for (const name of ["l1", "l2"]) {
    h = scope(name, () => ops.layernorm(ops.affine(h, p[name].W, p[name].b), p[name].g, p[name].beta).relu());
  }
  return scope("out", () => ops.affine(h, p.out.W, p.out.b));
}

const layer = (rng, din, dout) => ({ W: init.heNormal(rng, [din, dout]), b: init.zeros([dout]), g: init.ones([dout]), beta: init.zeros([dout]) });

export default {
  init: (rng) => ({ l1: layer(rng, D, H), l2: layer(rng, H, H), out: { W: init.glorotUniform(rng, [H, C]), b: init.zeros([C]) } }),
  loss: (p, { X, y }) => ops.softmaxCrossEntropy(scores(p, X), y),
  predict: scores,
};
