// Valid random inputs for the convolution and pooling primitives (OpDef.sample, walked by the
// registry tests and the fuzzer): small geometries over 1 to 3 spatial axes with every option
// drawn (stride, dilation, per-side padding, groups, output padding), sizes kept so that finite
// differences over every input stay cheap.

import type { Attrs, OpSample } from "../core/registry.js";
import { convOutputSize } from "./conv-geometry.js";
import { int, randomTensor, type Rand } from "./samples.js";

export interface RandomGeometry {
  x: number[];
  w: number[];
  y: number[];
  attrs: Attrs;
  /** The outputPadding that gives back x's spatial sizes from y's. */
  outputPadding: number[];
}

/** A random valid conv: x [N, G*Cig, I], w [G*Cog, Cig, K], y its output. */
export function randomGeometry(rand: Rand): RandomGeometry {
  const rank = [1, 1, 2, 2, 2, 3][int(rand, 0, 5)];
  const groups = int(rand, 1, 2);
  const [n, cig, cog] = [int(rand, 1, 2), int(rand, 1, 2), int(rand, 1, 2)];
  const small = rank === 3;
  const kernel = Array.from({ length: rank }, () => int(rand, 1, small ? 2 : 3));
  const stride = kernel.map(() => int(rand, 1, 2));
  const dilation = kernel.map(() => int(rand, 1, 2));
  const pads = [...kernel, ...kernel].map(() => int(rand, 0, small ? 1 : 2));
  const input = kernel.map((k, t) => {
    const span = dilation[t] * (k - 1) + 1;
    return Math.max(1, span - pads[t] - pads[t + rank] + int(rand, 0, small ? 2 : 3));
  });
  const output = input.map((i, t) => convOutputSize(i, kernel[t], stride[t], dilation[t], pads[t], pads[t + rank]));
  const outputPadding = input.map((i, t) => i - ((output[t] - 1) * stride[t] - pads[t] - pads[t + rank] + dilation[t] * (kernel[t] - 1) + 1));
  return {
    x: [n, groups * cig, ...input],
    w: [groups * cog, cig, ...kernel],
    y: [n, groups * cog, ...output],
    attrs: { stride, dilation, pads, groups },
    outputPadding,
  };
}

/** h 1e-3: the ops are linear in each input, so central differences have no truncation error and a larger step keeps the rounding error off components that nearly cancel. */
export function randomSample(rand: Rand, op: "conv" | "convTranspose" | "convFilter"): OpSample {
  const c = randomGeometry(rand);
  if (op === "conv") return { inputs: [randomTensor(rand, c.x), randomTensor(rand, c.w)], attrs: c.attrs, h: 1e-3 };
  if (op === "convTranspose")
    return { inputs: [randomTensor(rand, c.y), randomTensor(rand, c.w)], attrs: { ...c.attrs, outputPadding: c.outputPadding }, h: 1e-3 };
  return { inputs: [randomTensor(rand, c.x), randomTensor(rand, c.y)], attrs: { ...c.attrs, kernel: c.w.slice(2) }, h: 1e-3 };
}
