// PLACEHOLDER until the rewrite engine lands (lead is writing it): the interface is final.

import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";

export interface RewriteStep {
  /** The rule's name, e.g. "sum-of-add". */
  rule: string;
  /** Nodes of the graph before the step that the rule's pattern matched (root first). */
  matched: Node[];
  /** Nodes the replacement built that were not in the graph before. */
  produced: Node[];
  /** The whole graph after this step. */
  graph: Graph;
}

export type StopReason = "saturated" | "iteration-limit" | "node-limit" | "time-limit";

export interface OptimizeOptions {
  trace?: boolean;
  maxIterations?: number;
  maxNodes?: number;
  timeLimitMs?: number;
}

export interface OptimizeResult {
  graph: Graph;
  steps: RewriteStep[];
  stop: StopReason;
  iterations: number;
  ms: number;
}

export function optimize(g: Graph, opts: OptimizeOptions & { trace: true }): OptimizeResult;
export function optimize(g: Graph, opts?: OptimizeOptions): Graph;
export function optimize(g: Graph, opts: OptimizeOptions = {}): Graph | OptimizeResult {
  const result: OptimizeResult = { graph: g, steps: [], stop: "saturated", iterations: 0, ms: 0 };
  return opts.trace ? result : result.graph;
}
