// A causal self-attention block with pre-layernorm and a residual: x + (softmax(mask(q k^T / sqrt(d))) v) Wo,
// where position t attends to positions <= t (a mask of -Infinity above the diagonal).
//
//   npx gradc inspect examples/models/causal-attention.mjs

import { ops } from "gradc";

const T = 32,
  D = 32;

export function causalSoftmax(s) {
  const [t] = s.shape.slice(-2);
  const future = ops.less(ops.iota([t, t], 0), ops.iota([t, t], 1)); // key index > query index
  const masked = ops.select(ops.broadcastTo(future, s.shape), -Infinity, s);
  const e = masked.sub(ops.stopGradient(masked.max(-1, true))).exp();
  return e.div(e.sum(-1, true));
}

function block({ x, g, beta, Wq, Wk, Wv, Wo }) {
  const h = ops.layernorm(x, g, beta);
  const [q, k, v] = [Wq, Wk, Wv].map((w) => ops.matmul(h, w));
  const p = causalSoftmax(ops.matmul(q, k, false, true).mul(1 / Math.sqrt(D)));
  return x.add(ops.matmul(ops.matmul(p, v), Wo));
}

export default {
  inputs: { x: [T, D], g: [D], beta: [D], Wq: [D, D], Wk: [D, D], Wv: [D, D], Wo: [D, D] },
  fn: block,
  wrt: ["x", "g", "beta", "Wq", "Wk", "Wv", "Wo"],
};
