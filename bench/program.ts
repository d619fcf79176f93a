// `gradc bench <graph|module>`: any program's backward (and forward) run three ways, in float64
// and float32, timed in one process in interleaved rounds so the ratios come from one run:
//   naive      evaluate(vjp(g).backward): the derived graph, node by node with the reference kernels
//   optimized  evaluate of optimize(vjp(g)).backward: the optimized graph, interpreted
//   compiled   compile(optimize(vjp(g)).backward, { reuseOutputs: true }).run: fused kernels
// The forward rows run vjp's forward (it also computes the residuals) the same three ways.
//
// Rows are plain data (id, label, pass, dtype, baseline, time): other row sources (a numpy
// reference, an outside library) append rows to `BenchReport.rows` and call `addRatios` again.

import os from "node:os";
import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import { RandomState } from "../nn/random.js";
import { Tensor, tensor, type DType } from "../core/tensor.js";
import type { Node } from "../core/node.js";
import { labelInputs } from "../compile/check/random-graphs.js";
import { vjp, type GradOptions } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile, type Executable } from "../compile/codegen/compile.js";
import { stats } from "../compile/optimize/stats.js";
import { better, fmtMs, fullTiming, quickTiming, SLOW_MS, timeOnce, type Timing, type TimingOptions } from "./timing.js";

export type Pass = "backward" | "forward";

export interface BenchRow {
  /** Unique in a report: `backward-compiled-f64`, or another source's own id. */
  id: string;
  label: string;
  pass: Pass;
  dtype: DType;
  /** The row this one's ratio divides by (the compiled row of the same pass and dtype). */
  baseline: string;
  /** Median ms per call in the best round; absent when skipped. */
  ms?: number;
  timing?: Timing;
  /** ms / the baseline's ms, measured in the same run. */
  ratio?: number | null;
  /** max |got - want| / max |want| against the naive float64 result. */
  relErr?: number;
  skipped?: string;
}

/** One way of running one pass: what a row times. */
export interface BenchCase {
  id: string;
  label: string;
  pass: Pass;
  dtype: DType;
  baseline: string;
  run: () => Record<string, Tensor>;
}

export interface ProgramCases {
  cases: BenchCase[];
  /** Per dtype: the optimized backward and the inputs its cases run on (for callers' own rows). */
  optimized: Map<DType, { graph: Graph; inputs: Record<string, Tensor> }>;
  /** Why a dtype has no cases (a module exporting a finished float64 Graph has no float32 form). */
  skipped: { dtype: DType; reason: string }[];
  /** Node counts and depth of what runs, for the report. */
  shape: ProgramShape;
}

export interface ProgramShape {
  forwardNodes: number;
  backwardNodes: number;
  optimizedNodes: number;
  optimizedForwardNodes: number;
  reductionDepth: { naive: number; optimized: number };
  kernels: number;
  sweeps: number;
}

/**
 * Inputs copied once into the arrays `exe.run` reads in place (Executable.inputArray), as a
 * training loop that writes its batch there would: the compiled rows time the kernels, not copies.
 */
export function placeInputs(exe: Executable, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, t]) => {
      const a = exe.inputArray(k);
      a.set(t.data);
      return [k, new Tensor(a, t.shape)];
    }),
  );
}

export const ENGINES = [
  { engine: "naive", label: "naive: evaluate(vjp(g).%s)" },
  { engine: "optimized", label: "optimized, interpreted: evaluate(optimize(vjp(g)).%s)" },
  // what optimize buys once compiled: the derived graph through the same code generator
  { engine: "compiled-naive", label: "compiled naive: compile(vjp(g).%s).run" },
  { engine: "compiled", label: "compiled: compile(optimize(vjp(g)).%s).run" },
] as const;

/** Seeded standard normals for every input of g (and the cotangent), in g's dtypes; class labels (softmaxCrossEntropy's y) are seeded integers in 0..C-1. */
export function randomInputs(g: Graph, seed: number): Record<string, Tensor> {
  const rs = new RandomState(seed);
  const labels = labelInputs(g);
  const label = (x: Node, c: number) => tensor(rs.randint(0, c, [x.size]), [...x.shape], x.dtype);
  return Object.fromEntries(g.inputs.map((x) => [x.name, labels.has(x) ? label(x, labels.get(x)!) : rs.randnTensor([...x.shape], x.dtype)]));
}

/**
 * The cases for one program: `build(dtype)` gives its forward graph in a dtype, or a sentence why
 * it cannot. Values are checked here too: each backward against the naive float64 one.
 */
export interface CaseOptions extends GradOptions {
  seed?: number;
  dtypes?: readonly DType[];
  /** Which passes to time (default both). */
  passes?: readonly Pass[];
  /** The forward's inputs (default: seeded standard normals). */
  inputs?: (g: Graph) => Record<string, Tensor>;
  /** The cotangent (default: seeded standard normals). */
  cotangent?: (shape: readonly number[], dtype: DType) => Tensor;
}

