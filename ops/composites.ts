// Composites: functions of primitives, never primitives. Autodiff sees only the primitives they
// record, so the optimizer must find every simplification on its own.

import * as b from "../core/builder.js";
import { GradcError } from "../core/errors.js";
import { apply, Node, scope } from "../core/node.js";
import { kindOf } from "../core/args.js";
import { normalizeAxes } from "../core/builder.js";

export const mean = b.mean;
export const relu = b.relu;
export { softmax, logSoftmax, logsumexp } from "./softmax.js";
export { einsum } from "./einsum.js";
export { gelu, geluTanh } from "./erf.js";
export { cumsum, cumprod, cummax, cummin, logcumsumexp, logaddexp, type CumulativeOptions } from "./cumulative.js";
export { conv, convTranspose, maxPool, avgPool, globalAvgPool, globalMaxPool } from "./conv-builders.js";
export { interpolate } from "./interpolate.js";

/** Biased variance over axes (NumPy's var, ddof=0): mean of squared deviations. */
export function variance(x: Node, axes?: number | readonly number[], keepdims = false): Node {
  const ax = normalizeAxes("variance", x, axes);
  const mu = b.mean(x, ax, true);
  return b.mean(b.square(b.sub(x, mu)), ax, keepdims);
}

/** x @ w + b, for x [N, Din], w [Din, Dout], b [Dout]. */
export function affine(x: Node, w: Node, bias: Node): Node {
  return scope("affine", () => affineBody(x, w, bias));
}

function affineBody(x: Node, w: Node, bias: Node): Node {
  return b.add(b.matmul(x, w), bias);
}

export interface BatchnormOptions {
  mode?: "train" | "test";
  eps?: number;
  momentum?: number;
  /** Axes holding the batch (default [0]; [0, 2, 3] for spatial batchnorm of NCHW data). */
  axes?: readonly number[];
  runningMean?: Node;
  runningVar?: Node;
}

export interface BatchnormResult {
  out: Node;
  /** Train mode: the updated running averages (momentum * running + (1 - momentum) * batch). */
  runningMean?: Node;
  runningVar?: Node;
}

/**
 * Normalization's own preconditions, checked when the graph is built: eps a finite number >= 0
 * (NaN or a negative eps gives NaN or a silently wrong scale), and, for batch statistics, a
 * non-empty set of values per feature (N = 0 gives 0/0).
 */
function checkNormalization(who: string, x: Node, axes: readonly number[], eps: number, batchStats: boolean): void {
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0)
    throw new GradcError(`${who}: eps must be a finite number >= 0, got ${String(eps)} (for ${x})`);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  if (batchStats && count === 0)
    throw new GradcError(`${who}: no values to normalize over: axes [${axes.join(",")}] of ${x} hold 0 elements (mean and variance of nothing are undefined)`);
}

/** Reshape a per-feature parameter [C] to broadcast against x with `axes` reduced. */
function perFeature(p: Node, x: Node, axes: readonly number[]): Node {
  const kept = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
  const expect = x.shape.filter((_, i) => !axes.includes(i));
  if (p.size !== expect.reduce((m, s) => m * s, 1)) {
    throw new GradcError(`batchnorm: parameter ${p} does not match the features [${expect.join(",")}] of ${x}`);
  }
  return b.reshape(p, kept);
}

/**
 * Batch normalization as the notebook defines it. Train mode normalizes with batch statistics
 * and returns the running-average updates; test mode uses the running statistics.
 *
 *   const { out, runningMean, runningVar } = batchnorm(x, gamma, beta, { runningMean: rm, runningVar: rv });
 */
export function batchnorm(x: Node, gamma: Node, beta: Node, opts: BatchnormOptions = {}): BatchnormResult {
  return scope("batchnorm", () => batchnormBody(x, gamma, beta, opts));
}

function batchnormBody(x: Node, gamma: Node, beta: Node, opts: BatchnormOptions = {}): BatchnormResult {
  const { mode = "train", eps = 1e-5, momentum = 0.9 } = opts;
  const axes = normalizeAxes("batchnorm", x, opts.axes ?? [0]);
  checkNormalization("batchnorm", x, axes, eps, mode === "train");
  if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1))
    throw new GradcError(`batchnorm: momentum must be a number in [0, 1], got ${String(momentum)}`);
  const g = perFeature(gamma, x, axes);
  const bt = perFeature(beta, x, axes);
  if (mode === "test") {
    if (!opts.runningMean || !opts.runningVar) throw new GradcError("batchnorm: test mode needs runningMean and runningVar");
    const rm = perFeature(opts.runningMean, x, axes);
    const rv = perFeature(opts.runningVar, x, axes);
    const xhat = b.div(b.sub(x, rm), b.sqrt(b.add(rv, eps))).named("xhat");
    return { out: b.add(b.mul(g, xhat), bt) };
  }
  const mu = b.mean(x, axes, true).named("mean");
  const xc = b.sub(x, mu).named("xc");
  const v = b.mean(b.square(xc), axes, true).named("var");
  const std = b.sqrt(b.add(v, eps)).named("std");
  const xhat = b.div(xc, std).named("xhat");
  const out = b.add(b.mul(g, xhat), bt);
  const result: BatchnormResult = { out };
  if (opts.runningMean && opts.runningVar) {
    const flat = (n: Node, like: Node) => b.reshape(n, like.shape);
    result.runningMean = b.add(b.mul(opts.runningMean, momentum), b.mul(flat(mu, opts.runningMean), 1 - momentum));
    result.runningVar = b.add(b.mul(opts.runningVar, momentum), b.mul(flat(v, opts.runningVar), 1 - momentum));
  }
  return result;
}

