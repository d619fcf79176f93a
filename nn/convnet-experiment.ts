// The convolutional-networks notebook's two runs of its ThreeLayerConvNet, trained by the Solver:
//   1. overfit 100 training images (weight scale 1e-2, Adam 1e-3, batch 50, 15 epochs): the
//      training accuracy should pass 0.9 while the validation accuracy stays low;
//   2. train on all the training images loaded (hidden 500, L2 1e-3, Adam 1e-3, batch 50; the
//      notebook's one epoch on 49,000 images, a few here on the subset).
// float32 by default. The figures: loss per iteration, training and validation accuracy per epoch.

import { RandomState } from "./random.js";
import { Tensor } from "../core/tensor.js";
import { ThreeLayerConvNet, type ConvNormalization } from "./convnet.js";
import { Solver, type Labels, type SolverData } from "./solver.js";
import { linePlot, type PageSection } from "./plot.js";
import type { ExperimentOptions, ExperimentResult, RunResult } from "./experiments.js";

const firstN = (X: Tensor, n: number) => (n === X.shape[0] ? X : new Tensor(X.data.subarray(0, n * (X.size / X.shape[0])), [n, ...X.shape.slice(1)]));
const firstLabels = (y: Labels, n: number) => Array.from((y instanceof Tensor ? y.data : y) as ArrayLike<number>).slice(0, n);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);

interface ConvRun {
  label: string;
  numTrain: number;
  epochs: number;
  hiddenDim: number;
  reg: number;
  weightScale: number;
}

export function runConvnet(o: ExperimentOptions): ExperimentResult {
  const t0 = performance.now();
  const norm: ConvNormalization = o.norm === "batchnorm" || o.norm === "groupnorm" ? o.norm : null;
  const seed = o.seed ?? 231;
  const quick = o.quick ?? false;
  const dtype = o.dtype ?? "f32";
  const rng = new RandomState(seed);
  const log = o.log ?? (() => {});
  const cast = (X: Tensor) => (X.dtype === dtype ? X : new Tensor(dtype === "f32" ? new Float32Array(X.data) : new Float64Array(X.data), X.shape));
  const pool = o.data.XTrain.shape[0];
  const numVal = Math.min(quick ? 100 : 1000, o.data.XVal.shape[0]);
  const runs: ConvRun[] = [
    { label: "overfit 100 images", numTrain: Math.min(100, pool), epochs: quick ? 3 : 15, hiddenDim: 100, reg: 0, weightScale: 1e-2 },
    {
      label: `train ${quick ? Math.min(200, pool) : pool} images`,
      numTrain: quick ? Math.min(200, pool) : pool,
      epochs: o.epochs ?? (quick ? 1 : 3),
      hiddenDim: quick ? 100 : 500,
      reg: 1e-3,
      weightScale: 1e-3,
    },
  ];
  const [, channels, height, width] = o.data.XTrain.shape;
  const results = runs.map((r): RunResult => {
    const data: SolverData = {
      XTrain: cast(firstN(o.data.XTrain, r.numTrain)),
      yTrain: firstLabels(o.data.yTrain, r.numTrain),
      XVal: cast(firstN(o.data.XVal, numVal)),
      yVal: firstLabels(o.data.yVal, numVal),
    };
    const net = new ThreeLayerConvNet({
      inputDim: [channels, height, width],
      hiddenDim: r.hiddenDim,
      reg: r.reg,
      weightScale: r.weightScale,
      dtype,
      rng,
      engine: o.engine,
      normalization: norm,
      reuseOutputs: true,
    });
    const solver = new Solver(net, data, {
      numEpochs: r.epochs,
      batchSize: 50,
      updateRule: "adam",
      optimConfig: { learningRate: 1e-3 },
      verbose: o.verbose ?? false,
      printEvery: 20,
      rng,
      log: o.log,
    });
    solver.train();
    const t = solver.timing;
    const result: RunResult = {
      label: r.label,
      normalization: norm,
      hiddenDims: [r.hiddenDim],
      weightScale: r.weightScale,
      batchSize: 50,
      learningRate: 1e-3,
      lossHistory: solver.lossHistory,
      trainAccHistory: solver.trainAccHistory,
      valAccHistory: solver.valAccHistory,
      bestValAcc: Math.max(...solver.valAccHistory),
      bestTrainAcc: Math.max(...solver.trainAccHistory),
      finalLoss: mean(solver.lossHistory.slice(-100)),
      timing: { ...t, msPerIteration: (t.stepMs - net.runner("train", 50).prepareMs) / t.iterations, prepareMs: net.prepareMs },
    };
    log(
      `${r.label}: train acc ${result.trainAccHistory.at(-1)!.toFixed(3)}, val acc ${result.valAccHistory.at(-1)!.toFixed(3)} (best ${result.bestValAcc.toFixed(3)}), ${(t.totalMs / 1000).toFixed(1)} s, ${result.timing.msPerIteration.toFixed(1)} ms/iteration`,
    );
    return result;
  });
  return {
    experiment: "convnet",
    data: o.dataName ?? "unnamed",
    source: o.dataSource ?? o.dataName ?? "unnamed",
    numTrain: runs[1].numTrain,
    numVal,
    epochs: runs[1].epochs,
    seed,
    engine: o.engine ?? "compiled",
    dtype,
    quick,
    runs: results,
    totalMs: performance.now() - t0,
  };
}

/** Loss per iteration and accuracies per epoch, one figure per run. */
export function convnetFigures(res: ExperimentResult): (PageSection & { file: string })[] {
  return res.runs.flatMap((r, k) => {
    const name = k === 0 ? "overfit" : "train";
    const sub = `${res.data}, ${r.label}, ${res.dtype}`;
    const lossTitle = `Training loss (${sub})`;
    const accTitle = `Accuracy (${sub})`;
    const epochs = r.trainAccHistory.map((_, i) => i);
    return [
      {
        file: `${name}-loss`,
        heading: lossTitle,
        svg: linePlot({
          title: lossTitle,
          xLabel: "iteration",
          yLabel: "loss",
          markers: false,
          series: [{ label: "loss", x: r.lossHistory.map((_, i) => i + 1), y: r.lossHistory }],
        }),
      },
      {
        file: `${name}-accuracy`,
        heading: accTitle,
        svg: linePlot({
          title: accTitle,
          xLabel: "epoch",
          yLabel: "accuracy",
          markers: true,
          series: [
            { label: "train", x: epochs, y: r.trainAccHistory },
            { label: "val", x: epochs, y: r.valAccHistory },
          ],
        }),
      },
    ];
  });
}
