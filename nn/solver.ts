// The notebook's Solver: minibatch training with a chosen update rule, per-parameter optimizer
// state, loss and accuracy histories, and the best parameters by validation accuracy.
// Random draws (minibatches, accuracy subsets) come from a numpy-compatible stream, so a run
// seeded as the notebook draws the same minibatches.

import { GradcError } from "../core/errors.js";
import { RandomState } from "./random.js";
import { Tensor, allocate, shapeStr } from "../core/tensor.js";
import { updateRule, type OptimConfig, type UpdateRule, type UpdateRuleName } from "./optim.js";
import type { LossAndGrads } from "./net.js";

/** What the Solver trains: the notebook's model interface. */
export interface Model {
  params: Record<string, Tensor>;
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Tensor | ArrayLike<number>): LossAndGrads;
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
  /** Learning rate multiplier after each epoch. */
  lrDecay?: number;
  batchSize?: number;
  numEpochs?: number;
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
}

/**
 * Train a model by minibatch gradient descent, as the notebook's Solver.
 *
 *   const solver = new Solver(net, data, { updateRule: "adam", optimConfig: { learningRate: 1e-3 }, batchSize: 50, numEpochs: 10 });
 *   solver.train();
 *   solver.valAccHistory   // one entry per epoch, plus the initial one
 */
export class Solver {
  readonly model: Model;
  readonly data: SolverData;
  lossHistory: number[] = [];
  trainAccHistory: number[] = [];
  valAccHistory: number[] = [];
  bestValAcc = 0;
  bestParams: Record<string, Tensor> = {};
  epoch = 0;
  /** Wall-clock milliseconds of the last train(): all of it, the steps (with the updates in them), the updates, the accuracy checks. */
  timing = { totalMs: 0, stepMs: 0, updateMs: 0, accuracyMs: 0, iterations: 0 };
  private readonly rule: UpdateRule;
  private readonly optimConfigs: Record<string, OptimConfig> = {};
  private readonly opts: Required<Omit<SolverOptions, "updateRule" | "optimConfig" | "seed" | "rng" | "progress">> & { progress: boolean };
  private readonly rng: RandomState;
  private batch?: Tensor;

  constructor(model: Model, data: SolverData, opts: SolverOptions = {}) {
    this.model = model;
    this.data = data;
    checkData(data);
    const rule = opts.updateRule ?? "sgd";
    this.rule = typeof rule === "function" ? rule : updateRule(rule);
    const verbose = opts.verbose ?? true;
    this.opts = {
      lrDecay: opts.lrDecay ?? 1,
      batchSize: opts.batchSize ?? 100,
      numEpochs: opts.numEpochs ?? 10,
      numTrainSamples: opts.numTrainSamples === undefined ? 1000 : opts.numTrainSamples,
      numValSamples: opts.numValSamples ?? null,
      printEvery: opts.printEvery ?? 10,
      verbose,
      progress: opts.progress ?? (verbose && Boolean(process.stderr.isTTY)),
      log: opts.log ?? ((line) => console.log(line)),
    };
    if (!Number.isInteger(this.opts.batchSize) || this.opts.batchSize < 1) throw new GradcError(`Solver: batchSize must be a positive integer, got ${this.opts.batchSize}`);
    if (!Number.isInteger(this.opts.numEpochs) || this.opts.numEpochs < 1) throw new GradcError(`Solver: numEpochs must be a positive integer, got ${this.opts.numEpochs}`);
    this.rng = opts.rng ?? new RandomState(opts.seed);
    for (const k of Object.keys(model.params)) this.optimConfigs[k] = { ...opts.optimConfig };
  }

  /**
   * One gradient update on a minibatch sampled with replacement (numpy's choice). The minibatch
   * handed to `model.loss` is one array the Solver refills at every step (a fresh 50 x 3,072
   * copy per step cost more than the copying itself): a model that keeps X past the call copies it.
   */
  step(): number {
    const X = this.data.XTrain;
    const mask = this.rng.choice(X.shape[0], this.opts.batchSize);
    if (this.batch?.shape[0] !== mask.length) this.batch = new Tensor(allocate(mask.length * (X.size / X.shape[0]), X.dtype), [mask.length, ...X.shape.slice(1)]);
    const { loss, grads } = this.model.loss(takeRows(X, mask, this.batch), takeLabels(this.data.yTrain, mask));
    this.lossHistory.push(loss);
    const u0 = performance.now();
    for (const [k, w] of Object.entries(this.model.params)) {
      this.model.params[k] = this.rule(w, grads[k], this.optimConfigs[k]);
    }
    this.timing.updateMs += performance.now() - u0;
    return loss;
  }

