// The notebook's FullyConnectedNet: {affine, [batchnorm | layernorm], relu} x (L - 1), affine,
// softmax cross-entropy, L2 regularization. Only the forward pass is written here: the loss is
// traced to a graph, gradc derives every gradient (grad), simplifies it (optimize) and compiles
// it. There is no hand-written backward.

import { GradcError } from "../core/errors.js";
import { Graph } from "../core/graph.js";
import { scope, type Node } from "../core/node.js";
import { RandomState } from "./random.js";
import { MAX_ELEMENTS, Tensor, full, zeros, shapeStr, type DType } from "../core/tensor.js";
import { trace, type InputSpec } from "../core/trace.js";
import * as b from "../core/builder.js";
import { affine, batchnorm, layernorm, softmaxCrossEntropy } from "../ops/composites.js";
import { grad } from "../compile/autodiff/reverse.js";
import { makeRunner, type Engine, type Runner } from "./runner.js";
import { helperThread } from "../compile/codegen/worker-pool.js";
import { specialize } from "../core/symbolic.js";
import type { ModelSpec } from "./model.js";
import type { NodeTree } from "./value-and-grad.js";

export type Normalization = "batchnorm" | "layernorm" | null;
export type Mode = "train" | "test";

export interface NetOptions {
  /** Features per example (default 3*32*32, a CIFAR-10 image). */
  inputDim?: number;
  numClasses?: number;
  /** L2 strength: the loss adds 0.5 * reg * sum(W^2) for every weight matrix. */
  reg?: number;
  /** Standard deviation of the initial weights. */
  weightScale?: number;
  dtype?: DType;
  normalization?: Normalization | "none";
  /** Seed of the initialization (as np.random.seed(seed) before the notebook's constructor). */
  seed?: number;
  /** Or a stream to draw from, shared with other nets and solvers as the notebook's global one. */
  rng?: RandomState;
  engine?: Engine;
  /**
   * Split the large matrix products (the first layer's) with a helper thread: both cores.
   * Default false (one thread, the figure compared with single-threaded numpy).
   */
  threads?: boolean;
  /**
   * `loss` returns views of the compiled graphs' buffers (scores, loss, gradients), overwritten by
   * the next call (of any net with the same graph), instead of fresh arrays: for callers that use them at once, as the Solver does
   * (a fresh set of gradients per step was a tenth of `experiment deep`, mostly in the collector).
   * Default false.
   */
  reuseOutputs?: boolean;
  /** Run the matrix products with the native kernels when they are built (default true; compile's `native` option). */
  native?: boolean;
}

export interface LossAndGrads {
  loss: number;
  grads: Record<string, Tensor>;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.9;

/**
 * A fully connected network with optional normalization, as the cs231n notebook's.
 *
 *   const net = new FullyConnectedNet([100, 100], { normalization: "batchnorm", seed: 231 });
 *   const { loss, grads } = net.loss(X, y);   // train mode: also updates the running averages
 *   const scores = net.loss(X);               // test mode: class scores [N, 10]
 */
export class FullyConnectedNet {
  readonly hiddenDims: readonly number[];
  readonly numLayers: number;
  readonly inputDim: number;
  readonly numClasses: number;
  readonly normalization: Normalization;
  readonly dtype: DType;
  reg: number;
  engine: Engine;
  readonly threads: boolean;
  readonly reuseOutputs: boolean;
  readonly native: boolean;
  /** W1, b1, gamma1, beta1, ..., WL, bL: the trainable parameters. */
  params: Record<string, Tensor> = {};
  /** runningMean1, runningVar1, ...: batchnorm's running averages (not trained, updated in train mode). */
  state: Record<string, Tensor> = {};
  private readonly runners = new Map<string, Runner>();
  private readonly symbolic = new Map<string, Graph>();

