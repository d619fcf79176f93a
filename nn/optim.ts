// First-order update rules, as the cs231n notebook's optim.py defines them. Each rule takes a
// parameter, its gradient and a per-parameter config (hyperparameters plus state such as the
// velocity or Adam's moments) and returns the next parameter; state is kept in the config.
// They are plain loops: an update is one pass over the parameter, nothing to derive or fuse.

import { GradcError } from "../core/errors.js";
import { allocate, sameShape, shapeStr, Tensor } from "../core/tensor.js";

/** Hyperparameters and optimizer state of one parameter (the notebook's `config` dict). */
export interface OptimConfig {
  learningRate?: number;
  /** sgd_momentum */
  momentum?: number;
  velocity?: Tensor;
  /** rmsprop */
  decayRate?: number;
  cache?: Tensor;
  /** rmsprop and adam */
  epsilon?: number;
  /** adam */
  beta1?: number;
  beta2?: number;
  m?: Tensor;
  v?: Tensor;
  t?: number;
}

export type UpdateRule = (w: Tensor, dw: Tensor, config: OptimConfig) => Tensor;

const like = (w: Tensor): Tensor => new Tensor(allocate(w.size, w.dtype), w.shape);

function check(rule: string, w: Tensor, dw: Tensor): void {
  if (!sameShape(w.shape, dw.shape)) throw new GradcError(`${rule}: parameter ${shapeStr(w.shape)} and gradient ${shapeStr(dw.shape)} differ in shape`);
}

/**
 * Vanilla stochastic gradient descent: w -= learning_rate * dw.
 *
 *   const next = sgd(w, dw, { learningRate: 1e-2 });
 */
export function sgd(w: Tensor, dw: Tensor, config: OptimConfig): Tensor {
  check("sgd", w, dw);
  const lr = (config.learningRate ??= 1e-2);
  const next = like(w);
  for (let i = 0; i < w.size; i++) next.data[i] = w.data[i] - lr * dw.data[i];
  return next;
}

/**
 * SGD with momentum: v = momentum * v - learning_rate * dw; w += v.
 *
 *   const config = { learningRate: 1e-3, velocity: v };
 *   const next = sgdMomentum(w, dw, config);   // config.velocity is the updated v
 */
export function sgdMomentum(w: Tensor, dw: Tensor, config: OptimConfig): Tensor {
  check("sgd_momentum", w, dw);
  const lr = (config.learningRate ??= 1e-2);
  const mu = (config.momentum ??= 0.9);
  const v0 = config.velocity ?? like(w);
  const v = like(w);
  const next = like(w);
  for (let i = 0; i < w.size; i++) {
    v.data[i] = mu * v0.data[i] - lr * dw.data[i];
    next.data[i] = w.data[i] + v.data[i];
  }
  config.velocity = v;
  return next;
}

/**
 * RMSProp: a moving average of squared gradients scales each parameter's step.
 *   cache = decay * cache + (1 - decay) * dw^2;  w -= learning_rate * dw / (sqrt(cache) + eps)
 */
export function rmsprop(w: Tensor, dw: Tensor, config: OptimConfig): Tensor {
  check("rmsprop", w, dw);
  const lr = (config.learningRate ??= 1e-2);
  const decay = (config.decayRate ??= 0.99);
  const eps = (config.epsilon ??= 1e-8);
  const c0 = config.cache ?? like(w);
  const cache = like(w);
  const next = like(w);
  for (let i = 0; i < w.size; i++) {
    const g = dw.data[i];
    cache.data[i] = decay * c0.data[i] + (1 - decay) * (g * g);
    next.data[i] = w.data[i] - (lr * g) / (Math.sqrt(cache.data[i]) + eps);
  }
  config.cache = cache;
  return next;
}

/**
 * Adam with bias correction (t counts updates, starting at 1):
 *   m = b1 m + (1-b1) dw;  v = b2 v + (1-b2) dw^2;  w -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
 */
export function adam(w: Tensor, dw: Tensor, config: OptimConfig): Tensor {
  check("adam", w, dw);
  const lr = (config.learningRate ??= 1e-3);
  const b1 = (config.beta1 ??= 0.9);
  const b2 = (config.beta2 ??= 0.999);
  const eps = (config.epsilon ??= 1e-8);
  const m0 = config.m ?? like(w);
  const v0 = config.v ?? like(w);
  const t = (config.t = (config.t ?? 0) + 1);
  const m = like(w);
  const v = like(w);
  const next = like(w);
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  for (let i = 0; i < w.size; i++) {
    const g = dw.data[i];
    m.data[i] = b1 * m0.data[i] + (1 - b1) * g;
    v.data[i] = b2 * v0.data[i] + (1 - b2) * (g * g);
    const mt = m.data[i] / c1;
    const vt = v.data[i] / c2;
    next.data[i] = w.data[i] - (lr * mt) / (Math.sqrt(vt) + eps);
  }
  config.m = m;
  config.v = v;
  return next;
}

/** The rules by the notebook's names. */
export const updateRules = { sgd, sgd_momentum: sgdMomentum, rmsprop, adam } as const satisfies Record<string, UpdateRule>;
export type UpdateRuleName = keyof typeof updateRules;

export function updateRule(name: string): UpdateRule {
  const rule = (updateRules as Record<string, UpdateRule>)[name];
  if (!rule) throw new GradcError(`Solver: unknown update rule "${name}": use ${Object.keys(updateRules).join(", ")}`);
  return rule;
}
