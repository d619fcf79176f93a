// The notebook's Solver: minibatch training with a chosen update rule, per-parameter optimizer
// state, loss and accuracy histories, and the best parameters by validation accuracy.
// Random draws (minibatches, accuracy subsets) come from a numpy-compatible stream, so a run
// seeded as the notebook draws the same minibatches.

import { GradcError } from "../core/errors.js";
import { RandomState } from "./random.js";
import { Tensor, allocate, shapeStr } from "../core/tensor.js";
import { updateRule, type OptimConfig, type UpdateRule, type UpdateRuleName } from "./optim.js";
import type { LossAndGrads } from "./net.js";
import { ArrayDataset, argmax, checkBatchSize, type Batch } from "./dataset.js";
import { isModelSpec, treeModel, type ModelSpec, type TreeModel } from "./model.js";
import type { Optimizer, OptimizerState } from "./optimizers.js";
import { ProgressBar } from "./progress.js";

/** What the Solver trains: the notebook's model interface (a tree model spec is adapted to it). */
export interface Model {
  params: Record<string, Tensor>;
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Tensor | ArrayLike<number>): LossAndGrads;
  /** Classes, when the model knows them: labels are checked against it before training. */
  numClasses?: number;
  /** State the model keeps but does not train (batchnorm's running averages), by name: checkpoints save it. */
  state?: Record<string, Tensor>;
}

export type Labels = Tensor | ArrayLike<number>;

/** The notebook's data dict: X_train, y_train, X_val, y_val. */
export interface SolverData {
  XTrain: Tensor;
  yTrain: Labels;
  XVal: Tensor;
  yVal: Labels;
}

export interface SolverOptions {
  updateRule?: UpdateRuleName | UpdateRule;
  optimConfig?: OptimConfig;
  /** An optimizer over the parameter tree (optim.adam({ lr }), ...) instead of the notebook's updateRule. */
  optimizer?: Optimizer;
  /** Learning rate multiplier after each epoch (notebook's update rules; an optimizer takes a schedule). */
  lrDecay?: number;
  batchSize?: number;
  numEpochs?: number;
  /**
   * Each epoch visits the training set once in a random order (false, the default, is the
   * notebook's: every minibatch drawn with replacement).
   */
  shuffle?: boolean;
  /**
   * Train a tree model with an optimizer through one compiled executable per step (forward,
   * backward and update together: nn/train-step.ts). Default true; false runs valueAndGrad, then
   * the optimizer's update.
   */
  compiledStep?: boolean;
  /** Stop when the loss is NaN or infinite, saying where and which gradient went first (default true). */
  stopOnNaN?: boolean;
  /** Training examples used to measure train accuracy each epoch (null: all). */
  numTrainSamples?: number | null;
  /** Validation examples used to measure validation accuracy (null: all). */
  numValSamples?: number | null;
  printEvery?: number;
  verbose?: boolean;
  /** A progress bar instead of log lines (default: when verbose and stderr is a terminal). */
  progress?: boolean;
  seed?: number;
  /** Or a stream to draw minibatches from (the notebook's global np.random). */
  rng?: RandomState;
  /** Where log lines go (default console.log). */
  log?: (line: string) => void;
  /** Called after each epoch's accuracy check (e.g. to save a checkpoint). */
  onEpoch?: (solver: Solver) => void;
}

/** Where a run stopped on a non-finite loss. */
export interface NaNStop {
  epoch: number;
  iteration: number;
  loss: number;
  /** The first parameter (in the model's order) whose gradient holds a NaN or an infinity, if any. */
  parameter: string | null;
  message: string;
}

/**
 * Train a model by minibatch gradient descent, as the notebook's Solver: the notebook's nets, or
 * any model given as `{ init, loss, predict? }` over a parameter tree (see nn/model.ts).
 *
 *   const solver = new Solver(net, data, { updateRule: "adam", optimConfig: { learningRate: 1e-3 }, batchSize: 50, numEpochs: 10 });
 *   solver.train();
 *   solver.valAccHistory   // one entry per epoch, plus the initial one
 *   new Solver({ init, loss, predict }, data, { optimizer: optim.adam({ lr: 1e-3 }), shuffle: true, seed: 0 }).train();
 */
