// A small transformer encoder that learns to sort: a sequence of 8 digits in, the same digits in
// ascending order out, one prediction per position. Two pre-norm blocks (single-head attention
// over the whole sequence, a relu MLP), learned positional embeddings, d = 32. The data is made
// by the module (`data`), so no --data is needed:
//
//   npx gradc train examples/transformer-sort.mjs --epochs 8 --batch 50 --lr 3e-3

import { ops, init, scope } from "gradc";

const T = 8,
  V = 10,
  D = 32,
  H = 64,
  BLOCKS = 2;

function block(rng) {
  return {
    ln1: { g: init.ones([D]), b: init.zeros([D]) },
    q: init.glorotUniform(rng, [D, D]),
    k: init.glorotUniform(rng, [D, D]),
    v: init.glorotUniform(rng, [D, D]),
    o: init.glorotUniform(rng, [D, D]),
    ln2: { g: init.ones([D]), b: init.zeros([D]) },
    up: { W: init.heNormal(rng, [D, H]), b: init.zeros([H]) },
    down: { W: init.glorotUniform(rng, [H, D]), b: init.zeros([D]) },
  };
}

const layernorm = (x, p) => ops.layernorm(x, p.g, p.b);
const dense = (x, p) => x.matmul(p.W).add(p.b);

function attention(x, p) {
  const q = x.matmul(p.q),
    k = x.matmul(p.k),
    v = x.matmul(p.v);
  const weights = ops.softmax(q.matmul(k, false, true).mul(1 / Math.sqrt(D)), -1); // [B, T, T]
  return weights.matmul(v).matmul(p.o);
}

/** Scores [B, T, V] of tokens given one-hot [B, T, V]. */
function scores(params, X) {
  let h = X.matmul(params.embed).add(params.pos); // [B, T, D]
  params.blocks.forEach((p, i) =>
    scope(`block ${i}`, () => {
      h = h.add(scope("attention", () => attention(layernorm(h, p.ln1), p)));
      h = h.add(scope("mlp", () => dense(dense(layernorm(h, p.ln2), p.up).relu(), p.down)));
    }),
  );
  return layernorm(h, params.lnOut).matmul(params.unembed);
}

export default {
  init: (rng) => ({
    embed: init.normal(rng, [V, D], { std: 0.5 }),
    pos: init.normal(rng, [T, D], { std: 0.5 }),
    blocks: Array.from({ length: BLOCKS }, () => block(rng)),
    lnOut: { g: init.ones([D]), b: init.zeros([D]) },
    unembed: init.glorotUniform(rng, [D, V]),
  }),
  loss: (params, { X, y }) => ops.softmaxCrossEntropy(scores(params, X).reshape([X.shape[0] * T, V]), y.reshape([X.shape[0] * T])),
  predict: scores,
  numClasses: V,
  /** Random digit strings (one-hot) and their sorted versions: 10,000 to train on, 1,000 to validate. */
  data(rng, { Tensor }) {
    const make = (n) => {
      const X = new Float64Array(n * T * V),
        y = new Int32Array(n * T);
      for (let i = 0; i < n; i++) {
        const seq = Array.from({ length: T }, () => rng.randint(0, V));
        seq.forEach((d, t) => (X[(i * T + t) * V + d] = 1));
        [...seq].sort((a, b) => a - b).forEach((d, t) => (y[i * T + t] = d));
      }
      return { X: new Tensor(X, [n, T, V]), y: new Tensor(Float64Array.from(y), [n, T]) };
    };
    const train = make(10000),
      val = make(1000);
    return { XTrain: train.X, yTrain: train.y, XVal: val.X, yVal: val.y };
  },
};
