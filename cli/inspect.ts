// gradc inspect <graph>: a zoo graph's forward (with the residuals the backward needs), the backward
// that autodiff derives, and that backward after the optimizer, side by side.
//
//   gradc inspect batchnorm
//   gradc inspect layernorm --shape 64,128 --dtype f32
//   gradc inspect batchnorm --json

import { GradcError } from "../core/errors.js";
import { printGraph, type Graph } from "../core/graph.js";
import type { DType } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { stats, type GraphStats } from "../compile/optimize/stats.js";
import { zoo } from "../ops/zoo.js";
import { parseCommandArgs, parseDtype, zooName, zooShape } from "./args.js";

const usage = `usage: gradc inspect <graph> [--shape N,D,...] [--dtype f64|f32] [--json] [--kernels]

Prints the forward graph with its residuals, the backward graph derived by autodiff, and the
backward after the optimizer, with node counts and reduction depths.

graphs:
${Object.entries(zoo).map(([k, e]) => `  ${k.padEnd(18)} ${e.summary} (default shape ${e.shape.join(",")})`).join("\n")}

options:
  --shape   comma-separated sizes, e.g. 200,3 for batchnorm's N,D
  --dtype   f64 (default) or f32
  --json    print one JSON object instead of text
  --kernels also print the generated JavaScript of the compiled, optimized backward`;

export interface InspectReport {
  graph: string;
  shape: number[];
  dtype: DType;
  residuals: string[];
  forward: { nodes: number; text: string };
  backward: { nodes: number; text: string; reductionDepth: number; fullSizeReductions: number; elementwisePerElement: number };
  optimized: {
    nodes: number;
    reductionDepth: number;
    fullSizeReductions: number;
    elementwisePerElement: number;
    text: string;
    stop: string;
    /** Rule applications, and how many times each rule fired. */
    steps: number;
    rules: Record<string, number>;
    ms: number;
  };
  /** The optimized backward compiled: fused kernels, full-size sweeps, bytes per call (and source with --kernels). */
  compiled?: { kernels: number; sweeps: number; bytesPerCall: number; source?: string };
}

const statsOf = (s: GraphStats) => ({ reductionDepth: s.reductionDepth, fullSizeReductions: s.fullSizeReductions, elementwisePerElement: s.elementwisePerElement });

/** Everything `inspect` shows, as data (the JSON output, and what the text output formats). */
export function inspect(name: string, shape: readonly number[] = zoo[name].shape, dtype: DType = "f64"): InspectReport {
  const g: Graph = zoo[name].build(shape, dtype);
  const { forward, backward, residuals } = vjp(g, { of: "out" });
  const opt = optimize(backward, { trace: true });
  const rules: Record<string, number> = {};
  for (const s of opt.steps) rules[s.rule] = (rules[s.rule] ?? 0) + 1;
  return {
    graph: name,
    shape: [...shape],
    dtype,
    residuals,
    forward: { nodes: forward.size, text: printGraph(forward) },
    backward: { nodes: backward.size, text: printGraph(backward), ...statsOf(stats(backward)) },
    optimized: {
      nodes: opt.graph.size,
      ...statsOf(stats(opt.graph)),
      text: printGraph(opt.graph),
      stop: opt.stop,
      steps: opt.steps.length,
      rules,
      ms: Math.round(opt.ms * 10) / 10,
    },
  };
}

function formatText(r: InspectReport): string {
  const row = (label: string, a: number | string, b: number | string) => `  ${label.padEnd(26)}${String(a).padStart(8)}${String(b).padStart(11)}`;
  const { backward: n, optimized: o } = r;
  return [
    `${r.graph} at [${r.shape.join(",")}] ${r.dtype}: ${zoo[r.graph].summary}`,
    "",
    `forward, saving residuals ${r.residuals.join(", ")}: ${r.forward.nodes} nodes`,
    r.forward.text,
    "",
    `backward, derived by autodiff: ${n.nodes} nodes`,
    n.text,
    "",
    `${"backward".padEnd(28)}${"naive".padStart(8)}${"optimized".padStart(11)}`,
    row("nodes", n.nodes, o.nodes),
    row("reduction depth", n.reductionDepth, o.reductionDepth),
    row("full-size reductions", n.fullSizeReductions, o.fullSizeReductions),
    row("elementwise ops / element", n.elementwisePerElement, o.elementwisePerElement),
    `  optimizer: ${o.steps} rule applications, stopped: ${o.stop}, ${o.ms} ms`,
    "",
    `backward, optimized: ${o.nodes} nodes`,
    o.text,
    ...(r.compiled ? ["", `compiled: ${r.compiled.kernels} kernel(s), ${r.compiled.sweeps} sweep(s), ${r.compiled.bytesPerCall} bytes per call`] : []),
    ...(r.compiled?.source ? ["", r.compiled.source] : []),
  ].join("\n");
}

const options = {
  shape: { type: "string" },
  dtype: { type: "string", default: "f64" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  kernels: { type: "boolean", default: false },
} as const;

export const command = {
  summary: "print a graph's forward, derived backward and optimized backward, with node counts and depths",
  run(argv: string[]): void {
    const { values, positionals } = parseCommandArgs("inspect", argv, options);
    if (values.help) {
      console.log(usage);
      return;
    }
    if (positionals.length > 1) throw new GradcError(`inspect: one graph at a time, got ${positionals.join(" ")}`);
    const name = zooName("inspect", positionals[0]);
    const shape = values.shape === undefined ? zoo[name].shape : zooShape("inspect", values.shape, name);
    const dtype = parseDtype("inspect", values.dtype);
    const report = inspect(name, shape, dtype);

    const exe = compile(optimize(vjp(zoo[name].build(shape, dtype), { of: "out" }).backward));
    const { kernels, sweeps, bytesPerCall } = exe.stats;
    report.compiled = { kernels, sweeps, bytesPerCall, ...(values.kernels ? { source: exe.source } : {}) };

    console.log(values.json ? JSON.stringify(report, null, 2) : formatText(report));
  },
};
