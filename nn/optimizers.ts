// Optimizers over parameter trees, with PyTorch's update conventions (so a run can be set side
// by side with torch.optim): SGD (momentum, Nesterov, weight decay), RMSProp, Adam, AdamW;
// learning-rate schedules; gradient clipping by global norm. The state is a tree too: the step
// count and one slot tree per moment, shaped like the parameters, so a checkpoint saves it by path.
// Each update is one fused pass per parameter, in place (the parameters' and slots' own arrays):
// nothing is allocated per step. (notebook's per-parameter rules, with its conventions: nn/optim.ts.)

import { GradcError } from "../core/errors.js";
import * as b from "../core/builder.js";
import type { Node } from "../core/node.js";
import { allocate, sameShape, shapeStr, Tensor, type Data } from "../core/tensor.js";
import { flatten, mapTree, type Flat, type Tree } from "./tree.js";
import { adamKernel, type AdamKernel } from "./adam-wasm.js";
import { ADAM_SIMD_MIN, adam32 } from "./optim.js";

/** A learning rate as a function of the update's index (0 for the first). */
export type Schedule = (step: number) => number;
export type LearningRate = number | Schedule;

export interface OptimizerState {
  /** Updates made so far. */
  step: number;
  /** Moments by name (m, v, velocity, ...), each a tree shaped like the parameters. */
  slots: Record<string, Tree>;
}

export interface Optimizer {
  readonly name: string;
  /** Fresh state for these parameters (zeros in every slot). */
  init(params: Tree): OptimizerState;
  /** One update of params in place (and of the state); returns the learning rate used. */
  update(params: Tree, grads: Tree, state: OptimizerState): number;
  /** The learning rate of update number `step`. */
  learningRate(step: number): number;
  /** The same update as graph ops, for a training step compiled whole (nn/train-step.ts). */
  readonly graph: GraphUpdate;
}

/** Scalars of one step as graph nodes of shape [] (the learning rate `lr` and what `scalars` adds). */
export type StepScalars = Readonly<Record<string, Node>>;

/**
 * An optimizer's update written with builder ops: a training step compiled whole appends it to
 * the gradient's graph, so it fuses with the gradient's last stage like any other elementwise op.
 */
export interface GraphUpdate {
  readonly slots: readonly string[];
  /** The global-norm bound the step scales the gradients to, if any. */
  readonly clipNorm?: number;
  /** The step's scalars, computed in JavaScript as `update` computes them (fed as inputs of shape []): lr and what t (1-based) gives. */
  scalars(lr: number, t: number): Record<string, number>;
  /** One parameter's next value and slots from its (already clipped) gradient. */
  apply(w: Node, g: Node, slots: readonly Node[], s: StepScalars): { w: Node; slots: Node[] };
}

type GraphKernel = GraphUpdate["apply"];

export interface CommonOptions {
  lr?: LearningRate;
  /** Scale the gradients so that their global L2 norm is at most this (PyTorch's clip_grad_norm_). */
  clipNorm?: number;
  /** L2 penalty added to the gradient (coupled; AdamW's is decoupled). */
  weightDecay?: number;
}

/** One parameter's update: w, g, the slot arrays, the learning rate, the gradient's scale, the step (1-based). */
type Kernel = (w: Data, g: Data, slots: Data[], lr: number, scale: number, t: number) => void;

