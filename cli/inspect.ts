// gradc inspect <graph|module>: a graph's forward (with the residuals the backward needs), the
// backward that autodiff derives, and that backward after the optimizer, side by side, with the
// statistics of docs/stats.md and the compiled kernels.
//
//   gradc inspect ./model.mjs
//   gradc inspect examples/mlp.mjs --wrt W1,b1
//   gradc inspect layernorm --shape 64,128 --dtype f32
//   gradc inspect batchnorm --json

import { GradcError } from "../core/errors.js";
import { printGraph } from "../core/graph.js";
import { shapeStr, type DType } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { stats } from "../compile/optimize/stats.js";
import { zoo } from "../ops/zoo.js";
import { parseCommandArgs } from "./args.js";
import { loadProgram, programOptions, programUsage, type Program } from "./program.js";
import { formatHvp, inspectHvp } from "./inspect-hvp.js";
import { statsOf, statsTable, type Stats } from "./stats-table.js";

const usage = `usage: gradc inspect <graph|module.mjs> [--entry NAME] [--wrt a,b] [--shape N,D,...] [--dtype f64|f32] [--json] [--kernels] [--hvp]

Prints the forward graph with its residuals, the backward graph derived by autodiff, and the
backward after the optimizer, with node counts, reduction depths (docs/stats.md) and the compiled
kernels. A loss (a scalar output) takes its cotangent dout as an input, as in JAX's vjp.

built-in graphs:
${Object.entries(zoo)
  .map(([k, e]) => `  ${k.padEnd(18)} ${e.summary} (default shape ${e.shape.join(",")})`)
  .join("\n")}

options:
${programUsage}
  --json    print one JSON object instead of text
  --kernels also print the generated JavaScript of the compiled, optimized backward
  --hvp     show the Hessian-vector product graph (forward over reverse) instead of the backward,
            derived and optimized, with its stats and kernels`;

export interface InspectReport {
  graph: string;
  summary: string;
  /** A built-in graph's sizes. */
  shape?: number[];
  dtype: DType;
  inputs: Record<string, string>;
  of: string;
  wrt: string[];
  residuals: string[];
  forward: { nodes: number; text: string };
  backward: Stats & { nodes: number; text: string };
  optimized: Stats & {
    nodes: number;
    text: string;
    stop: string;
    /** Rule applications, and how many times each rule fired. */
    steps: number;
    rules: Record<string, number>;
    ms: number;
    /** The residuals the optimized backward reads, what it no longer needs, and the forward cut to them. */
    residuals: string[];
    dropped: string[];
    forwardNodes: number;
  };
  /** The optimized backward compiled: fused kernels, sweeps, bytes per call (and source with --kernels). */
  compiled: { kernels: number; sweeps: number; bytesPerCall: number; source?: string };
}

/** Everything `inspect` shows, as data (the JSON output, and what the text output formats). */
export function inspect(p: Program, opts: { kernels?: boolean } = {}): InspectReport {
  const g = p.graph;
  const v = vjp(g, { of: p.of, wrt: p.wrt });
  const pair = optimize(v, { trace: true });
  const opt = pair.optimizer;
  const rules: Record<string, number> = {};
  for (const s of opt.steps) rules[s.rule] = (rules[s.rule] ?? 0) + 1;
  const exe = compile(pair.backward);
  const { kernels, sweeps, bytesPerCall } = exe.stats;
  return {
    graph: p.name,
    summary: p.summary,
    ...(p.shape ? { shape: p.shape } : {}),
    dtype: g.inputs[0]?.dtype ?? "f64",
    inputs: Object.fromEntries(g.inputs.map((x) => [x.name, `${x.dtype}${shapeStr(x.shape)}`])),
    of: p.of ?? g.outputNames[0],
    wrt: p.wrt ?? g.inputNames,
    residuals: v.residuals,
    forward: { nodes: v.forward.size, text: printGraph(v.forward) },
    backward: { nodes: v.backward.size, text: printGraph(v.backward), ...statsOf(stats(v.backward)) },
    optimized: {
      nodes: pair.backward.size,
      ...statsOf(stats(pair.backward)),
      text: printGraph(pair.backward),
      stop: opt.stop,
      steps: opt.steps.length,
      rules,
      ms: Math.round(opt.ms * 10) / 10,
      residuals: pair.residuals,
      dropped: pair.dropped,
      forwardNodes: pair.forward.size,
    },
    compiled: { kernels, sweeps, bytesPerCall, ...(opts.kernels ? { source: exe.source } : {}) },
  };
}

function formatText(r: InspectReport): string {
  const { backward: n, optimized: o } = r;
  const wrt = r.wrt.length === Object.keys(r.inputs).length ? "all inputs" : r.wrt.join(", ");
  return [
    `${r.summary}, ${r.dtype}: the gradient of ${r.of} with respect to ${wrt}`,
    "",
    `forward, saving residuals ${r.residuals.join(", ")}: ${r.forward.nodes} nodes`,
    r.forward.text,
    "",
    `backward, derived by autodiff: ${n.nodes} nodes`,
    n.text,
    "",
    ...statsTable("backward", ["naive", "optimized"], n, o),
    `  optimizer: ${o.steps} rule applications, stopped: ${o.stop}, ${o.ms} ms`,
    `  forward: ${r.forward.nodes} -> ${o.forwardNodes} nodes, ${o.dropped.length ? `no longer saving ${o.dropped.join(", ")}` : "saving the same residuals"}`,
    "",
    `backward, optimized: ${o.nodes} nodes`,
    o.text,
    "",
    `compiled: ${r.compiled.kernels} kernel(s), ${r.compiled.sweeps} sweep(s), ${r.compiled.bytesPerCall} bytes per call`,
    ...(r.compiled.source ? ["", r.compiled.source] : []),
  ].join("\n");
}

const options = {
  ...programOptions,
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  kernels: { type: "boolean", default: false },
  hvp: { type: "boolean", default: false },
} as const;

export const command = {
  summary: "print a graph's (or your module's) forward, derived backward and optimized backward, with stats",
  async run(argv: string[]): Promise<void> {
    const { values, positionals } = parseCommandArgs("inspect", argv, options);
    if (values.help) {
      console.log(usage);
      return;
    }
    if (positionals.length > 1) throw new GradcError(`inspect: one graph at a time, got ${positionals.join(" ")}`);
    const program = await loadProgram("inspect", positionals[0], values);
    if (values.hvp) {
      const r = inspectHvp(program, { kernels: values.kernels });
      console.log(values.json ? JSON.stringify(r, null, 2) : formatHvp(r));
      return;
    }
    const report = inspect(program, { kernels: values.kernels });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatText(report));
  },
};
