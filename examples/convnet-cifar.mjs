// A small conv net on CIFAR-10 images (3x32x32), as a user writes one: conv - relu - 2x2 max pool,
// twice, then affine - relu - affine. gradc derives every gradient (the convolutions' are
// transposed convolutions and correlations), optimizes and compiles them.
//
//   npx gradc train examples/convnet-cifar.mjs --data cifar10 --epochs 3 --batch 50 --lr 1e-3 --dtype f32

import { ops, init, scope } from "gradc";

const C = 10,
  F1 = 16,
  F2 = 32,
  H = 128;
const FLAT = F2 * 8 * 8;

function scores(p, X) {
  let h = X;
  for (const name of ["c1", "c2"]) {
    h = scope(name, () =>
      ops.maxPool(
        ops
          .conv(h, p[name].W, { padding: "same" })
          .add(p[name].b.reshape([1, p[name].b.shape[0], 1, 1]))
          .relu(),
        { kernel: 2 },
      ),
    );
  }
  h = scope("fc", () => ops.affine(h.reshape([X.shape[0], FLAT]), p.fc.W, p.fc.b).relu());
  return scope("out", () => ops.affine(h, p.out.W, p.out.b));
}

const convLayer = (rng, cin, cout) => ({ W: init.heNormal(rng, [cout, cin, 3, 3]), b: init.zeros([cout]) });

export default {
  init: (rng) => ({
    c1: convLayer(rng, 3, F1),
    c2: convLayer(rng, F1, F2),
    fc: { W: init.heNormal(rng, [FLAT, H]), b: init.zeros([H]) },
    out: { W: init.glorotUniform(rng, [H, C]), b: init.zeros([C]) },
  }),
  loss: (p, { X, y }) => ops.softmaxCrossEntropy(scores(p, X), y),
  predict: scores,
};
