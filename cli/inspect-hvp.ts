// gradc inspect <graph|module> --hvp: the Hessian-vector product graph (forward over reverse:
// the JVP of the gradient), as autodiff derives it and after the optimizer, with the statistics
// of docs/stats.md and the compiled kernels.

import { printGraph } from "../core/graph.js";
import { shapeStr } from "../core/tensor.js";
import { hvp } from "../compile/autodiff/jacobian.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { stats, type GraphStats } from "../compile/optimize/stats.js";
import type { Program } from "./program.js";

type Stats = Pick<GraphStats, "nodes" | "reductionDepth" | "reductions" | "reducedElements" | "fullSizeReductions" | "elementwisePerElement">;

export interface HvpReport {
  graph: string;
  summary: string;
  of: string;
  wrt: string[];
  inputs: Record<string, string>;
  derived: Stats & { text: string };
  optimized: Stats & { text: string; stop: string; steps: number; ms: number };
  compiled: { kernels: number; sweeps: number; bytesPerCall: number; source?: string };
}

const pick = (s: GraphStats): Stats => ({
  nodes: s.nodes,
  reductionDepth: s.reductionDepth,
  reductions: s.reductions,
  reducedElements: s.reducedElements,
  fullSizeReductions: s.fullSizeReductions,
  elementwisePerElement: s.elementwisePerElement,
});

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
    derived: { ...pick(stats(derived)), text: printGraph(derived) },
    optimized: { ...pick(stats(opt.graph)), text: printGraph(opt.graph), stop: opt.stop, steps: opt.steps.length, ms: Math.round(opt.ms * 10) / 10 },
    compiled: { kernels, sweeps, bytesPerCall, ...(opts.kernels ? { source: exe.source } : {}) },
  };
}

export function formatHvp(r: HvpReport): string {
  const row = (label: string, a: number | string, b: number | string) => `  ${label.padEnd(26)}${String(a).padStart(8)}${String(b).padStart(11)}`;
  const { derived: d, optimized: o } = r;
  const dirs = r.wrt.map((x) => `${x}_dot`).join(", ");
  return [
    `${r.summary}: Hessian-vector product of ${r.of} with respect to ${r.wrt.join(", ")} (directions ${dirs}; outputs ${r.wrt.map((x) => `hvp_${x}`).join(", ")})`,
    "",
    `HVP, derived (forward over reverse): ${d.nodes} nodes`,
    d.text,
    "",
    `${"HVP".padEnd(28)}${"derived".padStart(8)}${"optimized".padStart(11)}`,
    row("nodes", d.nodes, o.nodes),
    row("reduction depth", d.reductionDepth, o.reductionDepth),
    row("reductions", d.reductions, o.reductions),
    row("elements reduced", d.reducedElements, o.reducedElements),
    row("full-size reductions", d.fullSizeReductions, o.fullSizeReductions),
    row("elementwise ops / element", d.elementwisePerElement, o.elementwisePerElement),
    `  optimizer: ${o.steps} rule applications, stopped: ${o.stop}, ${o.ms} ms`,
    "",
    `HVP, optimized: ${o.nodes} nodes`,
    o.text,
    "",
    `compiled: ${r.compiled.kernels} kernel(s), ${r.compiled.sweeps} sweep(s), ${r.compiled.bytesPerCall} bytes per call`,
    ...(r.compiled.source ? ["", r.compiled.source] : []),
  ].join("\n");
}
