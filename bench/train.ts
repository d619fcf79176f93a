// Training steps side by side: iterations per second of the examples' models (examples/*.mjs)
// and the notebook's net, each trained by Adam (and the notebook's net also by SGD with
// momentum), float64 and float32, one thread:
//   - gradc eager: valueAndGrad (outputs reused), then the optimizer's update loops;
//   - gradc step: the whole step compiled as one executable (nn/train-step.ts);
//   - PyTorch eager: the same model in torch.nn, zero_grad, forward, backward, optimizer.step()
//     (bench/torch_train.py in a child process, as bench/torch.ts runs it; skipped with a note
//     where no python3 has torch).
// Process CPU milliseconds per step (robust to other processes' load), best of three rounds,
// from one run; the ratio is PyTorch's time over gradc's step's.
//
//   node dist/bench/train.js [--reps 30] [--dtype f64|f32] [--case convnet-cifar]

import "../ops/index.js"; // registers the builtin primitives
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Tensor, type DType } from "../core/tensor.js";
import { RandomState } from "../nn/random.js";
import { FullyConnectedNet } from "../nn/net.js";
import type { ModelSpec } from "../nn/model.js";
import { flatten, mapTree, type Tree } from "../nn/tree.js";
import { valueAndGrad, type NodeTree } from "../nn/value-and-grad.js";
import { trainStep } from "../nn/train-step.js";
import * as optim from "../nn/optimizers.js";
import type { Node } from "../core/node.js";
import { torchEnv, torchPython } from "./torch.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, "..", "..");

export interface TrainCase {
  name: string;
  /** The example module (examples/<name>.mjs), or null for the notebook's net. */
  example: string | null;
  batch: number;
  /** Shape of one example's X (without the batch axis), its label's shape, the classes. */
  x: number[];
  y: number[];
  classes: number;
  /** X one-hot over its last axis (the transformer's tokens). */
  oneHot?: boolean;
  optimizer: "adam" | "momentum";
}

export const CASES: TrainCase[] = [
  { name: "notebook-net", example: null, batch: 50, x: [3072], y: [], classes: 10, optimizer: "adam" },
  { name: "notebook-net", example: null, batch: 50, x: [3072], y: [], classes: 10, optimizer: "momentum" },
  { name: "mlp-mnist", example: "mlp-mnist", batch: 64, x: [1, 28, 28], y: [], classes: 10, optimizer: "adam" },
  { name: "mlp-cifar", example: "mlp-cifar", batch: 50, x: [3, 32, 32], y: [], classes: 10, optimizer: "adam" },
  { name: "convnet-cifar", example: "convnet-cifar", batch: 50, x: [3, 32, 32], y: [], classes: 10, optimizer: "adam" },
  { name: "transformer-sort", example: "transformer-sort", batch: 50, x: [8, 10], y: [8], classes: 10, oneHot: true, optimizer: "adam" },
];

const LR = 1e-3;

/** The notebook's 6-layer net ([100] x 5, layernorm: batchnorm's running averages are not a tree model's) as a model spec. */
function notebookNet(dtype: DType): ModelSpec {
  return new FullyConnectedNet([100, 100, 100, 100, 100], { normalization: "layernorm", weightScale: 2e-2, seed: 231, dtype }).asModel();
}

async function modelOf(c: TrainCase, dtype: DType): Promise<ModelSpec> {
  if (!c.example) return notebookNet(dtype);
  const mod = await import(pathToFileURL(join(ROOT, "examples", `${c.example}.mjs`)).href);
  return mod.default as ModelSpec;
}

const cast = (t: Tensor, dtype: DType) => new Tensor(dtype === "f32" ? Float32Array.from(t.data) : Float64Array.from(t.data), t.shape);

function batchOf(c: TrainCase, dtype: DType, rng: RandomState): { X: Tensor; y: Tensor } {
  const n = c.batch * c.x.reduce((a, b) => a * b, 1);
  const X = new Float64Array(n);
  if (c.oneHot) {
    const V = c.x[c.x.length - 1];
    for (let i = 0; i < n / V; i++) X[i * V + rng.randint(0, V)] = 1;
  } else X.set(rng.randn(n));
  const m = c.batch * c.y.reduce((a, b) => a * b, 1);
  const y = Float64Array.from({ length: m }, () => rng.randint(0, c.classes));
  return { X: cast(new Tensor(X, [c.batch, ...c.x]), dtype), y: cast(new Tensor(y, [c.batch, ...c.y]), dtype) };
}

const makeOptimizer = (c: TrainCase) => (c.optimizer === "adam" ? optim.adam({ lr: LR }) : optim.sgd({ lr: LR, momentum: 0.9 }));

/**
 * Process CPU milliseconds per call, over `reps` calls after three to warm up: on a shared,
 * loaded machine the wall clock counts other processes' time; the CPU time of this one-thread
 * process counts only its own (the garbage collector's threads included).
 */
