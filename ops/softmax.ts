// The softmax family, written as users write them: shift by the max for stability, with no
// stopGradient. The max path carries gradient, and it cancels by algebra (in logsumexp,
// d/dm [m + log sum exp(x - m)] = 1 - sum softmax = 0), which is what the optimizer must find.
// A row that is all -Infinity gives NaN (-Infinity - -Infinity), as PyTorch's softmax does.
// Each records its name scope, so the viewer folds and finds it by name.

import * as b from "../core/builder.js";
import { normalizeAxes } from "../core/builder.js";
import { scope, type Node, type Operand } from "../core/node.js";

/**
 * exp(x - max) / sum(exp(x - max)) along `axis` (default: the last), as jax.nn.softmax.
 *
 *   trace({ x: [4, 10] }, ({ x }) => softmax(x))        // each row sums to 1
 */
export function softmax(x: Operand, axis: number | readonly number[] = -1): Node {
  const n = b.asNode("softmax", x);
  const axes = normalizeAxes("softmax", n, axis);
  return scope("softmax", () => {
    const e = b.exp(b.sub(n, b.max(n, axes, true))).named("exp");
    return b.div(e, b.sum(e, axes, true).named("sum"));
  });
}

/** x - max - log(sum(exp(x - max))) along `axis` (default: the last), as jax.nn.log_softmax. */
export function logSoftmax(x: Operand, axis: number | readonly number[] = -1): Node {
  const n = b.asNode("logSoftmax", x);
  const axes = normalizeAxes("logSoftmax", n, axis);
  return scope("logSoftmax", () => {
    const shifted = b.sub(n, b.max(n, axes, true)).named("shifted");
    return b.sub(shifted, b.log(b.sum(b.exp(shifted), axes, true)).named("logsum"));
  });
}

/**
 * log(sum(exp(x))) over `axes` (default: all), computed as max + log(sum(exp(x - max))), as
 * jax.scipy.special.logsumexp(x, axis, keepdims).
 */
export function logsumexp(x: Operand, axes?: number | readonly number[], keepdims = false): Node {
  const n = b.asNode("logsumexp", x);
  const ax = normalizeAxes("logsumexp", n, axes);
  return scope("logsumexp", () => {
    const m = b.max(n, ax, true).named("max");
    const out = b.add(m, b.log(b.sum(b.exp(b.sub(n, m)), ax, true)));
    return keepdims
      ? out
      : b.reshape(
          out,
          n.shape.filter((_, i) => !ax.includes(i)),
        );
  });
}
