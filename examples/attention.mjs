// Single-head scaled dot-product attention over T = 64 positions of width d = 32:
// softmax(Q K^T / sqrt(d)) V, the softmax taken along each row (over the keys), shifted by the
// row's max for stability. The output is [T, d], so the backward takes its cotangent dout [T, d].
//
//   npx gradc view examples/attention.mjs --out attention.html
//   npx gradc inspect examples/attention.mjs --wrt Q

import { ops } from "gradc";

const T = 64,
  d = 32;

function softmaxRows(s) {
  const e = s
    .sub(ops.stopGradient(s.max(-1, true)))
    .exp()
    .named("e");
  return e.div(e.sum(-1, true)).named("attn");
}

export default {
  inputs: { Q: [T, d], K: [T, d], V: [T, d] },
  fn: ({ Q, K, V }) =>
    ops.matmul(
      softmaxRows(
        ops
          .matmul(Q, ops.transpose(K))
          .mul(1 / Math.sqrt(d))
          .named("logits"),
      ),
      V,
    ),
};