function optimizer(
  name: string,
  slotNames: string[],
  o: CommonOptions,
  kernel: Kernel,
  apply: GraphKernel,
  scalars: GraphUpdate["scalars"] = (lr) => ({ lr }),
): Optimizer {
  const lrOf = schedule(o.lr ?? 1e-3, name);
  if (o.clipNorm !== undefined && !(o.clipNorm > 0)) throw new GradcError(`${name}: clipNorm must be > 0, got ${o.clipNorm}`);
  if (o.weightDecay !== undefined && !(o.weightDecay >= 0)) throw new GradcError(`${name}: weightDecay must be >= 0, got ${o.weightDecay}`);
  return {
    name,
    learningRate: lrOf,
    graph: { slots: slotNames, clipNorm: o.clipNorm, scalars, apply },
    init: (params) => ({
      step: 0,
      slots: Object.fromEntries(
        slotNames.map((s) => [s, mapTree(params, (t) => new Tensor(new (t.data.constructor as Float64ArrayConstructor)(t.size), t.shape))]),
      ),
    }),
    update(params, grads, state) {
      const p = flatten(params),
        g = flatten(grads);
      const slots = slotNames.map((s) => {
        if (!state.slots[s]) throw new GradcError(`${name}: the state has no slot "${s}" (made by another optimizer?)`);
        return flatten(state.slots[s]);
      });
      const scale = o.clipNorm === undefined ? 1 : clipScale(g, o.clipNorm);
      const lr = lrOf(state.step);
      const t = ++state.step;
      for (const [k, w] of Object.entries(p)) {
        const dw = g[k];
        if (dw === undefined) throw new GradcError(`${name}: no gradient for parameter "${k}"`);
        if (!sameShape(w.shape, dw.shape)) throw new GradcError(`${name}: parameter "${k}" is ${shapeStr(w.shape)} but its gradient ${shapeStr(dw.shape)}`);
        kernel(
          w.data,
          dw.data,
          slots.map((s, i) => {
            if (!s[k] || s[k].size !== w.size) throw new GradcError(`${name}: slot ${slotNames[i]} has no entry of ${w.size} values for "${k}"`);
            return s[k].data;
          }),
          lr,
          scale,
          t,
        );
      }
      return lr;
    },
  };
}

/** The factor that brings the gradients' global L2 norm down to maxNorm (1 when already below). */
export function clipScale(grads: Flat, maxNorm: number): number {
  let ss = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.data.length; i++) ss += g.data[i] * g.data[i];
  const norm = Math.sqrt(ss);
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

/**
 * SGD; with momentum mu as PyTorch: buf = mu buf + g, w -= lr buf (Nesterov: w -= lr (g + mu buf)).
 *
 *   const opt = sgd({ lr: 0.1, momentum: 0.9, nesterov: true });
 *   const state = opt.init(params);  opt.update(params, grads, state);
 */
export function sgd(o: CommonOptions & { momentum?: number; nesterov?: boolean } = {}): Optimizer {
  const mu = o.momentum ?? 0,
    wd = o.weightDecay ?? 0;
  if (!(mu >= 0 && mu < 1)) throw new GradcError(`sgd: momentum must be in [0, 1), got ${mu}`);
  if (o.nesterov && mu === 0) throw new GradcError("sgd: nesterov needs a momentum > 0");
  const name = o.nesterov ? "nesterov" : mu > 0 ? "momentum" : "sgd";
  if (mu === 0) {
    return optimizer(
      name,
      [],
      o,
      (w, g, _s, lr, scale) => {
        for (let i = 0; i < w.length; i++) w[i] -= lr * (g[i] * scale + wd * w[i]);
      },
      (w, g, _s, s) => ({ w: b.sub(w, b.mul(s.lr, decayed(g, w, wd))), slots: [] }),
    );
  }
  const nesterov = o.nesterov ?? false;
  return optimizer(
    name,
    ["velocity"],
    o,
    (w, g, [buf], lr, scale, t) => {
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * scale + wd * w[i];
        const v = t === 1 ? gi : mu * buf[i] + gi; // PyTorch starts the buffer at the first gradient
        buf[i] = v;
        w[i] -= lr * (nesterov ? gi + mu * v : v);
      }
    },
    (w, g, [buf], s) => {
      // the buffer starts at zero: mu * 0 + g is the first gradient, as PyTorch's first step
      const gi = decayed(g, w, wd);
      const v = b.add(b.mul(buf, mu), gi);
      return { w: b.sub(w, b.mul(s.lr, nesterov ? b.add(gi, b.mul(v, mu)) : v)), slots: [v] };
    },
  );
}

/** The gradient with a coupled L2 term: g + wd w. */
const decayed = (g: Node, w: Node, wd: number): Node => (wd === 0 ? g : b.add(g, b.mul(w, wd)));

