// The next notebook's ThreeLayerConvNet: conv - [spatial batchnorm | group norm] - relu - 2x2 max
// pool - affine - relu - affine - softmax, L2 regularization on the three weights. As for
// FullyConnectedNet, only the forward pass is written: gradc derives the gradients, optimizes and
// compiles them (the convs run as im2col and the native matrix product). The interface is the
// Solver's Model: params, loss(X) for scores, loss(X, y) for the loss and every gradient.

import { GradcError } from "../core/errors.js";
import { Graph } from "../core/graph.js";
import { scope, type Node } from "../core/node.js";
import { RandomState } from "./random.js";
import { Tensor, full, zeros, shapeStr, type DType } from "../core/tensor.js";
import { trace, type InputSpec } from "../core/trace.js";
import * as b from "../core/builder.js";
import { affine, batchnorm, groupnorm, softmaxCrossEntropy } from "../ops/composites.js";
import { conv, maxPool } from "../ops/conv-builders.js";
import { grad } from "../compile/autodiff/reverse.js";
import { makeRunner, type Engine, type Runner } from "./runner.js";
import { classLabels, type LossAndGrads, type Mode } from "./net.js";
import type { ModelSpec } from "./model.js";
import type { NodeTree } from "./value-and-grad.js";

export type ConvNormalization = "batchnorm" | "groupnorm" | null;

export interface ConvNetOptions {
  /** [C, H, W] of one image (default a CIFAR-10 image, [3, 32, 32]); H and W even. */
  inputDim?: readonly [number, number, number];
  numFilters?: number;
  /** Odd: the conv keeps the spatial size (padding (size - 1) / 2). */
  filterSize?: number;
  hiddenDim?: number;
  numClasses?: number;
  /** Standard deviation of the initial weights. */
  weightScale?: number;
  /** L2 strength: the loss adds 0.5 * reg * sum(W^2) for W1, W2, W3. */
  reg?: number;
  /** Default float32. */
  dtype?: DType;
  /** After the conv: spatial batchnorm or group norm (gamma1, beta1). Default none. */
  normalization?: ConvNormalization | "none";
  /** Group norm's groups (default 4; must divide numFilters). */
  groups?: number;
  seed?: number;
  rng?: RandomState;
  engine?: Engine;
  /** As FullyConnectedNet's: views of the compiled buffers instead of fresh arrays (the Solver uses them at once). */
  reuseOutputs?: boolean;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.9;

/**
 * A three-layer convolutional network, as cs231n's.
 *
 *   const net = new ThreeLayerConvNet({ numFilters: 32, filterSize: 7, hiddenDim: 100, seed: 231 });
 *   const { loss, grads } = net.loss(X, y);   // X [N, 3, 32, 32]
 *   const scores = net.loss(X);               // [N, 10]
 */
export class ThreeLayerConvNet {
  readonly inputDim: readonly [number, number, number];
  readonly numFilters: number;
  readonly filterSize: number;
  readonly hiddenDim: number;
  readonly numClasses: number;
  readonly normalization: ConvNormalization;
  readonly groups: number;
  readonly dtype: DType;
  reg: number;
  engine: Engine;
  readonly reuseOutputs: boolean;
  /** W1, b1, [gamma1, beta1], W2, b2, W3, b3. */
  params: Record<string, Tensor> = {};
  /** Spatial batchnorm's running averages (runningMean1, runningVar1). */
  state: Record<string, Tensor> = {};
  private readonly runners = new Map<string, Runner>();

