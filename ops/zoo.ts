// Named example graphs: the normalizations, the softmax family and attention that the CLI, the
// viewer, the benchmarks and the optimizer tests share. Each takes a shape and a dtype and returns a traced forward graph.

import { GradcError } from "../core/errors.js";
import type { Graph } from "../core/graph.js";
import { scope, type Node } from "../core/node.js";
import { trace } from "../core/trace.js";
import type { DType } from "../core/tensor.js";
import * as b from "../core/builder.js";
import { batchnorm, groupnorm, layernorm, logSoftmax, logsumexp, oneHot, rmsnorm, softmax } from "./composites.js";

export interface ZooEntry {
  summary: string;
  /** The default shape, e.g. [N, D] = [200, 3]. */
  shape: readonly number[];
  build(shape: readonly number[], dtype?: DType): Graph;
}

const need = (name: string, shape: readonly number[], rank: number) => {
  if (shape.length !== rank || !shape.every((s) => Number.isInteger(s) && s > 0)) {
    throw new GradcError(`${name}: expects a shape of ${rank} positive sizes, got [${shape.join(",")}]`);
  }
};

/**
 * A normalization of x (the default shape's rank) with per-feature parameters sized by x's axis
 * `feature`: `apply` receives the traced inputs and returns the output.
 */
function normalization(
  name: string,
  summary: string,
  shape: readonly number[],
  feature: number,
  params: readonly string[],
  apply: (x: Node, p: Record<string, Node>, shape: readonly number[]) => Node,
): ZooEntry {
  return {
    summary,
    shape,
    build(s, dtype = "f64") {
      need(name, s, shape.length);
      const inputs: Record<string, { shape: readonly number[]; dtype: DType }> = { x: { shape: s, dtype } };
      for (const p of params) inputs[p] = { shape: [s[feature]], dtype };
      return trace(inputs, (xs) => apply(xs.x, xs, s));
    },
  };
}

export const zoo: Record<string, ZooEntry> = {
  batchnorm: normalization(
    "batchnorm",
    "batch normalization over axis 0 of [N,D] (train mode)",
    [200, 3],
    1,
    ["gamma", "beta"],
    (x, p) => batchnorm(x, p.gamma, p.beta).out,
  ),
  "spatial-batchnorm": normalization(
    "spatial-batchnorm",
    "batch normalization over axes 0,2,3 of NCHW data",
    [8, 4, 5, 5],
    1,
    ["gamma", "beta"],
    (x, p) => batchnorm(x, p.gamma, p.beta, { axes: [0, 2, 3] }).out,
  ),
  layernorm: normalization("layernorm", "layer normalization over the last axis of [N,D]", [200, 3], 1, ["gamma", "beta"], (x, p) =>
    layernorm(x, p.gamma, p.beta),
  ),
  rmsnorm: normalization("rmsnorm", "RMSNorm over the last axis of [N,D], learned scale", [200, 3], 1, ["gamma"], (x, p) => rmsnorm(x, p.gamma)),
  groupnorm: normalization(
    "groupnorm",
    "group normalization of NCHW data, 2 groups, per-channel scale and shift",
    [4, 6, 3, 3],
    1,
    ["gamma", "beta"],
    (x, p, s) => groupnorm(x, p.gamma, p.beta, s[1] % 2 === 0 ? 2 : 1),
  ),
};

// The softmax family and attention, written as users write them (ops/softmax.ts: the stable max
// shift, no stopGradient). The optimizer must find on its own that the max carries no gradient.

/** Scores [N, C] and integer class labels [N] (stored as floats). */
function classification(name: string, summary: string, apply: (x: Node, y: Node) => Node): ZooEntry {
  return {
    summary,
    shape: [64, 10],
    build(s, dtype = "f64") {
      need(name, s, 2);
      return trace({ x: { shape: s, dtype }, y: { shape: [s[0]], dtype } }, ({ x, y }) => apply(x, y));
    },
  };
}

/** A function of x [N, C] alone. */
function rows(name: string, summary: string, apply: (x: Node) => Node): ZooEntry {
  return {
    summary,
    shape: [64, 10],
    build(s, dtype = "f64") {
      need(name, s, 2);
      return trace({ x: { shape: s, dtype } }, ({ x }) => apply(x));
    },
  };
}

export const families: Record<string, ZooEntry> = {
  softmax: rows("softmax", "softmax over the last axis of [N,C], shifted by the row max", (x) => softmax(x)),
  "log-softmax": rows("log-softmax", "log-softmax over the last axis of [N,C], shifted by the row max", (x) => logSoftmax(x)),
  logsumexp: rows("logsumexp", "log-sum-exp over the last axis of [N,C] (one value per row), shifted by the row max", (x) => logsumexp(x, -1)),
  // the textbook form, loss_i = logsumexp(x_i) - x_i[y_i], the label picked with a one-hot
  "softmax-cross-entropy": classification("softmax-cross-entropy", "mean softmax cross-entropy of scores [N,C] against integer labels y [N]", (x, y) =>
    b.mean(b.sub(logsumexp(x, -1, true), b.sum(b.mul(x, oneHot(y, x.shape[1])), -1, true))),
  ),
  attention: {
    summary: "scaled dot-product attention softmax(Q K^T / sqrt(d)) V of Q, K, V [T,d] (one head) or [H,T,d] (H heads, batched products)",
    shape: [64, 16],
    build(s, dtype = "f64") {
      need("attention", s, s.length === 3 ? 3 : 2);
      const spec = { shape: s, dtype };
      return trace({ q: spec, k: spec, v: spec }, ({ q, k, v }) => {
        const scores = scope("scores", () => b.mul(b.matmul(q, k, false, true), 1 / Math.sqrt(s[s.length - 1])));
        return scope("weighted sum", () => b.matmul(softmax(scores), v));
      });
    },
  },
};
Object.assign(zoo, families);

export function zooGraph(name: string, shape?: readonly number[], dtype?: DType): Graph {
  const entry = Object.hasOwn(zoo, name) ? zoo[name] : undefined;
  if (!entry) throw new GradcError(`unknown graph "${name}": built-in graphs are ${Object.keys(zoo).join(", ")}`);
  return entry.build(shape ?? entry.shape, dtype);
}