  constructor(hiddenDims: readonly number[], opts: NetOptions = {}) {
    const { inputDim = 3 * 32 * 32, numClasses = 10, reg = 0, weightScale = 1e-2, dtype = "f64", engine = "compiled" } = opts;
    const normalization = opts.normalization === "none" ? null : (opts.normalization ?? null);
    if (!Array.isArray(hiddenDims)) throw new GradcError(`FullyConnectedNet: hiddenDims must be a list of layer widths, got ${typeof hiddenDims}`);
    if (dtype !== "f64" && dtype !== "f32") throw new GradcError(`FullyConnectedNet: dtype must be "f64" or "f32", got ${JSON.stringify(dtype)}`);
    for (const [what, v] of [["inputDim", inputDim], ["numClasses", numClasses], ...hiddenDims.map((h, i) => [`hiddenDims[${i}]`, h] as const)] as const) {
      if (!Number.isInteger(v) || (v as number) < 1) throw new GradcError(`FullyConnectedNet: ${what} must be a positive integer, got ${v}`);
    }
    if (normalization !== null && normalization !== "batchnorm" && normalization !== "layernorm") {
      throw new GradcError(`FullyConnectedNet: normalization must be "batchnorm", "layernorm" or null, got ${JSON.stringify(normalization)}`);
    }
    const widths = [inputDim, ...hiddenDims, numClasses];
    for (let i = 1; i < widths.length; i++) {
      const size = widths[i - 1] * widths[i];
      if (size > MAX_ELEMENTS)
        throw new GradcError(
          `FullyConnectedNet: W${i} would be [${widths[i - 1]}, ${widths[i]}], ${size} elements, more than a tensor can hold (${MAX_ELEMENTS})`,
        );
    }
    if (!(reg >= 0) || !(weightScale >= 0)) throw new GradcError(`FullyConnectedNet: reg and weightScale must be >= 0, got ${reg} and ${weightScale}`);
    this.hiddenDims = Object.freeze([...hiddenDims]);
    this.numLayers = hiddenDims.length + 1;
    this.inputDim = inputDim;
    this.numClasses = numClasses;
    this.normalization = normalization;
    this.dtype = dtype;
    this.reg = reg;
    this.engine = engine;
    this.threads = opts.threads ?? false;
    this.reuseOutputs = opts.reuseOutputs ?? false;
    this.native = opts.native ?? true;

    // The notebook's order of draws: W1, W2, ..., WL from one stream (biases draw nothing).
    const rng = opts.rng ?? new RandomState(opts.seed);
    const dims = [inputDim, ...hiddenDims, numClasses];
    for (let i = 1; i <= this.numLayers; i++) {
      const [din, dout] = [dims[i - 1], dims[i]];
      const w = rng.randn(din, dout);
      for (let k = 0; k < w.length; k++) w[k] *= weightScale;
      this.params[`W${i}`] = new Tensor(dtype === "f32" ? new Float32Array(w) : w, [din, dout]);
      this.params[`b${i}`] = zeros([dout], dtype);
      if (normalization && i < this.numLayers) {
        this.params[`gamma${i}`] = full([dout], 1, dtype);
        this.params[`beta${i}`] = zeros([dout], dtype);
      }
      if (normalization === "batchnorm" && i < this.numLayers) {
        this.state[`runningMean${i}`] = zeros([dout], dtype);
        this.state[`runningVar${i}`] = zeros([dout], dtype);
      }
    }
  }

  /**
   * The notebook's `loss(X, y=None)`. Without labels: test mode, returns the scores [N, C].
   * With labels: train mode, returns the loss and the gradient of every parameter, and updates
   * batchnorm's running averages.
   */
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Tensor | ArrayLike<number>): LossAndGrads;
  loss(X: Tensor, y?: Tensor | ArrayLike<number>): Tensor | LossAndGrads {
    const x = this.flatten(X);
    const n = x.shape[0];
    if (y === undefined) {
      return this.runner("test", n).run({ X: x, ...this.params, ...this.state }).scores;
    }
    const labels = this.labels(y, n);
    const out = this.runner("train", n).run({ X: x, y: labels, ...this.params, ...this.state });
    // the running averages are the next run's inputs: copied (an output view is overwritten)
    for (const k of Object.keys(this.state)) this.state[k] = this.reuseOutputs ? new Tensor(out[k].data.slice(), out[k].shape) : out[k];
    const grads: Record<string, Tensor> = {};
    for (const k of Object.keys(this.params)) grads[k] = out[`d${k}`];
    // A diverging run (huge weight scale, learning rate) gives an infinite or NaN loss here, as in
    // numpy: the Solver records it and the experiments plot around it; inputs were checked above.
    return { loss: out.loss.data[0], grads };
  }