export class Solver {
  readonly model: Model;
  readonly data: SolverData;
  /** The training and validation sets, labels checked (against the model's classes when it knows them). */
  readonly trainSet: ArrayDataset;
  readonly valSet: ArrayDataset;
  lossHistory: number[] = [];
  trainAccHistory: number[] = [];
  valAccHistory: number[] = [];
  bestValAcc = 0;
  bestParams: Record<string, Tensor> = {};
  epoch = 0;
  /** Updates done (train() continues from here: a restored checkpoint sets it). */
  iteration = 0;
  /** Set when training stopped on a NaN or infinite loss. */
  stopped: NaNStop | null = null;
  /** Wall-clock milliseconds of the last train(): all of it, the steps (with the updates in them), the updates, the accuracy checks, the first step (which traces and compiles). */
  timing = { totalMs: 0, stepMs: 0, updateMs: 0, accuracyMs: 0, iterations: 0, firstStepMs: 0 };
  /** The notebook rules' per-parameter configs (state included), or null with an optimizer. */
  readonly optimConfigs: Record<string, OptimConfig> = {};
  readonly optimizer: Optimizer | null;
  /** The optimizer's state tree (null with the notebook's rules). */
  optimizerState: OptimizerState | null;
  /** The minibatch stream. */
  readonly rng: RandomState;
  /** This epoch's order of the training examples (with shuffle). */
  order: Int32Array | null = null;
  private readonly rule: UpdateRule | null;
  private readonly opts: Required<
    Omit<SolverOptions, "updateRule" | "optimConfig" | "optimizer" | "seed" | "rng" | "progress" | "onEpoch" | "compiledStep">
  > & { progress: boolean; onEpoch?: (s: Solver) => void };
  private batch?: Batch;
  /** The tree model's compiled step, when it trains through one. */
  private readonly compiled: ((X: Tensor, y: Tensor) => number) | null;

  constructor(model: Model | ModelSpec, data: SolverData, opts: SolverOptions = {}) {
    this.rng = opts.rng ?? new RandomState(opts.seed);
    // a tree model draws its initial parameters first, from the same stream
    this.model = isModelSpec(model) ? treeModel(model, { rng: this.rng }) : model;
    this.data = data;
    checkData(data);
    this.optimizer = opts.optimizer ?? null;
    if (this.optimizer && opts.updateRule !== undefined) throw new GradcError("Solver: give an optimizer or an updateRule, not both");
    if (this.optimizer && (opts.lrDecay ?? 1) !== 1)
      throw new GradcError("Solver: lrDecay applies to the notebook's update rules; give the optimizer a schedule instead");
    const rule = opts.updateRule ?? "sgd";
    this.rule = this.optimizer ? null : typeof rule === "function" ? rule : updateRule(rule);
    const verbose = opts.verbose ?? true;
    this.opts = {
      lrDecay: opts.lrDecay ?? 1,
      batchSize: opts.batchSize ?? 100,
      numEpochs: opts.numEpochs ?? 10,
      shuffle: opts.shuffle ?? false,
      stopOnNaN: opts.stopOnNaN ?? true,
      numTrainSamples: opts.numTrainSamples === undefined ? 1000 : opts.numTrainSamples,
      numValSamples: opts.numValSamples ?? null,
      printEvery: opts.printEvery ?? 10,
      verbose,
      progress: opts.progress ?? (verbose && Boolean(process.stderr.isTTY)),
      log: opts.log ?? ((line) => console.log(line)),
      onEpoch: opts.onEpoch,
    };
    if (!Number.isInteger(this.opts.numEpochs) || this.opts.numEpochs < 1)
      throw new GradcError(`Solver: numEpochs must be a positive integer, got ${this.opts.numEpochs}`);
    checkBatchSize(this.opts.batchSize, data.XTrain.shape[0], "Solver: training data");
    const classes =
      "classes" in this.model && typeof this.model.classes === "function"
        ? (this.model.classes as (x: Tensor) => number | undefined)(firstRow(data.XTrain))
        : this.model.numClasses;
    this.trainSet = new ArrayDataset(data.XTrain, asLabels(data.yTrain), { numClasses: classes, name: "Solver: training labels" });
    this.valSet = new ArrayDataset(data.XVal, asLabels(data.yVal), { numClasses: classes, name: "Solver: validation labels" });
    this.optimizerState = this.optimizer ? this.optimizer.init(this.model.params) : null;
    const stepper = this.model as Partial<TreeModel>;
    this.compiled =
      this.optimizer && opts.compiledStep !== false && typeof stepper.step === "function"
        ? (X, y) => stepper.step!(X, y, this.optimizer!, this.optimizerState!)
        : null;
    for (const k of Object.keys(this.model.params)) this.optimConfigs[k] = { ...opts.optimConfig };
  }

