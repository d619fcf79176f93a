// gradc inspect <graph|module> --hvp: the Hessian-vector product graph (forward over reverse:
// the JVP of the gradient), as autodiff derives it and after the optimizer, with the statistics
// of docs/stats.md and the compiled kernels.

import { printGraph } from "../core/graph.js";
import { shapeStr } from "../core/tensor.js";
import { hvp } from "../compile/autodiff/jacobian.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { stats } from "../compile/optimize/stats.js";
import { statsOf, statsTable, type Stats } from "./stats-table.js";
import type { Program } from "./program.js";

export interface HvpReport {
  graph: string;
  summary: string;
  of: string;
  wrt: string[];
  inputs: Record<string, string>;
  derived: Stats & { nodes: number; text: string };
  optimized: Stats & { nodes: number; text: string; stop: string; steps: number; ms: number };
  compiled: { kernels: number; sweeps: number; bytesPerCall: number; source?: string };
}

export function inspectHvp(p: Program, opts: { kernels?: boolean } = {}): HvpReport {
  const of = p.of ?? p.graph.outputNames[0];
  const derived = hvp(p.graph, { of, wrt: p.wrt });
  const opt = optimize(derived, { trace: true });
  const exe = compile(opt.graph);
  const { kernels, sweeps, bytesPerCall } = exe.stats;
  return {
    graph: p.name,
    summary: p.summary,
    of,
    wrt: p.wrt ?? p.graph.inputNames,
    inputs: Object.fromEntries(derived.inputs.map((x) => [x.name, `${x.dtype}${shapeStr(x.shape)}`])),
    derived: { nodes: derived.size, ...statsOf(stats(derived)), text: printGraph(derived) },
    optimized: {
      nodes: opt.graph.size,
      ...statsOf(stats(opt.graph)),
      text: printGraph(opt.graph),
      stop: opt.stop,
      steps: opt.steps.length,
      ms: Math.round(opt.ms * 10) / 10,
    },
    compiled: { kernels, sweeps, bytesPerCall, ...(opts.kernels ? { source: exe.source } : {}) },
  };
}

export function formatHvp(r: HvpReport): string {
  const { derived: d, optimized: o } = r;
  const dirs = r.wrt.map((x) => `${x}_dot`).join(", ");
  return [
    `${r.summary}: Hessian-vector product of ${r.of} with respect to ${r.wrt.join(", ")} (directions ${dirs}; outputs ${r.wrt.map((x) => `hvp_${x}`).join(", ")})`,
    "",
    `HVP, derived (forward over reverse): ${d.nodes} nodes`,
    d.text,
    "",
    ...statsTable("HVP", ["derived", "optimized"], d, o),
    `  optimizer: ${o.steps} rule applications, stopped: ${o.stop}, ${o.ms} ms`,
    "",
    `HVP, optimized: ${o.nodes} nodes`,
    o.text,
    "",
    `compiled: ${r.compiled.kernels} kernel(s), ${r.compiled.sweeps} sweep(s), ${r.compiled.bytesPerCall} bytes per call`,
    ...(r.compiled.source ? ["", r.compiled.source] : []),
  ].join("\n");
}