/** RMSProp as PyTorch's: v = a v + (1 - a) g^2; w -= lr g / (sqrt(v) + eps). */
export function rmsprop(o: CommonOptions & { alpha?: number; eps?: number } = {}): Optimizer {
  const a = o.alpha ?? 0.99,
    eps = o.eps ?? 1e-8,
    wd = o.weightDecay ?? 0;
  return optimizer(
    "rmsprop",
    ["v"],
    { lr: 1e-2, ...o },
    (w, g, [v], lr, scale) => {
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * scale + wd * w[i];
        const vi = a * v[i] + (1 - a) * (gi * gi);
        v[i] = vi;
        w[i] -= (lr * gi) / (Math.sqrt(vi) + eps);
      }
    },
    (w, g, [v], s) => {
      const gi = decayed(g, w, wd);
      const vi = b.add(b.mul(v, a), b.mul(b.square(gi), 1 - a));
      return { w: b.sub(w, b.div(b.mul(s.lr, gi), b.add(b.sqrt(vi), eps))), slots: [vi] };
    },
  );
}

type AdamOptions = CommonOptions & { beta1?: number; beta2?: number; eps?: number };

/**
 * Adam's update. A parameter of ADAM_SIMD_MIN values or more runs as the notebook's WebAssembly
 * SIMD kernel (nn/adam-wasm.ts), its moments living in the kernel's memory (the slots are views of
 * it), unless a coupled L2 term or clipping changes the gradient; the loops below compute the same
 * bits (float32: every op rounded to float32, as the kernel and numpy do).
 */
