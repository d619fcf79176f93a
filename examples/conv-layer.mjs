// One conv-net layer as users write it: a 3x3 convolution with a bias (padding 1), relu, 2x2 max
// pooling, on a batch of 8 images of 3 channels, 16x16 -> 16 channels, 8x8. The backward takes
// the pooled output's cotangent; the bias gradient comes out as one sum over batch and space.
//
//   npx gradc inspect examples/conv-layer.mjs --wrt w,b
//   npx gradc bench examples/conv-layer.mjs

import { ops } from "gradc";

export default {
  inputs: { x: [8, 3, 16, 16], w: [16, 3, 3, 3], b: [16] },
  fn: ({ x, w, b }) => ops.maxPool(ops.relu(ops.conv(x, w, { padding: 1, bias: b })), { kernel: 2 }),
};
