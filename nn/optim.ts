// First-order update rules, as the cs231n notebook's optim.py defines them. Each rule takes a
// parameter, its gradient and a per-parameter config (hyperparameters plus state such as the
// velocity or Adam's moments) and returns the next parameter; state is kept in the config.
// They are plain loops: an update is one pass over the parameter, nothing to derive or fuse;
// Adam on a large parameter runs as a WebAssembly SIMD loop instead (nn/adam-wasm.ts: the plain
// loop was a fifth of `experiment deep`), keeping its moments in the kernel's memory. They update
// w and the state tensors in place and return w (as the notebook's sgd does with `w -= ...`):
// allocating three fresh arrays per parameter per step cost a third of a training iteration.
// (Adam on a large parameter returns an equal tensor in its kernel's memory instead: use the
// returned parameter, as the Solver does, and the next step copies nothing.) Copy a parameter
// first to keep its old value.

import { GradcError } from "../core/errors.js";
import { allocate, sameShape, shapeStr, Tensor, type Data, type DType } from "../core/tensor.js";
import * as b from "../core/builder.js";
import { Graph } from "../core/graph.js";
import { compile, type Executable } from "../compile/codegen/compile.js";
import { adamKernel, type AdamKernel } from "./adam-wasm.js";

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
 *   sgd(w, dw, { learningRate: 1e-2 });   // w updated in place (and returned)
 */
export function sgd(w: Tensor, dw: Tensor, config: OptimConfig): Tensor {
  check("sgd", w, dw);
  const lr = (config.learningRate ??= 1e-2);
  const wd = w.data,
    g = dw.data;
  for (let i = 0; i < wd.length; i++) wd[i] -= lr * g[i];
  return w;
}

/**
 * SGD with momentum: v = momentum * v - learning_rate * dw; w += v.
 *
 *   const config = { learningRate: 1e-3, velocity: v };
 *   sgdMomentum(w, dw, config);   // w and config.velocity updated in place
 */
export function sgdMomentum(w: Tensor, dw: Tensor, config: OptimConfig): Tensor {
  check("sgd_momentum", w, dw);
  const lr = (config.learningRate ??= 1e-2);
  const mu = (config.momentum ??= 0.9);
  const v = (config.velocity ??= like(w));
  const wd = w.data,
    g = dw.data,
    vd = v.data;
  for (let i = 0; i < wd.length; i++) {
    vd[i] = mu * vd[i] - lr * g[i];
    wd[i] += vd[i];
  }
  return w;
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
  const cache = (config.cache ??= like(w));
  const wd = w.data,
    gd = dw.data,
    cd = cache.data;
  for (let i = 0; i < wd.length; i++) {
    const g = gd[i];
    cd[i] = decay * cd[i] + (1 - decay) * (g * g);
    wd[i] -= (lr * g) / (Math.sqrt(cd[i]) + eps);
  }
  return w;
}

/**
 * Adam with bias correction (t counts updates, starting at 1):
 *   m = b1 m + (1-b1) dw;  v = b2 v + (1-b2) dw^2;  w -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
 * w is updated in place. A parameter of ADAM_SIMD_MIN values or more comes back as a tensor over
 * the SIMD kernel's memory holding the same values; passing that one next time saves copying it.
 *
 *   params.W1 = adam(params.W1, grads.W1, config);
 */