  /**
   * The traced graph for a batch of n (or "N": the batch size symbolic, bound when it runs): in
   * train mode the loss with every parameter's gradient (outputs loss, runningMean<i>,
   * runningVar<i>, d<param>), in test mode the scores.
   *
   *   console.log(net.graph("train", 50).toString());
   */
  graph(mode: Mode, n: number | "N"): Graph {
    const g = this.forwardGraph(mode, n);
    if (mode === "test") return g;
    return grad(g, { of: "loss", wrt: Object.keys(this.params), withValue: true });
  }

  /**
   * The executable for a mode and batch size, prepared once and cached. The graph is traced once
   * per mode with a symbolic batch size N; a batch size specialises it, then optimizes and
   * compiles it at that size (optimizing the symbolic graph once would save that step, but its
   * 1/N stays an opaque factor and the closed forms it reaches lose digits: see the README).
   */
  runner(mode: Mode, n: number): Runner {
    const key = `${mode}:${n}:${this.engine}:${this.reg}`;
    let r = this.runners.get(key);
    if (!r) {
      const t0 = performance.now();
      r = makeRunner(specialize(this.traced(mode), { N: n }), this.engine, {
        reuseOutputs: this.reuseOutputs,
        ...(this.threads ? { threads: helperThread() } : {}),
        ...(this.native ? {} : { native: false }),
      });
      r.prepareMs = performance.now() - t0;
      this.runners.set(key, r);
    }
    return r;
  }

  /** The graph of a mode with a symbolic batch size: traced once (the regularization is part of it). */
  private traced(mode: Mode): Graph {
    const key = `${mode}:${this.reg}`;
    let g = this.symbolic.get(key);
    if (!g) this.symbolic.set(key, (g = this.graph(mode, "N")));
    return g;
  }

  /** Milliseconds spent so far optimizing and compiling this net's graphs (all batch sizes). */
  get prepareMs(): number {
    let ms = 0;
    for (const r of this.runners.values()) ms += r.prepareMs;
    return ms;
  }

  /** The forward computation as a graph: scores (test) or the loss and running averages (train). */
  private forwardGraph(mode: Mode, n: number | "N"): Graph {
    const specs: Record<string, InputSpec> = { X: { shape: [n, this.inputDim], dtype: this.dtype } };
    if (mode === "train") specs.y = { shape: [n], dtype: this.dtype };
    for (const [k, t] of Object.entries({ ...this.params, ...this.state })) specs[k] = { shape: t.shape, dtype: this.dtype };
    return trace(specs, (xs): Record<string, Node> => {
      const { scores, updates } = this.forward(xs, mode);
      if (mode === "test") return { scores };
      return { loss: this.lossOf(scores, xs.y, xs), ...updates };
    });
  }

  /** Softmax cross-entropy plus the L2 penalty 0.5 * reg * sum(W^2) of every weight matrix. */
  private lossOf(scores: Node, y: Node, xs: Record<string, Node>): Node {
    let loss = softmaxCrossEntropy(scores, y);
    if (this.reg > 0) {
      for (let i = 1; i <= this.numLayers; i++) {
        loss = b.add(loss, b.mul(b.sum(b.square(xs[`W${i}`]), undefined, false), 0.5 * this.reg));
      }
    }
    return loss;
  }

