// The pieces of examples/attention-block.mjs, in their own module (gradc view bundles a module's
// local imports into the page, so its editor holds both files).

import { ops, scope } from "gradc";

/** Multi-head scaled dot-product attention of x [T, D] with `heads` heads, projections in p. */
export function attention(x, p, heads) {
  const [T, D] = x.shape;
  const d = D / heads;
  // [T, D] -> [heads, T, d]
  const split = (m) => ops.transpose(ops.reshape(m, [T, heads, d]), [1, 0, 2]);
  const q = scope("query", () => split(ops.matmul(x, p.Wq)));
  const k = scope("key", () => split(ops.matmul(x, p.Wk)));
  const v = scope("value", () => split(ops.matmul(x, p.Wv)));
  const scores = scope("scores", () => ops.matmul(q, k, false, true).mul(1 / Math.sqrt(d)));
  const mixed = scope("weighted sum", () => ops.matmul(ops.softmax(scores, -1), v));
  return scope("output projection", () => ops.matmul(ops.reshape(ops.transpose(mixed, [1, 0, 2]), [T, D]), p.Wo));
}

/** Two affine layers with a ReLU between them. */
export function mlp(x, p) {
  return ops.affine(ops.relu(ops.affine(x, p.W1, p.c1)), p.W2, p.c2);
}