/** Layer normalization over the last `axes` (default: the last axis), per-feature gamma, beta. */
export function layernorm(x: Node, gamma: Node, beta: Node, opts: { eps?: number; axes?: readonly number[] } = {}): Node {
  return scope("layernorm", () => layernormBody(x, gamma, beta, opts));
}

function layernormBody(x: Node, gamma: Node, beta: Node, opts: { eps?: number; axes?: readonly number[] } = {}): Node {
  const eps = opts.eps ?? 1e-5;
  const axes = normalizeAxes("layernorm", x, opts.axes ?? [x.rank - 1]);
  checkNormalization("layernorm", x, axes, eps, true);
  const mu = b.mean(x, axes, true).named("mean");
  const xc = b.sub(x, mu).named("xc");
  const std = b.sqrt(b.add(b.mean(b.square(xc), axes, true), eps)).named("std");
  const xhat = b.div(xc, std).named("xhat");
  return b.add(b.mul(xhat, gamma), beta);
}

/** RMSNorm: x / sqrt(mean(x^2) + eps) * gamma over the last axis. */
export function rmsnorm(x: Node, gamma: Node, opts: { eps?: number } = {}): Node {
  return scope("rmsnorm", () => rmsnormBody(x, gamma, opts));
}

function rmsnormBody(x: Node, gamma: Node, opts: { eps?: number } = {}): Node {
  const eps = opts.eps ?? 1e-5;
  const rms = b.sqrt(b.add(b.mean(b.square(x), -1, true), eps)).named("rms");
  const xhat = b.div(x, rms).named("xhat");
  return b.mul(xhat, gamma);
}

/** Group normalization of NCHW data: normalize each of `groups` channel groups per sample. */
export function groupnorm(x: Node, gamma: Node, beta: Node, groups: number, opts: { eps?: number } = {}): Node {
  return scope("groupnorm", () => groupnormBody(x, gamma, beta, groups, opts));
}

function groupnormBody(x: Node, gamma: Node, beta: Node, groups: number, opts: { eps?: number } = {}): Node {
  const eps = opts.eps ?? 1e-5;
  if (x.rank !== 4) throw new GradcError(`groupnorm: expects NCHW data, got ${x}`);
  const [n, c, h, w] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) throw new GradcError(`groupnorm: ${c} channels do not split into ${groups} groups (${x})`);
  const xg = b.reshape(x, [n, groups, (c / groups) * h * w]);
  const mu = b.mean(xg, 2, true).named("mean");
  const xc = b.sub(xg, mu).named("xc");
  const std = b.sqrt(b.add(b.mean(b.square(xc), 2, true), eps)).named("std");
  const xhat = b.reshape(b.div(xc, std), [n, c, h, w]).named("xhat");
  const perChannel = (p: Node) => b.reshape(p, [1, c, 1, 1]);
  return b.add(b.mul(xhat, perChannel(gamma)), perChannel(beta));
}

/** One-hot rows for integer class labels y [N] (stored as floats) over `classes`. */
export function oneHot(y: Node, classes: number, of = "oneHot"): Node {
  if (!(y instanceof Node) || y.rank !== 1) throw new GradcError(`${of}: expects labels [N], got ${y instanceof Node ? y : kindOf(y)}`);
  if (!Number.isInteger(classes) || classes < 1) throw new GradcError(`${of}: classes must be a positive integer, got ${String(classes)} (labels ${y})`);
  const [n] = y.shape;
  // the labels' values are checked when known (op classIndex): an out-of-range one would match no column
  return scope("oneHot", () => {
    const labels = apply("classIndex", [y], { classes, of });
    return b.equal(b.iota([n, classes], 1, y.dtype), b.reshape(labels, [n, 1]));
  });
}

/**
 * Mean softmax cross-entropy of scores [N, C] against labels y [N] (class indices as floats),
 * shifted by the row max for stability (the shift carries no gradient).
 */
export function softmaxCrossEntropy(scores: Node, y: Node): Node {
  return scope("softmaxCrossEntropy", () => softmaxCrossEntropyBody(scores, y));
}

function softmaxCrossEntropyBody(scores: Node, y: Node): Node {
  if (scores.rank !== 2 || y.rank !== 1 || y.shape[0] !== scores.shape[0]) {
    throw new GradcError(`softmaxCrossEntropy: expects scores [N,C] and labels [N], got ${scores} and ${y}`);
  }
  const shifted = b.sub(scores, b.stopGradient(b.max(scores, 1, true)));
  const logZ = b.log(b.sum(b.exp(shifted), 1, true));
  const picked = b.sum(b.mul(shifted, oneHot(y, scores.shape[1], "softmaxCrossEntropy")), 1, true);
  return b.mean(b.sub(logZ, picked));
}