  /**
   * The net as a model of a parameter tree, `{ init, loss, predict }` (the same forward and loss),
   * for the Solver's tree optimizers and `gradc train`. Batchnorm's running averages are the
   * model's state (`initState`): the loss returns their next values beside itself.
   *
   *   new Solver(new FullyConnectedNet([100], { normalization: "batchnorm" }).asModel(), data, { optimizer: optim.adam() })
   */
  asModel(): ModelSpec {
    const rows = (X: Node) => (X.rank === 2 ? X : b.reshape(X, [X.shape[0], this.inputDim]));
    const nodes = (p: NodeTree) => p as Record<string, Node>;
    const copy = (ts: Record<string, Tensor>) => Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
    const stateful = this.normalization === "batchnorm";
    return {
      init: () => copy(this.params),
      ...(stateful ? { initState: () => copy(this.state) } : {}),
      loss: (p, { X, y }, s) => {
        const { scores, updates } = this.forward({ ...nodes(p), ...nodes(s), X: rows(X) }, "train");
        const loss = this.lossOf(scores, y, nodes(p));
        return stateful ? { loss, state: updates } : loss;
      },
      predict: (p, X, s) => this.forward({ ...nodes(p), ...nodes(s), X: rows(X) }, "test").scores,
      numClasses: this.numClasses,
    };
  }

  private forward(xs: Record<string, Node>, mode: Mode): { scores: Node; updates: Record<string, Node> } {
    const updates: Record<string, Node> = {};
    let h = xs.X;
    for (let i = 1; i < this.numLayers; i++) h = scope(`layer ${i}`, () => this.hidden(i, h, xs, mode, updates));
    const L = this.numLayers;
    return { scores: scope(`layer ${L}`, () => affine(h, xs[`W${L}`], xs[`b${L}`])), updates };
  }

  /** Hidden layer i: affine, the normalization if any, relu (recorded under the scope "layer i"). */
  private hidden(i: number, h: Node, xs: Record<string, Node>, mode: Mode, updates: Record<string, Node>): Node {
    h = affine(h, xs[`W${i}`], xs[`b${i}`]);
    if (this.normalization === "batchnorm") {
      const r = batchnorm(h, xs[`gamma${i}`], xs[`beta${i}`], {
        mode,
        eps: BN_EPS,
        momentum: BN_MOMENTUM,
        runningMean: xs[`runningMean${i}`],
        runningVar: xs[`runningVar${i}`],
      });
      h = r.out;
      if (mode === "train") {
        updates[`runningMean${i}`] = r.runningMean!;
        updates[`runningVar${i}`] = r.runningVar!;
      }
    } else if (this.normalization === "layernorm") {
      h = layernorm(h, xs[`gamma${i}`], xs[`beta${i}`], { eps: BN_EPS });
    }
    h = b.relu(h);
    return h;
  }

  /** (N, d1, ..., dk) -> (N, inputDim) in the model's dtype, as the notebook's reshape. */
  private flatten(X: Tensor): Tensor {
    const n = X.shape[0];
    if (X.shape.length < 1 || n < 1 || X.size !== n * this.inputDim) {
      throw new GradcError(`FullyConnectedNet.loss: X has shape ${shapeStr(X.shape)}; expected N examples of ${this.inputDim} features`);
    }
    const data = X.dtype === this.dtype ? X.data : this.dtype === "f32" ? new Float32Array(X.data) : new Float64Array(X.data);
    return new Tensor(data, [n, this.inputDim]);
  }

  private labels(y: Tensor | ArrayLike<number>, n: number): Tensor {
    return classLabels("FullyConnectedNet.loss", y, n, this.numClasses, this.dtype);
  }
}

/** Labels y as a [n] tensor of class indices in `dtype`; a count other than n or a value that is not a class in 0..classes-1 is an error naming `who`. */
export function classLabels(who: string, y: Tensor | ArrayLike<number>, n: number, classes: number, dtype: DType): Tensor {
  const values = y instanceof Tensor ? y.data : y;
  if (values.length !== n) throw new GradcError(`${who}: ${values.length} labels for ${n} examples`);
  const out = zeros([n], dtype);
  for (let i = 0; i < n; i++) {
    const c = values[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new GradcError(`${who}: label ${c} at ${i} is not a class in 0..${classes - 1}`);
    out.data[i] = c;
  }
  return out;
}