  constructor(opts: ConvNetOptions = {}) {
    const {
      inputDim = [3, 32, 32],
      numFilters = 32,
      filterSize = 7,
      hiddenDim = 100,
      numClasses = 10,
      weightScale = 1e-3,
      reg = 0,
      dtype = "f32",
      engine = "compiled",
      groups = 4,
    } = opts;
    const normalization = opts.normalization === "none" ? null : (opts.normalization ?? null);
    const [c, h, w] = inputDim;
    for (const [what, v] of [
      ["numFilters", numFilters],
      ["filterSize", filterSize],
      ["hiddenDim", hiddenDim],
      ["numClasses", numClasses],
      ["inputDim C", c],
      ["inputDim H", h],
      ["inputDim W", w],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new GradcError(`ThreeLayerConvNet: ${what} must be a positive integer, got ${v}`);
    }
    if (filterSize % 2 !== 1) throw new GradcError(`ThreeLayerConvNet: filterSize must be odd (the conv keeps the spatial size), got ${filterSize}`);
    if (h % 2 !== 0 || w % 2 !== 0) throw new GradcError(`ThreeLayerConvNet: H and W must be even (2x2 pooling), got ${h}x${w}`);
    if (normalization !== null && normalization !== "batchnorm" && normalization !== "groupnorm") {
      throw new GradcError(`ThreeLayerConvNet: normalization must be "batchnorm", "groupnorm" or null, got ${JSON.stringify(normalization)}`);
    }
    if (normalization === "groupnorm" && (!Number.isInteger(groups) || groups < 1 || numFilters % groups !== 0))
      throw new GradcError(`ThreeLayerConvNet: groups ${groups} must divide numFilters ${numFilters}`);
    if (!(reg >= 0) || !(weightScale >= 0)) throw new GradcError(`ThreeLayerConvNet: reg and weightScale must be >= 0, got ${reg} and ${weightScale}`);
    this.inputDim = [c, h, w];
    this.numFilters = numFilters;
    this.filterSize = filterSize;
    this.hiddenDim = hiddenDim;
    this.numClasses = numClasses;
    this.normalization = normalization;
    this.groups = groups;
    this.dtype = dtype;
    this.reg = reg;
    this.engine = engine;
    this.reuseOutputs = opts.reuseOutputs ?? false;

    // cs231n's order of draws: W1, W2, W3 from one stream
    const rng = opts.rng ?? new RandomState(opts.seed);
    const draw = (shape: number[]) => {
      const v = rng.randn(...shape);
      for (let k = 0; k < v.length; k++) v[k] *= weightScale;
      return new Tensor(dtype === "f32" ? new Float32Array(v) : v, shape);
    };
    const pooled = numFilters * (h / 2) * (w / 2);
    this.params.W1 = draw([numFilters, c, filterSize, filterSize]);
    this.params.b1 = zeros([numFilters], dtype);
    if (normalization) {
      this.params.gamma1 = full([numFilters], 1, dtype);
      this.params.beta1 = zeros([numFilters], dtype);
    }
    if (normalization === "batchnorm") {
      this.state.runningMean1 = zeros([numFilters], dtype);
      this.state.runningVar1 = zeros([numFilters], dtype);
    }
    this.params.W2 = draw([pooled, hiddenDim]);
    this.params.b2 = zeros([hiddenDim], dtype);
    this.params.W3 = draw([hiddenDim, numClasses]);
    this.params.b3 = zeros([numClasses], dtype);
  }

  /** Without labels: the scores [N, classes]. With labels: the loss and every parameter's gradient (updates batchnorm's running averages). */
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Tensor | ArrayLike<number>): LossAndGrads;
  loss(X: Tensor, y?: Tensor | ArrayLike<number>): Tensor | LossAndGrads {
    const x = this.images(X);
    const n = x.shape[0];
    if (y === undefined) return this.runner("test", n).run({ X: x, ...this.params, ...this.state }).scores;
    const out = this.runner("train", n).run({ X: x, y: this.labels(y, n), ...this.params, ...this.state });
    for (const k of Object.keys(this.state)) this.state[k] = this.reuseOutputs ? new Tensor(out[k].data.slice(), out[k].shape) : out[k];
    const grads: Record<string, Tensor> = {};
    for (const k of Object.keys(this.params)) grads[k] = out[`d${k}`];
    return { loss: out.loss.data[0], grads };
  }

  /** The traced graph for a batch of n: the loss with every gradient (train) or the scores (test). */
  graph(mode: Mode, n: number): Graph {
    const g = this.forwardGraph(mode, n);
    return mode === "test" ? g : grad(g, { of: "loss", wrt: Object.keys(this.params), withValue: true });
  }

  /** The executable for a mode and batch size: traced, optimized and compiled once. */
  runner(mode: Mode, n: number): Runner {
    const key = `${mode}:${n}:${this.engine}:${this.reg}`;
    let r = this.runners.get(key);
    if (!r) {
      const t0 = performance.now();
      r = makeRunner(this.graph(mode, n), this.engine, { reuseOutputs: this.reuseOutputs });
      r.prepareMs = performance.now() - t0;
      this.runners.set(key, r);
    }
    return r;
  }

  /** Milliseconds spent optimizing and compiling this net's graphs. */
  get prepareMs(): number {
    let ms = 0;
    for (const r of this.runners.values()) ms += r.prepareMs;
    return ms;
  }

