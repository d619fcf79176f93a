// The notebook's three batch-normalization experiments, as functions from data to results
// (plain records, written as JSON) and figures (SVG). One seeded stream feeds every
// initialization and minibatch in the notebook's order, as its single np.random.seed(231) does.

import { RandomState } from "./random.js";
import { Tensor, type DType } from "../core/tensor.js";
import { FullyConnectedNet, type Normalization } from "./net.js";
import type { Engine } from "./runner.js";
import { Solver, type Labels, type SolverData } from "./solver.js";
import { linePlot, type PageSection, type Series } from "./plot.js";
import { convnetFigures, runConvnet } from "./convnet-experiment.js";

export type ExperimentName = "deep" | "weight-scale" | "batch-size" | "convnet";

export interface ExperimentOptions {
  /** Training and validation data; the experiments take the first `numTrain` training images. */
  data: SolverData;
  /** What the data is, short for titles ("CIFAR-10") and in full for the record. */
  dataName?: string;
  dataSource?: string;
  epochs?: number;
  seed?: number;
  /** Tiny sizes for a smoke test: seconds, not minutes. */
  quick?: boolean;
  engine?: Engine;
  /**
   * The nets' dtype (default "f32", what people train in: WebAssembly f32x4 kernels). "f64"
   * follows the notebook's float64 numpy code digit for digit (same first losses, accuracies).
   */
  dtype?: DType;
  /** batch-size: the normalization compared against the baseline; convnet: the one after the conv (default none). */
  norm?: "batchnorm" | "layernorm" | "groupnorm";
  /** Progress lines (one per training run). */
  log?: (line: string) => void;
  /** Per-iteration log lines of each Solver. */
  verbose?: boolean;
}

/** One training run: what was trained and everything the Solver recorded. */
export interface RunResult {
  label: string;
  normalization: Normalization | "groupnorm";
  hiddenDims: number[];
  weightScale: number;
  batchSize: number;
  learningRate: number;
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestTrainAcc: number;
  /** Mean of the last 100 losses, as the notebook's "final training loss". */
  finalLoss: number;
  /** Wall-clock ms: the whole run, the training steps, the parameter updates (inside the steps), the accuracy checks, graph preparation (optimize + compile, inside the steps and checks). */
  timing: { totalMs: number; stepMs: number; updateMs: number; accuracyMs: number; iterations: number; msPerIteration: number; prepareMs: number };
}

export interface ExperimentResult {
  experiment: ExperimentName;
  data: string;
  source: string;
  numTrain: number;
  numVal: number;
  epochs: number;
  seed: number;
  engine: Engine;
  dtype: DType;
  quick: boolean;
  runs: RunResult[];
  totalMs: number;
}

interface Sizes {
  numTrain: number;
  numVal: number;
  epochs: number;
}

function sizes(o: ExperimentOptions, full: number): Sizes {
  const quick = o.quick ?? false;
  return {
    numTrain: Math.min(quick ? 100 : 1000, o.data.XTrain.shape[0]),
    numVal: Math.min(quick ? 100 : Infinity, o.data.XVal.shape[0]),
    epochs: o.epochs ?? (quick ? 2 : full),
  };
}

/** The first n rows: a view (the rows are consecutive), cast or copied once below if needed. */
const firstN = (X: Tensor, n: number) => (n === X.shape[0] ? X : new Tensor(X.data.subarray(0, n * (X.size / X.shape[0])), [n, ...X.shape.slice(1)]));
const firstLabels = (y: Labels, n: number) => Array.from((y instanceof Tensor ? y.data : y) as ArrayLike<number>).slice(0, n);

/** The first rows, in the experiment's dtype (cast once here, not per minibatch). */
function smallData(o: ExperimentOptions, s: Sizes): SolverData {
  const cast = (X: Tensor) => (X.dtype === dtypeOf(o) ? X : new Tensor(dtypeOf(o) === "f32" ? new Float32Array(X.data) : new Float64Array(X.data), X.shape));
  return {
    XTrain: cast(firstN(o.data.XTrain, s.numTrain)),
    yTrain: firstLabels(o.data.yTrain, s.numTrain),
    XVal: cast(firstN(o.data.XVal, s.numVal)),
    yVal: firstLabels(o.data.yVal, s.numVal),
  };
}

const dtypeOf = (o: ExperimentOptions): DType => o.dtype ?? "f32";

interface RunSpec {
  label: string;
  hiddenDims: number[];
  normalization: Normalization;
  weightScale: number;
  batchSize: number;
  learningRate: number;
}