function cpuMs(f: () => void, reps: number): number {
  for (let i = 0; i < 3; i++) f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) f();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000 / reps;
}

export interface TrainRow {
  name: string;
  optimizer: string;
  dtype: DType;
  parameters: number;
  eagerMs: number;
  stepMs: number;
  torchMs?: number;
}

async function gradcRow(c: TrainCase, dtype: DType, reps: number): Promise<TrainRow> {
  const spec = await modelOf(c, dtype);
  const rng = new RandomState(0);
  const fresh = (): Tree => mapTree(spec.init!(new RandomState(0)), (t) => cast(t, dtype));
  const batch = batchOf(c, dtype, rng);
  const loss = (p: NodeTree, i: NodeTree) => spec.loss(p, i as { X: Node; y: Node }, {}) as Node;
  const eagerParams = fresh(),
    stepParams = fresh();
  const o1 = makeOptimizer(c),
    o2 = makeOptimizer(c);
  const s1 = o1.init(eagerParams),
    s2 = o2.init(stepParams);
  const vg = valueAndGrad(loss, { reuseOutputs: true });
  const step = trainStep(loss, o2);
  const eager = () => {
    const { grads } = vg(eagerParams, batch);
    o1.update(eagerParams, grads, s1);
  };
  const compiled = () => step(stepParams, s2, batch);
  const parameters = Object.values(flatten(eagerParams)).reduce((s, t) => s + t.size, 0);
  // interleaved rounds: load on the machine falls on both alike
  const e: number[] = [],
    s: number[] = [];
  for (let r = 0; r < 3; r++) {
    e.push(cpuMs(eager, reps));
    s.push(cpuMs(compiled, reps));
  }
  return { name: c.name, optimizer: c.optimizer, dtype, parameters, eagerMs: Math.min(...e), stepMs: Math.min(...s) };
}

/** PyTorch's rows, from one child; a note instead when no python3 has torch. */
function torchRows(cases: TrainCase[], dtypes: DType[], reps: number): { ms: Map<string, number>; note: string } {
  const p = torchPython();
  if ("missing" in p) return { ms: new Map(), note: p.missing };
  const request = { reps, dtypes, lr: LR, cases: cases.map((c) => ({ name: c.name, batch: c.batch, optimizer: c.optimizer })) };
  try {
    const text = execFileSync(p.python, [join(ROOT, "bench", "torch_train.py"), JSON.stringify(request)], {
      env: torchEnv(),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 1 << 24,
    });
    const out = JSON.parse(text) as { torch: string; rows: { name: string; optimizer: string; dtype: DType; ms: number }[] };
    return { ms: new Map(out.rows.map((r) => [key(r.name, r.optimizer, r.dtype), r.ms])), note: `PyTorch ${out.torch} eager, one thread (${p.python})` };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ms: new Map(), note: `torch run failed: ${(err.stderr || err.message).trim().split("\n").pop()}` };
  }
}

const key = (name: string, opt: string, dtype: string) => `${name}/${opt}/${dtype}`;

export async function benchTrain(cases: TrainCase[], dtypes: DType[], reps: number, log: (line: string) => void = console.log): Promise<TrainRow[]> {
  const rows: TrainRow[] = [];
  for (const c of cases) for (const dtype of dtypes) rows.push(await gradcRow(c, dtype, reps));
  const torch = torchRows(cases, dtypes, reps);
  for (const r of rows) r.torchMs = torch.ms.get(key(r.name, r.optimizer, r.dtype));
  log(`one thread each; process CPU ms per training step (forward, backward, update), the mean over --reps steps, best of 3 rounds; ${torch.note}`);
  log("| model | optimizer | dtype | parameters | gradc eager ms | gradc step ms | PyTorch eager ms | step it/s | PyTorch it/s | PyTorch / step |");
  log("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const f = (x: number | undefined, d = 3) => (x === undefined ? "-" : x.toFixed(d));
  for (const r of rows) {
    const ratio = r.torchMs === undefined ? "-" : `${(r.torchMs / r.stepMs).toFixed(2)}x`;
    log(
      `| ${r.name} | ${r.optimizer} | ${r.dtype} | ${r.parameters} | ${f(r.eagerMs)} | ${f(r.stepMs)} | ${f(r.torchMs)} | ${(1000 / r.stepMs).toFixed(0)} | ${r.torchMs ? (1000 / r.torchMs).toFixed(0) : "-"} | ${ratio} |`,
    );
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { reps: { type: "string", default: "30" }, dtype: { type: "string" }, case: { type: "string" } } });
  const dtypes: DType[] = values.dtype ? [values.dtype as DType] : ["f64", "f32"];
  const cases = values.case ? CASES.filter((c) => c.name === values.case) : CASES;
  if (cases.length === 0) throw new Error(`bench/train: no case "${values.case}": the cases are ${[...new Set(CASES.map((c) => c.name))].join(", ")}`);
  await benchTrain(cases, dtypes, Number(values.reps));
}