export function programCases(build: (dtype: DType) => Graph | string, opts: CaseOptions = {}): ProgramCases {
  const cases: BenchCase[] = [];
  const optimized: ProgramCases["optimized"] = new Map();
  const skipped: ProgramCases["skipped"] = [];
  let shape: ProgramShape | undefined;
  for (const dtype of opts.dtypes ?? (["f64", "f32"] as const)) {
    const g = build(dtype);
    if (typeof g === "string") {
      skipped.push({ dtype, reason: g });
      continue;
    }
    const v = vjp(g, { of: opts.of, wrt: opts.wrt });
    const pair = optimize(v);
    const ct = v.backward.inputs.find((x) => !v.residuals.includes(x.name))!;
    const inputs = opts.inputs ? opts.inputs(g) : randomInputs(g, opts.seed ?? 231);
    const dout = opts.cotangent ? opts.cotangent(ct.shape, ct.dtype) : new RandomState((opts.seed ?? 231) + 1).randnTensor([...ct.shape], ct.dtype);
    const fwd = evaluate(v.forward, inputs);
    const known: Record<string, Tensor> = { ...inputs, ...fwd, [ct.name]: dout };
    const feed = (bg: Graph) => Object.fromEntries(bg.inputNames.map((k) => [k, known[k]]));
    const passes = opts.passes ?? (["backward", "forward"] as const);
    const fwdCompiled = passes.includes("forward") ? compile(pair.forward, { reuseOutputs: true }) : null;
    const bwdCompiled = compile(pair.backward, { reuseOutputs: true });
    const naiveIn = feed(v.backward);
    const optIn = feed(pair.backward);
    const fwdPlaced = fwdCompiled ? placeInputs(fwdCompiled, inputs) : inputs;
    const bwdPlaced = placeInputs(bwdCompiled, optIn);
    const fwdNaive = passes.includes("forward") ? compile(v.forward, { reuseOutputs: true }) : null;
    const bwdNaive = compile(v.backward, { reuseOutputs: true });
    const fwdNaivePlaced = fwdNaive ? placeInputs(fwdNaive, inputs) : inputs;
    const bwdNaivePlaced = placeInputs(bwdNaive, naiveIn);
    optimized.set(dtype, { graph: pair.backward, inputs: optIn });
    const runs: Record<Pass, Record<string, () => Record<string, Tensor>>> = {
      forward: {
        naive: () => evaluate(v.forward, inputs),
        optimized: () => evaluate(pair.forward, inputs),
        "compiled-naive": () => fwdNaive!.run(fwdNaivePlaced),
        compiled: () => fwdCompiled!.run(fwdPlaced),
      },
      backward: {
        naive: () => evaluate(v.backward, naiveIn),
        optimized: () => evaluate(pair.backward, optIn),
        "compiled-naive": () => bwdNaive.run(bwdNaivePlaced),
        compiled: () => bwdCompiled.run(bwdPlaced),
      },
    };
    for (const pass of passes) {
      for (const { engine, label } of ENGINES) {
        cases.push({
          id: `${pass}-${engine}-${dtype}`,
          label: label.replace("%s", pass),
          pass,
          dtype,
          baseline: `${pass}-compiled-${dtype}`,
          run: runs[pass][engine],
        });
      }
    }
    shape ??= {
      forwardNodes: v.forward.size,
      backwardNodes: v.backward.size,
      optimizedNodes: pair.backward.size,
      optimizedForwardNodes: pair.forward.size,
      reductionDepth: { naive: stats(v.backward).reductionDepth, optimized: stats(pair.backward).reductionDepth },
      kernels: bwdCompiled.stats.kernels,
      sweeps: bwdCompiled.stats.sweeps,
    };
  }
  if (!shape) throw new Error(`bench: no dtype to run: ${skipped.map((s) => s.reason).join("; ")}`);
  return { cases, optimized, skipped, shape };
}

/** max |got - want| / max |want| over the outputs both have (the forward's outputs differ per engine). */
export function relativeError(got: Record<string, Tensor>, want: Record<string, Tensor>): number {
  let err = 0;
  let scale = 0;
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    if (!g) continue;
    for (let i = 0; i < w.data.length; i++) {
      err = Math.max(err, Math.abs(g.data[i] - w.data[i]));
      scale = Math.max(scale, Math.abs(w.data[i]));
    }
  }
  return err / Math.max(scale, Number.MIN_VALUE);
}

/** Fill in every row's ratio to its baseline row, both measured in this run. */
export function addRatios(rows: BenchRow[]): void {
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const row of rows) {
    const base = byId.get(row.baseline);
    row.ratio = row.ms !== undefined && base?.ms !== undefined ? row.ms / base.ms : null;
  }
}

export interface BenchReport {
  benchmark: "gradc-bench";
  program: string;
  summary: string;
  date: string;
  command: string;
  machine: { cpu: string; cores: number; node: string; loadavgStart: number[]; loadavgEnd: number[] };
  timing: TimingOptions;
  seed: number;
  inputs: Record<string, string>;
  graph: ProgramShape;
  rows: BenchRow[];
  notes: string[];
}