export function adam(w: Tensor, dw: Tensor, config: OptimConfig): Tensor {
  check("adam", w, dw);
  const lr = (config.learningRate ??= 1e-3);
  const b1 = (config.beta1 ??= 0.9);
  const b2 = (config.beta2 ??= 0.999);
  const eps = (config.epsilon ??= 1e-8);
  const m = (config.m ??= like(w));
  const v = (config.v ??= like(w));
  const t = (config.t = (config.t ?? 0) + 1);
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  if (w.size >= ADAM_SIMD_MIN) {
    // the same formula, op for op, as WebAssembly SIMD (nn/adam-wasm.ts): bit for bit the loop's
    // in float64; in float32 each op rounds to float32 (as numpy's float32 Adam does)
    const k = simdAdam(config, w, b1, b2, eps);
    if (k) {
      k.step(w.data, dw.data, lr, c1, c2);
      // w is updated in place; the returned parameter lives in the kernel's memory, so a caller that
      // keeps it (the Solver does) hands it back next step and nothing is copied in or out
      return w.data === k.w ? w : new Tensor(k.w, w.shape);
    }
    const out = adamGraph(w.shape, w.dtype, b1, b2, eps).run({ w, dw, m, v, lr: [lr], c1: [c1], c2: [c2] });
    w.data.set(out.w.data);
    m.data.set(out.m.data);
    v.data.set(out.v.data);
    return w;
  }
  const wd = w.data,
    gd = dw.data,
    md = m.data,
    vd = v.data;
  if (w.dtype === "f32") {
    adam32(wd, gd, md, vd, lr, 1, 0, b1, b2, eps, c1, c2);
    return w;
  }
  for (let i = 0; i < wd.length; i++) {
    const g = gd[i];
    const mi = b1 * md[i] + (1 - b1) * g;
    const vi = b2 * vd[i] + (1 - b2) * (g * g);
    md[i] = mi;
    vd[i] = vi;
    wd[i] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
  return w;
}

/**
 * Adam in float32 as numpy computes it on float32 arrays (and as the update graph and the SIMD
 * kernel do): every op rounded to float32, the scalars (b1, 1 - b1, lr, the corrections) rounded
 * to float32 first. Written op for op as the update graph; bit for bit its result (tested), so a
 * parameter's results do not depend on which path its size takes. The gradient is first scaled
 * and given L2 weight decay where `scale` is not 1 or `l2` not 0 (the tree optimizers' clipping
 * and weight decay).
 */
export function adam32(
  w: Data,
  g: Data,
  m: Data,
  v: Data,
  lr: number,
  scale: number,
  l2: number,
  b1: number,
  b2: number,
  eps: number,
  c1: number,
  c2: number,
): void {
  const f = Math.fround;
  const B1 = f(b1),
    NB1 = f(1 - b1),
    B2 = f(b2),
    NB2 = f(1 - b2),
    E = f(eps),
    LR = f(lr),
    C1 = f(c1),
    C2 = f(c2);
  const plain = scale === 1 && l2 === 0;
  for (let i = 0; i < w.length; i++) {
    const gi = plain ? g[i] : f(f(g[i] * scale) + f(l2 * w[i]));
    const mi = f(f(m[i] * B1) + f(gi * NB1));
    const vi = f(f(v[i] * B2) + f(f(gi * gi) * NB2));
    m[i] = mi;
    v[i] = vi;
    w[i] = f(w[i] - f(f(f(mi / C1) * LR) / f(f(Math.sqrt(f(vi / C2))) + E)));
  }
}

/**
 * Parameters of at least this many values update in SIMD (a smaller one is not worth a kernel's
 * memory). Both paths compute the same bits, in float64 and in float32.
 */
export const ADAM_SIMD_MIN = 4096;

/** The SIMD kernels by their moment m's array (a view of the kernel's memory). */
const simdKernels = new WeakMap<Data, { kernel: AdamKernel; key: string }>();

/**
 * The SIMD kernel holding config.m and config.v, made on the first step (moments handed in by the
 * caller are copied into it, and config.m, config.v become views of its memory). Null without SIMD.
 */
function simdAdam(config: OptimConfig, w: Tensor, b1: number, b2: number, eps: number): AdamKernel | null {
  const key = `${w.size}:${w.dtype}:${b1}:${b2}:${eps}`;
  const m = config.m!,
    v = config.v!;
  const have = simdKernels.get(m.data);
  if (have && have.key === key && have.kernel.v === v.data) return have.kernel;
  const kernel = adamKernel(w.size, w.dtype, b1, b2, eps);
  if (!kernel) return null;
  kernel.m.set(m.data);
  kernel.v.set(v.data);
  config.m = new Tensor(kernel.m, m.shape);
  config.v = new Tensor(kernel.v, v.shape);
  simdKernels.set(kernel.m, { kernel, key });
  return kernel;
}

const adamGraphs = new Map<string, Executable>();

/** Adam's update of one parameter shape as a compiled graph (without WebAssembly SIMD). */
function adamGraph(shape: readonly number[], dtype: DType, b1: number, b2: number, eps: number): Executable {
  const key = `${shape.join("x")}:${dtype}:${b1}:${b2}:${eps}`;
  let exe = adamGraphs.get(key);
  if (!exe) {
    const [w, g, m, v] = ["w", "dw", "m", "v"].map((name) => b.input(name, shape, dtype));
    const [lr, c1, c2] = ["lr", "c1", "c2"].map((name) => b.input(name, [1], dtype));
    const mi = b.add(b.mul(m, b1), b.mul(g, 1 - b1));
    const vi = b.add(b.mul(v, b2), b.mul(b.mul(g, g), 1 - b2));
    const step = b.div(b.mul(b.div(mi, c1), lr), b.add(b.sqrt(b.div(vi, c2)), eps));
    exe = compile(new Graph([w, g, m, v, lr, c1, c2], { w: b.sub(w, step), m: mi, v: vi }), { reuseOutputs: true });
    adamGraphs.set(key, exe);
  }
  return exe;
}

/** The rules by the notebook's names. */
export const updateRules = { sgd, sgd_momentum: sgdMomentum, rmsprop, adam } as const satisfies Record<string, UpdateRule>;
export type UpdateRuleName = keyof typeof updateRules;

export function updateRule(name: string): UpdateRule {
  const rule = (updateRules as Record<string, UpdateRule>)[name];
  if (!rule) throw new GradcError(`Solver: unknown update rule "${name}": use ${Object.keys(updateRules).join(", ")}`);
  return rule;
}
