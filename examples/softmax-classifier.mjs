// A softmax classifier: softmax cross-entropy of a linear layer's scores, the loss averaged over a
// batch of 64 examples with 128 features and 10 classes. Labels y are class indices stored as floats.
//
//   npx gradc inspect examples/softmax-classifier.mjs
//   npx gradc bench examples/softmax-classifier.mjs

import { ops } from "gradc";

const N = 64,
  D = 128,
  C = 10;

export default {
  inputs: { x: [N, D], W: [D, C], b: [C], y: [N] },
  fn: ({ x, W, b, y }) => ops.softmaxCrossEntropy(ops.affine(x, W, b).named("scores"), y),
  // the parameters: a gradient with respect to the labels means nothing
  wrt: ["W", "b"],
};
