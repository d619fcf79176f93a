// A transformer block: pre-layernorm causal multi-head attention (heads as a batch axis of
// batched matrix products) and a pre-layernorm GELU MLP, each with a residual.
//
//   npx gradc inspect examples/models/transformer-block.mjs

import { ops } from "gradc";
import { causalSoftmax } from "./causal-attention.mjs";
import { gelu } from "./mlp-gelu.mjs";

const T = 16,
  D = 32,
  Hd = 4,
  dh = D / Hd,
  F = 64;

const heads = (z) => ops.transpose(z.reshape([T, Hd, dh]), [1, 0, 2]); // [Hd, T, dh]
const merge = (z) => ops.transpose(z, [1, 0, 2]).reshape([T, D]);

function block({ x, g1, b1, g2, b2, Wq, Wk, Wv, Wo, W1, c1, W2, c2 }) {
  const h = ops.layernorm(x, g1, b1);
  const [q, k, v] = [Wq, Wk, Wv].map((w) => heads(ops.matmul(h, w)));
  const p = causalSoftmax(ops.matmul(q, k, false, true).mul(1 / Math.sqrt(dh)));
  const a = x.add(ops.matmul(merge(ops.matmul(p, v)), Wo));
  const m = ops.affine(gelu(ops.affine(ops.layernorm(a, g2, b2), W1, c1)), W2, c2);
  return a.add(m);
}

export default {
  inputs: {
    x: [T, D],
    g1: [D],
    b1: [D],
    g2: [D],
    b2: [D],
    Wq: [D, D],
    Wk: [D, D],
    Wv: [D, D],
    Wo: [D, D],
    W1: [D, F],
    c1: [F],
    W2: [F, D],
    c2: [D],
  },
  fn: block,
  wrt: ["x", "g1", "b1", "g2", "b2", "Wq", "Wk", "Wv", "Wo", "W1", "c1", "W2", "c2"],
};
