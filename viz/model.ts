// What the viewer shows, as plain JSON data: one table of nodes, graphs as their inputs and
// outputs over it, the optimizer's rewrite steps (each storing only the outputs after it: a step's
// new nodes are in the table, so a step costs a few ids), kernels, benchmark records. The page
// draws only from this; nothing here is markup.

import type { GraphStats } from "../compile/optimize/stats.js";

/** How a node is drawn. */
export type VizKind = "input" | "const" | "elementwise" | "reduce" | "movement" | "matmul" | "other";

/**
 * A node, stored once per page in `PageData.nodes` however many graphs and steps it appears in
 * (hash-consing: the same value keeps its id across rewrite steps).
 */
export interface VizNode {
  id: number;
  op: string;
  kind: VizKind;
  shape: number[];
  dtype: string;
  /** First line of the box: op (with reduce axes), an input's name or a constant's value. */
  title: string;
  /** The attributes as the text form prints them: `[axes=[0], keepdims=true]`, or "". */
  attrs: string;
  /** How the text form writes it as an operand: `%x`, `0.005`; "" for operation nodes (numbered per graph). */
  operand: string;
  /** Which forward value it is or comes from (debug label, residual or input name), or "". */
  from: string;
  /** Ids of its inputs. */
  inputs: number[];
  /** Name scope it was built in ("layer 3/batchnorm"), or "". */
  scope: string;
  /** min, mean and max of its value on seeded random inputs (forward, derived and optimized graphs). */
  values?: [number, number, number];
}

/** A graph: its inputs and outputs; its nodes are everything the outputs reach (plus unused inputs). */
export interface VizGraph {
  inputs: number[];
  outputs: [string, number][];
  stats: GraphStats;
}

/** One rewrite step: the rule, its law, the matched subexpression before and after, the outputs after it. */
export interface VizStep {
  rule: string;
  law: string;
  group: string;
  /** The matched subexpression in the text form (numbered in the graph before the step). */
  before: string;
  /** Its replacement (numbered in the graph after the step). */
  after: string;
  /** The same two as formulas: `sum(xhat)`, `0`. */
  formula: [string, string];
  /** Reductions and inputs that truly cancelled, as formulas, and their ids. */
  cancelled: string[];
  cancelledIds: number[];
  /** The replaced node, then the nodes its pattern bound. */
  matched: number[];
  /** The graph the step's substitution applies to: 0 = the derived backward, j = the graph after step j. */
  base: number;
  /**
   * The graph after the step, as the entries of a substitution on `base` that changed since the
   * previous step on the same base ([node id, value id], or [node id, -1] to drop an entry).
   * Parents rebuilt over a replaced node are not stored: viz/graphs.ts rebuilds them.
   */
  substitution: [number, number][];
  stats: GraphStats;
}

/** A step of the proof sketch: one that changed the reduction depth or the full-size reductions. */
export interface SummaryLine {
  /** 1-based step number in `steps`. */
  step: number;
  rule: string;
  law: string;
  /** In words and formulas: "sum(xhat) = 0, by the forward's definition of xhat; full-size reductions 3 → 2". */
  words: string;
}

export interface VizKernel {
  name: string;
  nodes: number[];
  sweeps: number;
  bytes: number;
  /** Generated source, with a header naming each `inN` parameter after the graph's input ("" in a written page, which carries sourceGz). */
  source: string;
  /** The source gzipped and base64-encoded, as a written page embeds it (viz/page.ts packPage); the page inflates it when opened. */
  sourceGz?: string;
}

/** One benchmark measurement: an implementation at one size. */
export interface BenchRecord {
  impl: string;
  label: string;
  N: number;
  D: number;
  dtype: string;
  ms: number;
  /** Time over the fused kernel's time at the same size, when known. */
  ratio: number | null;
}

export interface PageData {
  title: string;
  subtitle: string;
  /** Every node any graph or step of this page uses, once. */
  nodes: VizNode[];
  forward: VizGraph;
  backward: VizGraph | null;
  optimized: VizGraph | null;
  /** The optimizer's trace over the backward; step k turns graph k-1 (or backward) into step k's. */
  steps: VizStep[];
  /** Steps left out (very long traces are cut). */
  stepsOmitted: number;
  stop: string;
  /** The proof sketch: the few steps that changed reduction depth or full-size reductions. */
  summary: SummaryLine[];
  /** Rule groups and what each means. */
  groups: Record<string, string>;
  kernels: VizKernel[] | null;
  /** Why there are no kernels, when there are none. */
  kernelNote: string;
  bench: BenchRecord[] | null;
  /** Which forward value each residual input of the backward is (name -> description). */
  residuals: string[];
  /** The text in the page's editor: a `trace(...)` call, or a module's own source; "" when the page has none. */
  source: string;
  /** "module": `source` is an ES module (its local imports bundled in) whose export `entry` the page traces. */
  sourceKind?: "trace" | "module";
  /** The module's export the page traces ("default" unless --entry). */
  entry?: string;
  /** Why the editor holds what it holds, when that is not the user's own code. */
  sourceNote?: string;
  /** Milliseconds to derive, optimize and compile where the data was made. */
  ms: number;
}

/**
 * Benchmark records from a bench JSON: bench/batchnorm.ts's result ({ rows: [{ id, label, dtype,
 * cells: [{ N, D, ms, ratio }] }] }) or a flat array of { impl, N, D, dtype, msPerCall, ratioToFused }.
 */
export function benchRecords(json: unknown): BenchRecord[] {
  const out: BenchRecord[] = [];
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const str = (v: unknown, dflt: string) => (typeof v === "string" ? v : dflt);
  // records are read from a user's file: anything that is not an object is skipped, not dereferenced
  const objects = (xs: unknown): Record<string, unknown>[] => (Array.isArray(xs) ? xs.filter((x) => typeof x === "object" && x !== null) : []);
  const rows = Array.isArray(json) ? null : (json as { rows?: unknown })?.rows;
  if (Array.isArray(rows)) {
    for (const row of objects(rows)) {
      const impl = str(row.id, "?");
      const label = str(row.label, impl).replace(/\*\*/g, "");
      for (const c of objects(row.cells)) {
        const ms = num(c.ms);
        const N = num(c.N);
        const D = num(c.D);
        if (ms === undefined || N === undefined || D === undefined || ms <= 0) continue;
        out.push({ impl, label, N, D, dtype: str(row.dtype, "f64"), ms, ratio: num(c.ratio) ?? null });
      }
    }
  } else if (Array.isArray(json)) {
    for (const r of objects(json)) {
      const ms = num(r.msPerCall) ?? num(r.ms);
      const N = num(r.N);
      const D = num(r.D);
      if (ms === undefined || N === undefined || D === undefined || ms <= 0) continue;
      const impl = str(r.impl, "?");
      out.push({ impl, label: impl, N, D, dtype: str(r.dtype, "f64"), ms, ratio: num(r.ratioToFused) ?? num(r.ratio) ?? null });
    }
  }
  return out;
}