  private forwardGraph(mode: Mode, n: number): Graph {
    const specs: Record<string, InputSpec> = { X: { shape: [n, ...this.inputDim], dtype: this.dtype } };
    if (mode === "train") specs.y = { shape: [n], dtype: this.dtype };
    for (const [k, t] of Object.entries({ ...this.params, ...this.state })) specs[k] = { shape: t.shape, dtype: this.dtype };
    return trace(specs, (xs): Record<string, Node> => {
      const updates: Record<string, Node> = {};
      const scores = this.forward(xs, mode, updates);
      if (mode === "test") return { scores };
      return { loss: this.lossOf(scores, xs.y, xs), ...updates };
    });
  }

  /** Softmax cross-entropy plus 0.5 * reg * sum(W^2) of the three weights. */
  private lossOf(scores: Node, y: Node, xs: Record<string, Node>): Node {
    let loss = softmaxCrossEntropy(scores, y);
    if (this.reg > 0) for (const w of ["W1", "W2", "W3"]) loss = b.add(loss, b.mul(b.sum(b.square(xs[w])), 0.5 * this.reg));
    return loss;
  }

  /**
   * The net as a model of a parameter tree (the same forward and loss) for the Solver's tree
   * optimizers and `gradc train`; spatial batchnorm's running averages are its state.
   *
   *   new Solver(new ThreeLayerConvNet({ normalization: "batchnorm" }).asModel(), data, { optimizer: optim.adam() })
   */
  asModel(): ModelSpec {
    const nodes = (p: NodeTree) => p as Record<string, Node>;
    const copy = (ts: Record<string, Tensor>) => Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
    const stateful = this.normalization === "batchnorm";
    const images = (X: Node) => (X.rank === 4 ? X : b.reshape(X, [X.shape[0], ...this.inputDim]));
    return {
      init: () => copy(this.params),
      ...(stateful ? { initState: () => copy(this.state) } : {}),
      loss: (p, { X, y }, s) => {
        const updates: Record<string, Node> = {};
        const xs = { ...nodes(p), ...nodes(s), X: images(X) };
        const loss = this.lossOf(this.forward(xs, "train", updates), y, xs);
        return stateful ? { loss, state: updates } : loss;
      },
      predict: (p, X, s) => this.forward({ ...nodes(p), ...nodes(s), X: images(X) }, "test", {}),
      numClasses: this.numClasses,
    };
  }

  private forward(xs: Record<string, Node>, mode: Mode, updates: Record<string, Node>): Node {
    const pad = (this.filterSize - 1) / 2;
    const pooled = scope("layer 1", () => {
      let h = conv(xs.X, xs.W1, { padding: pad, bias: xs.b1 });
      if (this.normalization === "batchnorm") {
        const r = batchnorm(h, xs.gamma1, xs.beta1, {
          mode,
          eps: BN_EPS,
          momentum: BN_MOMENTUM,
          axes: [0, 2, 3],
          runningMean: xs.runningMean1,
          runningVar: xs.runningVar1,
        });
        h = r.out;
        if (mode === "train") Object.assign(updates, { runningMean1: r.runningMean!, runningVar1: r.runningVar! });
      } else if (this.normalization === "groupnorm") {
        h = groupnorm(h, xs.gamma1, xs.beta1, this.groups, { eps: BN_EPS });
      }
      return maxPool(b.relu(h), { kernel: 2 });
    });
    const flat = b.reshape(pooled, [pooled.shape[0], pooled.size / pooled.shape[0]]);
    const hidden = scope("layer 2", () => b.relu(affine(flat, xs.W2, xs.b2)));
    return scope("layer 3", () => affine(hidden, xs.W3, xs.b3));
  }

  /** X as [N, C, H, W] in the model's dtype. */
  private images(X: Tensor): Tensor {
    const [c, h, w] = this.inputDim;
    const n = X.shape[0];
    if (X.shape.length < 1 || n < 1 || X.size !== n * c * h * w)
      throw new GradcError(`ThreeLayerConvNet.loss: X has shape ${shapeStr(X.shape)}; expected N images of [${c},${h},${w}]`);
    const data = X.dtype === this.dtype ? X.data : this.dtype === "f32" ? new Float32Array(X.data) : new Float64Array(X.data);
    return new Tensor(data, [n, c, h, w]);
  }

  private labels(y: Tensor | ArrayLike<number>, n: number): Tensor {
    return classLabels("ThreeLayerConvNet.loss", y, n, this.numClasses, this.dtype);
  }
}
