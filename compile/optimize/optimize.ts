// optimize: the pipeline of passes over a graph, each a pure function Graph -> Graph.
//   1. reuse residuals: where the forward defined one full-size residual as another times small
//      factors (xhat = xc / std), the backward may read it instead (kept only if cheaper);
//   2. rewrite to a fixpoint with the rule tables (compile/optimize/rules/);
//   3. keep the cheapest of the candidates under the cost model (compile/optimize/cost.ts).

import type { Graph } from "../../core/graph.js";
import { checkGraph, checkRecord } from "../../core/args.js";
import { compareCost, cost } from "./cost.js";
import { analysis } from "./facts.js";
import { Rewriter, type Limits, type RewriteStep, type StopReason } from "./rewrite.js";
import { ruleTables } from "./rules/index.js";
import { reuseResiduals } from "./reuse.js";
import { noWorse, work } from "./work.js";
import { isVjp, optimizePair, type OptimizedVjp } from "./pair.js";
import type { Vjp } from "../autodiff/reverse.js";

export type { RewriteStep, StopReason } from "./rewrite.js";

export interface OptimizeOptions extends Partial<Limits> {
  /** Record every rule application (for the viewer and `gradc inspect`). */
  trace?: boolean;
}

export interface OptimizeResult {
  graph: Graph;
  steps: RewriteStep[];
  stop: StopReason;
  iterations: number;
  ms: number;
  /** When the graph came back unchanged: why (nothing cheaper was found, or every candidate did more work). */
  reason?: string;
}

export const defaultLimits: Limits = { maxIterations: 100_000, maxNodes: 1_000_000, timeLimitMs: 10_000 };

/**
 * Simplify a graph by algebra. Returns the optimized graph; with { trace: true } also the rule
 * applications in order, why the rewriting stopped, and how long it took.
 *
 *   const { backward } = vjp(zooGraph("batchnorm", [200, 3]));
 *   stats(optimize(backward)).reductionDepth   // 1 (the derived backward has 2)
 */
export function optimize(g: Graph, opts: OptimizeOptions & { trace: true }): OptimizeResult;
export function optimize(g: Graph, opts?: OptimizeOptions): Graph;
/** A vjp pair: the optimized backward, and a forward that computes only the residuals it reads (pair.ts). */
export function optimize(v: Vjp, opts?: OptimizeOptions): OptimizedVjp;
export function optimize(g: Graph | Vjp, opts: OptimizeOptions = {}): Graph | OptimizeResult | OptimizedVjp {
  checkRecord("optimize", "options", opts);
  if (!isVjp(g)) checkGraph("optimize", "the graph", g);
  if (isVjp(g)) return optimizePair(g, (x) => optimizeGraph(x, opts));
  const result = optimizeGraph(g, opts);
  return opts.trace ? result : result.graph;
}

/** optimize with the report (steps only when traced): why it stopped, how long it took. */
export function optimizeReport(g: Graph, opts: OptimizeOptions = {}): OptimizeResult {
  return optimizeGraph(g, opts);
}

function optimizeGraph(g: Graph, opts: OptimizeOptions): OptimizeResult {
  const t0 = performance.now();
  const limits: Limits = { ...defaultLimits, ...opts };
  // one deadline for every candidate: the limit bounds the whole call, not each pass
  const left = (): Limits => ({ ...limits, timeLimitMs: Math.max(0, limits.timeLimitMs - (performance.now() - t0)) });
  const candidates: OptimizeResult[] = [];
  const input = work(g);
  const reuse = reuseResiduals(g, analysis(g, left()));
  for (const strict of [false, true]) {
    for (const start of reuse ? [reuse, null] : [null]) {
      if (candidates.some((c) => c.stop === "time-limit")) break;
      const from = start ? start.graph : g;
      const ctx = analysis(from, left());
      const rw = new Rewriter(ruleTables, ctx, left(), { traceFrom: opts.trace ? from : undefined, acceptWithin: from, strict });
      const res = rw.run(from);
      const pre: RewriteStep[] = start && opts.trace ? [start.step] : [];
      candidates.push({ graph: res.graph, steps: [...pre, ...res.steps], stop: res.stop, iterations: res.iterations + (start ? 1 : 0), ms: 0 });
    }
    // the strict pass is needed only when the free one did more work somewhere than the input
    if (candidates.some((c) => c.stop === "time-limit" || noWorse(work(c.graph), input))) break;
  }
  // never worse: a candidate that does more multiply-adds, elementwise work or reduction reads than
  // the input in any one of them is not taken, whatever else it saves (docs/optimizer.md)
  const fit = candidates.filter((c) => noWorse(work(c.graph), input));
  const stop = candidates.find((c) => c.stop !== "saturated")?.stop ?? "saturated";
  const unchanged = fit.length
    ? "no candidate was cheaper than the input by the cost model"
    : "every candidate did more work than the input (multiply-adds, elementwise or reduction reads)";
  fit.push({ graph: g, steps: [], stop, iterations: 0, ms: 0, reason: unchanged });
  const best = fit.reduce((p, q) => (compareCost(cost(q.graph), cost(p.graph)) < 0 ? q : p));
  return { ...best, stop: best.stop === "saturated" ? stop : best.stop, ms: performance.now() - t0 };
}