/** Build both models first, then train (the notebook's order of draws), returning results. */
function trainAll(o: ExperimentOptions, s: Sizes, data: SolverData, specs: RunSpec[], rng: RandomState, printEvery: number): RunResult[] {
  const log = o.log ?? (() => {});
  const inputDim = data.XTrain.size / data.XTrain.shape[0];
  const nets = specs.map(
    (r) =>
      new FullyConnectedNet(r.hiddenDims, {
        inputDim,
        weightScale: r.weightScale,
        normalization: r.normalization,
        rng,
        engine: o.engine,
        dtype: dtypeOf(o),
        reuseOutputs: true,
      }),
  );
  return specs.map((r, k) => {
    const solver = new Solver(nets[k], data, {
      numEpochs: s.epochs,
      batchSize: r.batchSize,
      updateRule: "adam",
      optimConfig: { learningRate: r.learningRate },
      verbose: o.verbose ?? false,
      printEvery,
      rng,
      log: o.log,
      stopOnNaN: false, // a diverging run is part of the sweep
    });
    solver.train();
    const prepareMs = nets[k].prepareMs;
    const t = solver.timing;
    const result: RunResult = {
      ...r,
      lossHistory: solver.lossHistory,
      trainAccHistory: solver.trainAccHistory,
      valAccHistory: solver.valAccHistory,
      bestValAcc: Math.max(...solver.valAccHistory),
      bestTrainAcc: Math.max(...solver.trainAccHistory),
      finalLoss: mean(solver.lossHistory.slice(-100)),
      // the first step also optimizes and compiles the train graph: not part of an iteration
      timing: { ...t, msPerIteration: (t.stepMs - nets[k].runner("train", r.batchSize).prepareMs) / t.iterations, prepareMs },
    };
    log(
      `${r.label}: train acc ${last(result.trainAccHistory).toFixed(3)}, val acc ${last(result.valAccHistory).toFixed(3)} (best ${result.bestValAcc.toFixed(3)}), ${(t.totalMs / 1000).toFixed(1)} s, ${result.timing.msPerIteration.toFixed(1)} ms/iteration`,
    );
    return result;
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const last = (xs: number[]) => xs[xs.length - 1];

function wrap(name: ExperimentName, o: ExperimentOptions, s: Sizes, seed: number, t0: number, runs: RunResult[]): ExperimentResult {
  return {
    experiment: name,
    data: o.dataName ?? "unnamed",
    source: o.dataSource ?? o.dataName ?? "unnamed",
    numTrain: s.numTrain,
    numVal: s.numVal,
    epochs: s.epochs,
    seed,
    engine: o.engine ?? "compiled",
    dtype: dtypeOf(o),
    quick: o.quick ?? false,
    runs,
    totalMs: performance.now() - t0,
  };
}

/**
 * Batchnorm in a deep network: 6 layers ([100] * 5), Adam 1e-3, weight scale 2e-2, batch 50,
 * 10 epochs on 1,000 images, with and without batchnorm.
 */
export function runDeep(o: ExperimentOptions): ExperimentResult {
  const t0 = performance.now();
  const seed = o.seed ?? 231;
  const s = sizes(o, 10);
  const rng = new RandomState(seed);
  const common = { hiddenDims: [100, 100, 100, 100, 100], weightScale: 2e-2, batchSize: 50, learningRate: 1e-3 };
  const runs = trainAll(
    o,
    s,
    smallData(o, s),
    [
      { label: "batchnorm", normalization: "batchnorm", ...common },
      { label: "baseline", normalization: null, ...common },
    ],
    rng,
    20,
  );
  return wrap("deep", o, s, seed, t0, runs);
}

/** numpy's logspace(a, b, num): num points evenly spaced in log10. */
export function logspace(a: number, b: number, num: number): number[] {
  return Array.from({ length: num }, (_, i) => 10 ** (num === 1 ? a : a + i * ((b - a) / (num - 1))));
}

/**
 * Batchnorm and initialization: 8 layers ([50] * 7), 20 weight scales from logspace(-4, 0),
 * with and without batchnorm.
 */
export function runWeightScale(o: ExperimentOptions): ExperimentResult {
  const t0 = performance.now();
  const seed = o.seed ?? 231;
  const s = sizes(o, 10);
  const rng = new RandomState(seed);
  const data = smallData(o, s);
  const scales = logspace(-4, 0, o.quick ? 3 : 20);
  const hiddenDims = [50, 50, 50, 50, 50, 50, 50];
  const runs: RunResult[] = [];
  scales.forEach((weightScale, i) => {
    o.log?.(`weight scale ${i + 1} / ${scales.length}: ${weightScale.toExponential(2)}`);
    const common = { hiddenDims, weightScale, batchSize: 50, learningRate: 1e-3 };
    runs.push(
      ...trainAll(
        o,
        s,
        data,
        [
          { label: `batchnorm ws=${weightScale.toExponential(2)}`, normalization: "batchnorm", ...common },
          { label: `baseline ws=${weightScale.toExponential(2)}`, normalization: null, ...common },
        ],
        rng,
        200,
      ),
    );
  });
  return wrap("weight-scale", o, s, seed, t0, runs);
}

/**
 * Batchnorm (or layernorm) and batch size: batch sizes 5, 10, 50 against a baseline at 5,
 * [100] * 5, learning rate 10^-3.5.
 */
export function runBatchSize(o: ExperimentOptions): ExperimentResult {
  const t0 = performance.now();
  const seed = o.seed ?? 231;
  const s = sizes(o, 10);
  const rng = new RandomState(seed);
  const data = smallData(o, s);
  const norm = o.norm === "layernorm" ? "layernorm" : "batchnorm";
  const common = { hiddenDims: [100, 100, 100, 100, 100], weightScale: 2e-2, learningRate: 10 ** -3.5 };
  // The notebook builds and trains the baseline first, then each normalized net in turn.
  const runs = trainAll(o, s, data, [{ label: "baseline, batch 5", normalization: null, batchSize: 5, ...common }], rng, 10);
  for (const batchSize of [5, 10, 50]) {
    runs.push(...trainAll(o, s, data, [{ label: `${norm}, batch ${batchSize}`, normalization: norm, batchSize, ...common }], rng, 10));
  }
  return wrap("batch-size", o, s, seed, t0, runs);
}

export const experiments: Record<ExperimentName, (o: ExperimentOptions) => ExperimentResult> = {
  deep: runDeep,
  convnet: (o) => runConvnet(o),
  "weight-scale": runWeightScale,
  "batch-size": runBatchSize,
};

const epochs = (r: RunResult) => r.trainAccHistory.map((_, i) => i);
const iterations = (r: RunResult) => r.lossHistory.map((_, i) => i + 1);

/** The notebook's figures for an experiment's results, as named SVG plots. */
export function figures(res: ExperimentResult): (PageSection & { file: string })[] {
  if (res.experiment === "convnet") return convnetFigures(res);
  const sub = `${res.data}, ${res.numTrain} training images`;
  if (res.experiment === "weight-scale") {
    const by = (norm: Normalization) => res.runs.filter((r) => r.normalization === norm);
    const series = (pick: (r: RunResult) => number): Series[] => [
      { label: "batchnorm", x: by("batchnorm").map((r) => r.weightScale), y: by("batchnorm").map(pick) },
      { label: "baseline", x: by(null).map((r) => r.weightScale), y: by(null).map(pick) },
    ];
    const plot = (file: string, title: string, yLabel: string, pick: (r: RunResult) => number, yScale: "linear" | "log" = "linear") => ({
      file,
      heading: title,
      svg: linePlot({ title, xLabel: "weight initialization scale", yLabel, xScale: "log", yScale, series: series(pick), markers: true }),
    });
    return [
      plot("best-val-acc", `Best validation accuracy vs weight initialization scale (${sub})`, "best val accuracy", (r) => r.bestValAcc),
      plot("best-train-acc", `Best training accuracy vs weight initialization scale (${sub})`, "best training accuracy", (r) => r.bestTrainAcc),
      plot("final-loss", `Final training loss vs weight initialization scale (${sub})`, "final training loss", (r) => r.finalLoss, "log"),
    ];
  }
  const acc = (file: string, title: string, pick: (r: RunResult) => number[]) => ({
    file,
    heading: title,
    svg: linePlot({ title, xLabel: "epoch", yLabel: "accuracy", series: res.runs.map((r) => ({ label: r.label, x: epochs(r), y: pick(r) })), markers: true }),
  });
  const out = [
    acc("train-acc", `Training accuracy (${sub})`, (r) => r.trainAccHistory),
    acc("val-acc", `Validation accuracy (${sub})`, (r) => r.valAccHistory),
  ];
  if (res.experiment === "deep") {
    const title = `Training loss (${sub})`;
    const loss = {
      file: "loss",
      heading: title,
      svg: linePlot({
        title,
        xLabel: "iteration",
        yLabel: "loss",
        markers: false,
        series: res.runs.map((r) => ({ label: r.label, x: iterations(r), y: r.lossHistory })),
      }),
    };
    out.unshift(loss);
  }
  return out;
}
