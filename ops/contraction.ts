// The one contraction primitive: matmul, batched. Every einsum, transposed or batched product
// lowers to it plus views (ops/einsum.ts), so a later optimizer has one contraction to reason about:
//
//   matmul(a, b)[..., i, j] = sum_k a[..., i, k] * b[..., k, j]          (a: [...,M,K], b: [...,K,N])
//
// i.e. sum over k of a product, the same value as the primitive form `matmulAsSum` below builds
// from broadcastTo, mul and sum (spec/contraction.test.ts holds the two equal). Batch axes must be
// equal here: the builder (core/builder.ts matmul) broadcasts them with explicit broadcastTo nodes,
// so no gradient rule un-broadcasts.

import type { Node } from "../core/node.js";
import type { OpDef } from "../core/registry.js";
import * as b from "../core/builder.js";
import { sameShape } from "../core/tensor.js";
import { show } from "./checks.js";
import { output } from "./kernels.js";
import { same } from "./onnx-special.js";
import { int, randomTensor, randShape } from "./samples.js";

export const contractionOps: OpDef[] = [
  {
    name: "matmul",
    kind: "matmul",
    arity: 2,
    attrs: {},
    shape: ([x, y]) => {
      if (x.shape.length < 2 || x.shape.length !== y.shape.length) {
        throw new Error(`operands must be 2-D, or batched [...,M,K] @ [...,K,N] of equal rank, got ${show(x.shape)} and ${show(y.shape)}`);
      }
      const r = x.shape.length;
      if (x.shape[r - 1] !== y.shape[r - 2]) throw new Error(`inner dimensions differ: ${show(x.shape)} @ ${show(y.shape)}`);
      if (!sameShape(x.shape.slice(0, -2), y.shape.slice(0, -2)))
        throw new Error(`batch axes differ: ${show(x.shape)} @ ${show(y.shape)} (broadcast them first; ops.matmul does)`);
      if (x.dtype !== y.dtype) throw new Error(`mixed dtypes ${x.dtype} and ${y.dtype}: cast one operand explicitly`);
      return { shape: [...x.shape.slice(0, -1), y.shape[r - 1]], dtype: x.dtype };
    },
    impl: ([x, y], _attrs, out) => {
      const r = x.shape.length;
      const [m, k] = x.shape.slice(r - 2);
      const n = y.shape[r - 1];
      const batch = x.shape.slice(0, -2).reduce((p, s) => p * s, 1);
      const res = output(out);
      const xd = x.data,
        yd = y.data,
        rd = res.data;
      for (let t = 0; t < batch; t++) {
        const xo = t * m * k,
          yo = t * k * n,
          ro = t * m * n;
        for (let i = 0; i < m; i++) {
          for (let p = 0; p < k; p++) {
            const a = xd[xo + i * k + p];
            for (let j = 0; j < n; j++) rd[ro + i * n + j] += a * yd[yo + p * n + j];
          }
        }
      }
      return res;
    },
    // d(a @ b) = g @ b^T for a, a^T @ g for b (transposes of the last two axes: views, never copies)
    vjp: (g, [x, y]) => [b.matmul(g, b.matrixTranspose(y)), b.matmul(b.matrixTranspose(x), g)],
    onnx: same("MatMul"),
    // 2-D, or batched with 1-2 batch axes
    sample: (rand) => {
      const batch = randShape(rand, 0, 2, 3);
      const [m, k, n] = [int(rand, 1, 4), int(rand, 1, 4), int(rand, 1, 4)];
      return { inputs: [randomTensor(rand, [...batch, m, k]), randomTensor(rand, [...batch, k, n])], attrs: {} };
    },
  },
];

/**
 * The law of matmul as a graph of elementwise and reduction primitives: a [...,M,K,1] times
 * b [...,1,K,N], summed over the K axis. Same value as matmul(a, b) for equal batch axes; it
 * materializes M*K*N products, so it is a specification, not an implementation.
 */
export function matmulAsSum(a: Node, y: Node): Node {
  const r = a.rank;
  const [m, k] = a.shape.slice(r - 2);
  const n = y.shape[r - 1];
  const batch = a.shape.slice(0, -2);
  const full = [...batch, m, k, n];
  const prod = b.mul(b.broadcastTo(b.reshape(a, [...batch, m, k, 1]), full), b.broadcastTo(b.reshape(y, [...batch, 1, k, n]), full));
  return b.sum(prod, r - 1);
}