  /**
   * One gradient update: on a minibatch sampled with replacement (numpy's choice), or the next
   * slice of this epoch's order with shuffle. The minibatch handed to `model.loss` is one array
   * the Solver refills at every step: a model that keeps X past the call copies it.
   */
  step(): number {
    const n = this.trainSet.size,
      B = this.opts.batchSize;
    let mask: Int32Array | number[];
    if (this.opts.shuffle) {
      const k = this.iteration % this.perEpoch;
      if (k === 0 || !this.order) this.order = Int32Array.from(this.rng.permutation(n));
      mask = this.order.subarray(k * B, (k + 1) * B);
    } else {
      mask = this.rng.choice(n, B);
    }
    this.batch = this.trainSet.take(mask, this.batch);
    if (this.compiled) return this.compiledStep(this.compiled, this.batch);
    const { loss, grads } = this.model.loss(this.batch.X, this.batch.y);
    this.lossHistory.push(loss);
    if (!Number.isFinite(loss) && this.opts.stopOnNaN) {
      this.stopped = nanStop(this.epoch + 1, this.iteration + 1, this.perEpoch, loss, grads, Object.keys(this.model.params));
      return loss;
    }
    const u0 = performance.now();
    if (this.optimizer) {
      this.optimizer.update(this.model.params, grads, this.optimizerState!);
    } else {
      for (const [k, w] of Object.entries(this.model.params)) {
        this.model.params[k] = this.rule!(w, grads[k], this.optimConfigs[k]);
      }
    }
    this.timing.updateMs += performance.now() - u0;
    this.iteration++;
    return loss;
  }

  /**
   * A step through the compiled executable: the update is part of it, so on a non-finite loss the
   * parameters already hold the update, and a non-finite gradient shows as a non-finite parameter.
   */
  private compiledStep(step: (X: Tensor, y: Tensor) => number, batch: Batch): number {
    const loss = step(batch.X, batch.y);
    this.lossHistory.push(loss);
    if (!Number.isFinite(loss) && this.opts.stopOnNaN) {
      this.stopped = nanStop(this.epoch + 1, this.iteration + 1, this.perEpoch, loss, this.model.params, Object.keys(this.model.params));
      return loss;
    }
    this.iteration++;
    return loss;
  }

  /** Updates per epoch. */
  get perEpoch(): number {
    return Math.max(Math.floor(this.trainSet.size / this.opts.batchSize), 1);
  }