  /**
   * Accuracy of the model on (a random subsample of) X, y, predicting in batches in test mode.
   *
   *   solver.checkAccuracy(data.XVal, data.yVal)   // e.g. 0.312
   */
  checkAccuracy(X: Tensor, y: Labels, numSamples: number | null = null, batchSize = 100): number {
    let n = X.shape[0];
    let idx: number[] | null = null;
    if (numSamples !== null && n > numSamples) {
      idx = this.rng.choice(n, numSamples);
      n = numSamples;
    }
    const Xs = idx ? takeRows(X, idx) : X;
    const ys = idx ? takeLabels(y, idx) : labelsOf(y);
    let correct = 0;
    const row = Xs.size / Xs.shape[0];
    for (let start = 0; start < n; start += batchSize) {
      const rows = Math.min(batchSize, n - start);
      // consecutive rows: a view, not a copy
      const scores = this.model.loss(new Tensor(Xs.data.subarray(start * row, (start + rows) * row), [rows, ...Xs.shape.slice(1)]));
      const c = scores.shape[1];
      for (let i = 0; i < rows; i++) {
        let best = 0; // argmax, first index on ties, as numpy
        for (let j = 1; j < c; j++) if (scores.data[i * c + j] > scores.data[i * c + best]) best = j;
        if (best === ys[start + i]) correct++;
      }
    }
    return correct / n;
  }

  /** Run the whole optimization; leaves the best parameters (by validation accuracy) in the model. */
  train(): this {
    const t0 = performance.now();
    const { batchSize, numEpochs, printEvery, verbose, progress, log } = this.opts;
    const numTrain = this.data.XTrain.shape[0];
    const perEpoch = Math.max(Math.floor(numTrain / batchSize), 1);
    const total = numEpochs * perEpoch;
    const bar = progress ? new ProgressBar(total) : null;
    const say = (line: string) => (bar ? bar.log(line) : log(line));
    this.timing = { totalMs: 0, stepMs: 0, updateMs: 0, accuracyMs: 0, iterations: total };
    for (let t = 0; t < total; t++) {
      const s0 = performance.now();
      const loss = this.step();
      this.timing.stepMs += performance.now() - s0;
      if (bar) bar.update(t + 1, loss);
      else if (verbose && t % printEvery === 0) log(`(Iteration ${t + 1} / ${total}) loss: ${loss.toFixed(6)}`);
      const epochEnd = (t + 1) % perEpoch === 0;
      if (epochEnd) {
        this.epoch++;
        for (const c of Object.values(this.optimConfigs)) if (c.learningRate !== undefined) c.learningRate *= this.opts.lrDecay;
      }
      if (t === 0 || t === total - 1 || epochEnd) {
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
      }
    }
    bar?.done();
    this.model.params = copyParams(this.bestParams);
    this.timing.totalMs = performance.now() - t0;
    return this;
  }
}

function copyParams(params: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(params).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
}

/** Rows `idx` of X (any shape [N, ...]), in that order: into `into` when given (of X's dtype and the result's shape). */
export function takeRows(X: Tensor, idx: readonly number[], into?: Tensor): Tensor {
  const row = X.size / X.shape[0];
  const out = into ?? new Tensor(allocate(idx.length * row, X.dtype), [idx.length, ...X.shape.slice(1)]);
  for (let i = 0; i < idx.length; i++) out.data.set(X.data.subarray(idx[i] * row, (idx[i] + 1) * row), i * row);
  return out;
}

function labelsOf(y: Labels): ArrayLike<number> {
  return y instanceof Tensor ? y.data : y;
}

function takeLabels(y: Labels, idx: readonly number[]): number[] {
  const v = labelsOf(y);
  return idx.map((i) => v[i]);
}

function checkData(d: SolverData): void {
  for (const [X, y, which] of [[d.XTrain, d.yTrain, "train"], [d.XVal, d.yVal, "val"]] as const) {
    if (!(X instanceof Tensor) || X.shape.length < 1) throw new GradcError(`Solver: X${which} must be a tensor [N, ...]`);
    const n = labelsOf(y).length;
    if (n !== X.shape[0]) throw new GradcError(`Solver: ${which} has ${X.shape[0]} examples (X ${shapeStr(X.shape)}) but ${n} labels`);
  }
}

/** A one-line progress bar with loss and ETA, for terminals; log lines are printed above it. */
class ProgressBar {
  private readonly start = performance.now();
  private line = "";
  constructor(private readonly total: number) {}

  update(done: number, loss: number): void {
    const width = 30;
    const filled = Math.round((width * done) / this.total);
    const elapsed = (performance.now() - this.start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : 0;
    this.line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${this.total} loss ${loss.toFixed(4)} ETA ${eta.toFixed(1)}s`;
    process.stderr.write(`\r${this.line}\x1b[K`);
  }
  log(text: string): void {
    process.stderr.write(`\r\x1b[K${text}\n${this.line}`);
  }
  done(): void {
    process.stderr.write(`\r\x1b[K`);
  }
}
