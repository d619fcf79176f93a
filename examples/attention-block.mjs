// A pre-norm transformer block over T = 32 positions of width D = 64, as models write it:
// x + attention(layernorm(x)), then + MLP(layernorm(.)), with 4 heads of width 16. Each piece
// records a name scope, so `gradc view` folds the block into them and search finds each by name.
//
//   npx gradc view examples/attention-block.mjs --out block.html
//   npx gradc inspect examples/attention-block.mjs --wrt Wq,Wk,Wv

import { ops, scope } from "gradc";
import { attention, mlp } from "./attention-parts.mjs";

const T = 32,
  D = 64,
  H = 4,
  F = 128;

export default {
  inputs: { x: [T, D], g1: [D], b1: [D], Wq: [D, D], Wk: [D, D], Wv: [D, D], Wo: [D, D], g2: [D], b2: [D], W1: [D, F], c1: [F], W2: [F, D], c2: [D] },
  fn: (p) => {
    const h = scope("attention block", () => p.x.add(attention(ops.layernorm(p.x, p.g1, p.b1), p, H)));
    return scope("mlp block", () => h.add(mlp(ops.layernorm(h, p.g2, p.b2), p)));
  },
  wrt: ["Wq", "Wk", "Wv", "Wo", "W1", "W2"],
};