export interface RunOptions extends GradOptions {
  quick?: boolean;
  seed?: number;
  dtypes?: readonly DType[];
  log?: (line: string) => void;
  /** For the report. */
  program?: string;
  summary?: string;
  command?: string;
}

/** Time every case in interleaved rounds (other processes only ever add time: the best round counts). */
export async function runProgramBench(build: (dtype: DType) => Graph | string, opts: RunOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? console.log;
  const timing = opts.quick ? quickTiming : fullTiming;
  const seed = opts.seed ?? 231;
  const loadavgStart = os.loadavg();
  const { cases, skipped, shape } = programCases(build, { of: opts.of, wrt: opts.wrt, seed, dtypes: opts.dtypes });
  const best = new Map<string, Timing>();
  for (let round = 0; round < timing.rounds; round++) {
    for (const c of cases) {
      const prev = best.get(c.id);
      if (prev && prev.ms >= SLOW_MS) continue;
      best.set(c.id, better(prev, await timeOnce(`${c.id}${round ? ` (round ${round + 1})` : ""}`, c.run, timing, log)));
    }
  }
  const reference = new Map<Pass, Record<string, Tensor>>();
  for (const c of cases) if (c.id === `${c.pass}-naive-f64`) reference.set(c.pass, c.run());
  const rows: BenchRow[] = cases.map((c) => {
    const t = best.get(c.id)!;
    const want = reference.get(c.pass);
    return {
      id: c.id,
      label: c.label,
      pass: c.pass,
      dtype: c.dtype,
      baseline: c.baseline,
      ms: t.ms,
      timing: t,
      ...(want ? { relErr: relativeError(c.run(), want) } : {}),
    };
  });
  for (const s of skipped) {
    for (const pass of ["backward", "forward"] as const) {
      for (const { engine, label } of ENGINES)
        rows.push({
          id: `${pass}-${engine}-${s.dtype}`,
          label: label.replace("%s", pass),
          pass,
          dtype: s.dtype,
          baseline: `${pass}-compiled-${s.dtype}`,
          skipped: s.reason,
        });
    }
  }
  addRatios(rows);
  const g = build(opts.dtypes?.[0] ?? "f64");
  return {
    benchmark: "gradc-bench",
    program: opts.program ?? "graph",
    summary: opts.summary ?? "",
    date: new Date().toISOString(),
    command: opts.command ?? "",
    machine: { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, node: process.version, loadavgStart, loadavgEnd: os.loadavg() },
    timing,
    seed,
    inputs: typeof g === "string" ? {} : Object.fromEntries(g.inputs.map((x) => [x.name, `${x.dtype}[${x.shape.join(",")}]`])),
    graph: shape,
    rows,
    notes: [
      "compiled rows run with { reuseOutputs: true } and their inputs in exe.inputArray(name) (outputs and inputs stay in the executable's buffers, as in a training loop)",
      "the naive and optimized forward rows also compute the residuals their backward reads; the optimized forward only those the optimized backward uses",
      ...skipped.map((s) => `${s.dtype}: ${s.reason}`),
    ],
  };
}

const fmtRatio = (r: number | null | undefined) => (r == null ? "" : `x${r >= 10 ? r.toFixed(0) : r.toFixed(2)}`);

/** The markdown table: one line per row, grouped by pass, ratios to the compiled row of its dtype. */
export function benchTable(r: BenchReport): string {
  const lines = [`| pass | way | dtype | median per call | / compiled |`, `| --- | --- | --- | ---: | ---: |`];
  for (const pass of ["backward", "forward"] as const) {
    for (const row of r.rows.filter((x) => x.pass === pass)) {
      lines.push(`| ${pass} | ${row.label} | ${row.dtype} | ${row.ms === undefined ? `n/a (${row.skipped})` : fmtMs(row.ms)} | ${fmtRatio(row.ratio)} |`);
    }
  }
  return lines.join("\n");
}

/** The text summary: what was measured, the table, the notes. */
export function summarizeBench(r: BenchReport): string {
  const s = r.graph;
  return [
    `## gradc bench ${r.program}${r.summary ? `: ${r.summary}` : ""}`,
    `inputs ${Object.entries(r.inputs)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ")}`,
    `nodes: forward ${s.forwardNodes} (optimized ${s.optimizedForwardNodes}), backward ${s.backwardNodes} naive -> ${s.optimizedNodes} optimized; reduction depth ${s.reductionDepth.naive} -> ${s.reductionDepth.optimized}; compiled to ${s.kernels} kernel(s), ${s.sweeps} sweep(s)`,
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; load average ${r.machine.loadavgStart[0].toFixed(1)} -> ${r.machine.loadavgEnd[0].toFixed(1)}. Median per call, best of ${r.timing.rounds} interleaved round(s); ratios from this run.`,
    "",
    benchTable(r),
    "",
    ...r.notes.map((n) => `- ${n}`),
  ].join("\n");
}