  /**
   * Accuracy of the model on (a random subsample of) X, y, predicting in batches in test mode:
   * the argmax of the scores' last axis against the labels (one or several per example).
   *
   *   solver.checkAccuracy(data.XVal, data.yVal)   // e.g. 0.312
   */
  checkAccuracy(X: Tensor, y: Labels, numSamples: number | null = null, batchSize = 100): number {
    const ds = X === this.data.XTrain ? this.trainSet : X === this.data.XVal ? this.valSet : new ArrayDataset(X, asLabels(y));
    let n = ds.size;
    let idx: number[] | null = null;
    if (numSamples !== null && n > numSamples) {
      idx = this.rng.choice(n, numSamples);
      n = numSamples;
    }
    const lab = ds.labelsPerExample;
    let correct = 0;
    const rows = idx ? ds.take(idx).X : ds.X;
    const row = rows.size / rows.shape[0];
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      // consecutive rows: a view, not a copy
      const scores = this.model.loss(new Tensor(rows.data.subarray(start * row, (start + m) * row), [m, ...rows.shape.slice(1)]));
      const pred = argmax(scores); // first index on ties, as numpy
      if (pred.length !== m * lab)
        throw new GradcError(`Solver: the model's scores ${shapeStr(scores.shape)} give ${pred.length} predictions for ${m} examples of ${lab} label(s)`);
      for (let i = 0; i < m; i++) {
        const k = idx ? idx[start + i] : start + i;
        for (let j = 0; j < lab; j++) if (pred[i * lab + j] === ds.y[k * lab + j]) correct++;
      }
    }
    return correct / (n * lab);
  }

  /** Run the whole optimization (or the rest of it, after a restored checkpoint); leaves the best parameters (by validation accuracy) in the model. */
  train(): this {
    const t0 = performance.now();
    const { numEpochs, printEvery, verbose, progress, log } = this.opts;
    const perEpoch = this.perEpoch;
    const total = numEpochs * perEpoch;
    const bar = progress ? new ProgressBar(total, this.iteration) : null;
    const say = (line: string) => (bar ? bar.log(line) : log(line));
    const accuracy = !("hasPredict" in this.model) || Boolean(this.model.hasPredict);
    this.timing = { totalMs: 0, stepMs: 0, updateMs: 0, accuracyMs: 0, iterations: total - this.iteration, firstStepMs: 0 };
    const first = this.iteration;
    for (let t = this.iteration; t < total; t++) {
      const s0 = performance.now();
      const loss = this.step();
      this.timing.stepMs += performance.now() - s0;
      if (t === first) this.timing.firstStepMs = performance.now() - s0;
      if (this.stopped) {
        say(this.stopped.message);
        break;
      }
      if (bar) bar.update(t + 1, loss);
      else if (verbose && t % printEvery === 0) log(`(Iteration ${t + 1} / ${total}) loss: ${loss.toFixed(6)}`);
      const epochEnd = (t + 1) % perEpoch === 0;
      if (epochEnd) {
        this.epoch++;
        for (const c of Object.values(this.optimConfigs)) if (c.learningRate !== undefined) c.learningRate *= this.opts.lrDecay;
      }
      if (t === 0 || t === total - 1 || epochEnd) {
        if (accuracy) {
          const a0 = performance.now();
          const trainAcc = this.checkAccuracy(this.data.XTrain, this.data.yTrain, this.opts.numTrainSamples);
          const valAcc = this.checkAccuracy(this.data.XVal, this.data.yVal, this.opts.numValSamples);
          this.timing.accuracyMs += performance.now() - a0;
          this.trainAccHistory.push(trainAcc);
          this.valAccHistory.push(valAcc);
          if (verbose) say(`(Epoch ${this.epoch} / ${numEpochs}) train acc: ${trainAcc.toFixed(6)}; val_acc: ${valAcc.toFixed(6)}`);
          if (valAcc > this.bestValAcc || Object.keys(this.bestParams).length === 0) {
            this.bestValAcc = Math.max(this.bestValAcc, valAcc);
            this.bestParams = copyParams(this.model.params); // the update rules work in place
          }
        } else {
          this.bestParams = copyParams(this.model.params); // no predictions: the last parameters
        }
        if (epochEnd) this.opts.onEpoch?.(this);
      }
    }
    bar?.done();
    if (Object.keys(this.bestParams).length > 0) this.model.params = copyParams(this.bestParams);
    this.timing.totalMs = performance.now() - t0;
    return this;
  }
}

function nanStop(epoch: number, iteration: number, perEpoch: number, loss: number, grads: Record<string, Tensor>, names: string[]): NaNStop {
  const parameter = names.find((k) => grads[k] && grads[k].data.some((v) => !Number.isFinite(v))) ?? null;
  const within = ((iteration - 1) % perEpoch) + 1;
  const message =
    `Solver: stopped: the loss is ${loss} at epoch ${epoch}, iteration ${iteration} (${within} of ${perEpoch} in the epoch); ` +
    (parameter ? `the first parameter whose gradient is not finite: ${parameter}` : "every gradient is finite (the loss itself overflowed)") +
    `. Lower the learning rate, clip gradients (clipNorm) or check the data.`;
  return { epoch, iteration, loss, parameter, message };
}

export function copyParams(params: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(params).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
}

/** Rows `idx` of X (any shape [N, ...]), in that order: into `into` when given (of X's dtype and the result's shape). */
export function takeRows(X: Tensor, idx: readonly number[], into?: Tensor): Tensor {
  const row = X.size / X.shape[0];
  const out = into ?? new Tensor(allocate(idx.length * row, X.dtype), [idx.length, ...X.shape.slice(1)]);
  for (let i = 0; i < idx.length; i++) out.data.set(X.data.subarray(idx[i] * row, (idx[i] + 1) * row), i * row);
  return out;
}

const asLabels = (y: Labels): Tensor | Int32Array | readonly number[] => (y instanceof Tensor || y instanceof Int32Array ? y : Array.from(y));
const firstRow = (X: Tensor): Tensor => new Tensor(X.data.subarray(0, X.size / X.shape[0]), [1, ...X.shape.slice(1)]);

function checkData(d: SolverData): void {
  for (const [X, y, which] of [
    [d.XTrain, d.yTrain, "train"],
    [d.XVal, d.yVal, "val"],
  ] as const) {
    if (!(X instanceof Tensor) || X.shape.length < 1) throw new GradcError(`Solver: X${which} must be a tensor [N, ...]`);
    const n = y instanceof Tensor ? y.shape[0] : y.length;
    if (n !== X.shape[0]) throw new GradcError(`Solver: ${which} has ${X.shape[0]} examples (X ${shapeStr(X.shape)}) but ${n} labels`);
  }
}
