// view(graph): the viewer's data for a traced forward graph (its derived backward, the optimizer's
// trace, the compiled kernels) and the self-contained HTML page showing it.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { shapeStr } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { benchRecords, toVizGraph, type PageData, type VizGraph, type VizKernel } from "./model.js";
import { buildPage } from "./page.js";

export interface ViewOptions {
  /** The page's title (default: "gradc view"). */
  title?: string;
  /** Write the page to this file; `view` returns its absolute path. */
  out?: string;
  /** Derive, optimize and compile the backward (default true); false shows the forward alone. */
  backward?: boolean;
  /** The output to differentiate when the graph has several. */
  of?: string;
  /** Compile the optimized backward and draw its kernels (default true). */
  kernels?: boolean;
  /** A parsed bench JSON (bench/batchnorm.ts's result, or an array of records) to chart. */
  bench?: unknown;
  /** At most this many rewrite steps go into the player (default 400). */
  maxSteps?: number;
}

export interface ViewResult {
  html: string;
  /** Where the page was written, when `out` was given. */
  path?: string;
  data: PageData;
}

/** Everything the page shows, as JSON-ready data. */
export function viewData(graph: Graph, opts: ViewOptions = {}): PageData {
  const shown = graph.inputs.slice(0, 8).map((x) => `${x.name}: ${x.dtype}${shapeStr(x.shape)}`);
  if (graph.inputs.length > 8) shown.push(`… ${graph.inputs.length - 8} more`);
  const signature = shown.join(", ");
  const outs = graph.outputNames.length > 8 ? `${graph.outputNames.slice(0, 8).join(", ")}, … ${graph.outputNames.length - 8} more` : graph.outputNames.join(", ");
  const data: PageData = {
    title: opts.title ?? "gradc view",
    subtitle: `graph(${signature}) → ${outs}`,
    forward: toVizGraph(graph),
    backward: null,
    optimized: null,
    steps: [],
    stepsOmitted: 0,
    stop: "not run",
    kernels: null,
    kernelNote: "No backward derived.",
    bench: opts.bench === undefined ? null : benchRecords(opts.bench),
    residuals: [],
  };
  if (opts.backward === false) return data;

  const { backward, residuals } = vjp(graph, { of: opts.of });
  const ct = backward.inputs.find((x) => !residuals.includes(x.name));
  const origin = (n: Node): string => {
    if (!n.isInput) return "";
    if (n === ct) return `the cotangent of the output (${n.name})`;
    const def = backward.facts[n.name];
    return def ? `residual ${n.name}, saved by the forward (${def.op} of ${def.inputs.map((x) => x.label ?? (x.isInput ? x.name : x.op)).join(", ")})` : `forward input ${n.name}`;
  };
  const viz = (g: Graph): VizGraph => toVizGraph(g, origin);
  const traced = optimize(backward, { trace: true });
  const maxSteps = opts.maxSteps ?? 400;
  data.backward = viz(backward);
  data.optimized = viz(traced.graph);
  data.residuals = residuals;
  data.stop = traced.stop;
  data.steps = traced.steps.slice(0, maxSteps).map((s) => ({
    rule: s.rule,
    matched: s.matched.map((n) => n.id),
    produced: s.produced.map((n) => n.id),
    graph: viz(s.graph),
  }));
  data.stepsOmitted = Math.max(0, traced.steps.length - maxSteps);
  if (opts.kernels !== false) {
    try {
      const exe = compile(traced.graph);
      data.kernels = exe.kernels.map((k): VizKernel => ({ name: k.name, nodes: k.nodes.map((n) => n.id), sweeps: k.sweeps, bytes: k.bytes, source: k.source }));
    } catch (e) {
      data.kernelNote = `compile failed: ${(e as Error).message}`;
    }
  } else data.kernelNote = "Kernels not requested.";
  return data;
}

/**
 * The viewer page for a traced forward graph: forward, derived backward, optimized backward with
 * its kernels, the rewrite player, and the bench chart when given. One HTML file, no network.
 *
 *   const g = trace({ x: [200, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => ops.batchnorm(x, gamma, beta).out);
 *   const { path } = view(g, { out: "bn.html" });   // open it in a browser
 */
export function view(graph: Graph, opts: ViewOptions = {}): ViewResult {
  const data = viewData(graph, opts);
  const html = buildPage(data);
  if (!opts.out) return { html, data };
  const path = resolve(opts.out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
  return { html, path, data };
}