function adamOptimizer(name: string, o: AdamOptions, decoupled: boolean): Optimizer {
  const b1 = o.beta1 ?? 0.9,
    b2 = o.beta2 ?? 0.999,
    eps = o.eps ?? 1e-8,
    wd = o.weightDecay ?? (decoupled ? 0.01 : 0);
  for (const [k, v] of [
    ["beta1", b1],
    ["beta2", b2],
  ] as const)
    if (!(v >= 0 && v < 1)) throw new GradcError(`${name}: ${k} must be in [0, 1), got ${v}`);
  const kernels = new WeakMap<Data, AdamKernel>();
  const l2 = decoupled ? 0 : wd;
  const base = optimizer(
    name,
    ["m", "v"],
    o,
    (w, g, [m, v], lr, scale, t) => {
      const c1 = 1 - b1 ** t,
        c2 = 1 - b2 ** t;
      if (decoupled && wd > 0) {
        const shrink = 1 - lr * wd;
        for (let i = 0; i < w.length; i++) w[i] *= shrink;
      }
      const k = kernels.get(m);
      if (k && scale === 1 && l2 === 0) return k.step(w, g, lr, c1, c2);
      if (w instanceof Float32Array) return adam32(w, g, m, v, lr, scale, l2, b1, b2, eps, c1, c2);
      for (let i = 0; i < w.length; i++) {
        const gi = scale === 1 && l2 === 0 ? g[i] : g[i] * scale + l2 * w[i];
        const mi = b1 * m[i] + (1 - b1) * gi;
        const vi = b2 * v[i] + (1 - b2) * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        // the notebook's formula op for op (nn/optim.ts): the same bits in float64
        w[i] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
    },
    (w, g, [m, v], s) => {
      // the same formula op for op, the corrections c1, c2 (and AdamW's shrink) computed in JavaScript as above
      const w0 = decoupled && wd > 0 ? b.mul(w, s.shrink) : w;
      const gi = decayed(g, w0, l2);
      const mi = b.add(b.mul(m, b1), b.mul(gi, 1 - b1));
      const vi = b.add(b.mul(v, b2), b.mul(b.mul(gi, gi), 1 - b2));
      const step = b.div(b.mul(b.div(mi, s.c1), s.lr), b.add(b.sqrt(b.div(vi, s.c2)), eps));
      return { w: b.sub(w0, step), slots: [mi, vi] };
    },
    (lr, t) => ({ lr, c1: 1 - b1 ** t, c2: 1 - b2 ** t, shrink: 1 - lr * wd }),
  );
  return {
    ...base,
    init(params) {
      // a large parameter's moments are views of its SIMD kernel's memory (a checkpoint reads and
      // restores them in place); the others plain arrays
      const made = new Map<string, AdamKernel | null>();
      const kernelOf = (t: Tensor, path: string): AdamKernel | null => {
        if (!made.has(path)) {
          const k = t.size >= ADAM_SIMD_MIN ? adamKernel(t.size, t.dtype, b1, b2, eps) : null;
          if (k) kernels.set(k.m, k);
          made.set(path, k);
        }
        return made.get(path)!;
      };
      const slot = (which: "m" | "v") =>
        mapTree(params, (t, path) => {
          const k = kernelOf(t, path);
          return new Tensor(k ? k[which] : allocate(t.size, t.dtype), t.shape);
        });
      return { step: 0, slots: { m: slot("m"), v: slot("v") } };
    },
  };
}

/**
 * Adam with bias correction (weightDecay: an L2 term added to the gradient, as torch.optim.Adam).
 *
 *   const opt = adam({ lr: 1e-3, clipNorm: 1 });
 */
export const adam = (o: AdamOptions = {}): Optimizer => adamOptimizer("adam", o, false);

/** AdamW: Adam with decoupled weight decay, w *= 1 - lr * weightDecay before the step (default 0.01). */
export const adamw = (o: AdamOptions = {}): Optimizer => adamOptimizer("adamw", o, true);

/** The optimizers by name, as the command line spells them (momentum 0.9 where there is one). */
export const optimizers = {
  sgd: (lr: LearningRate, clipNorm?: number) => sgd({ lr, clipNorm }),
  momentum: (lr: LearningRate, clipNorm?: number) => sgd({ lr, clipNorm, momentum: 0.9 }),
  nesterov: (lr: LearningRate, clipNorm?: number) => sgd({ lr, clipNorm, momentum: 0.9, nesterov: true }),
  rmsprop: (lr: LearningRate, clipNorm?: number) => rmsprop({ lr, clipNorm }),
  adam: (lr: LearningRate, clipNorm?: number) => adam({ lr, clipNorm }),
  adamw: (lr: LearningRate, clipNorm?: number) => adamw({ lr, clipNorm }),
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Schedules

function schedule(lr: LearningRate, where: string): Schedule {
  if (typeof lr === "function") return lr;
  if (!(lr > 0) || !Number.isFinite(lr)) throw new GradcError(`${where}: the learning rate must be a positive number or a schedule, got ${lr}`);
  return () => lr;
}

/**
 * Learning-rate schedules: functions of the update's index.
 *
 *   adam({ lr: schedules.warmup(schedules.cosine(1e-3, { steps: 1000 }), { steps: 100 }) })
 */
export const schedules = {
  /** lr * gamma^floor(step / every). */
  step: (lr: number, o: { every: number; gamma?: number }): Schedule => {
    if (!(o.every >= 1)) throw new GradcError(`schedules.step: every must be >= 1, got ${o.every}`);
    const gamma = o.gamma ?? 0.1;
    return (s) => lr * gamma ** Math.floor(s / o.every);
  },
  /** Cosine from lr down to min over `steps` updates, then min. */
  cosine: (lr: number, o: { steps: number; min?: number }): Schedule => {
    if (!(o.steps >= 1)) throw new GradcError(`schedules.cosine: steps must be >= 1, got ${o.steps}`);
    const min = o.min ?? 0;
    return (s) => min + ((lr - min) * (1 + Math.cos((Math.PI * Math.min(s, o.steps)) / o.steps))) / 2;
  },
  /** Linear warm-up over `steps` updates to the schedule's first value, then the schedule (shifted by steps). */
  warmup: (after: LearningRate, o: { steps: number }): Schedule => {
    if (!(o.steps >= 1)) throw new GradcError(`schedules.warmup: steps must be >= 1, got ${o.steps}`);
    const f = schedule(after, "schedules.warmup");
    return (s) => (s < o.steps ? (f(0) * (s + 1)) / o.steps : f(s - o.steps));
  },
};
