// What the viewer shows, as plain JSON data: graphs (nodes with op, kind, shape, text line and
// inputs), the optimizer's rewrite steps, compiled kernels, benchmark records. The page and the SVG
// export draw only from this; nothing here is markup.

import { numbering, printNode, type Graph } from "../core/graph.js";
import { formatNumber, type Node } from "../core/node.js";
import { shapeStr } from "../core/tensor.js";
import { stats, type GraphStats } from "../compile/optimize/stats.js";

/** How a node is drawn. */
export type VizKind = "input" | "const" | "elementwise" | "reduce" | "movement" | "matmul" | "other";

export interface VizNode {
  /** The node's global id (hash-consed: the same value keeps its id across rewrite steps). */
  id: number;
  op: string;
  kind: VizKind;
  shape: number[];
  dtype: string;
  /** First line of the box: op (with reduce axes), an input's name or a constant's value. */
  title: string;
  /** The node's line in the text form: `%7 = sub %x %6 : f64[200,3]`. */
  text: string;
  /** Which forward value it is or comes from (debug label, residual or input name), or "". */
  from: string;
  /** Ids of its inputs. */
  inputs: number[];
  /** Output names it is returned as. */
  outputs: string[];
}

export interface VizGraph {
  nodes: VizNode[];
  stats: GraphStats;
}

export interface VizStep {
  rule: string;
  matched: number[];
  produced: number[];
  graph: VizGraph;
}

export interface VizKernel {
  name: string;
  nodes: number[];
  sweeps: number;
  bytes: number;
  source: string;
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
  forward: VizGraph;
  backward: VizGraph | null;
  optimized: VizGraph | null;
  /** The optimizer's trace over the backward; step k turns graph k-1 (or backward) into step k's. */
  steps: VizStep[];
  /** Steps left out of the player (very long traces are cut). */
  stepsOmitted: number;
  stop: string;
  kernels: VizKernel[] | null;
  /** Why there are no kernels, when there are none. */
  kernelNote: string;
  bench: BenchRecord[] | null;
  /** Which forward value each residual input of the backward is (name -> description). */
  residuals: string[];
}

function kindOf(n: Node): VizKind {
  if (n.isInput) return "input";
  if (n.isConst) return "const";
  const k = n.def.kind;
  return k === "elementwise" || k === "reduce" || k === "movement" || k === "matmul" ? k : "other";
}

function titleOf(n: Node): string {
  if (n.isInput) return n.name;
  if (n.isConst) {
    const full = formatNumber(n.value);
    return full.length > 9 ? n.value.toPrecision(4) : full; // the hover line keeps every digit
  }
  const axes = n.attrs.axes;
  if (Array.isArray(axes)) return `${n.op}{${axes.join(",")}}`;
  if (n.op === "transpose" && Array.isArray(n.attrs.perm)) return `transpose{${(n.attrs.perm as number[]).join(",")}}`;
  return n.op;
}

/**
 * A graph as viewer data. `origin(n)` may say which forward value an unnamed node comes from
 * (the backward's residual inputs and the cotangent).
 */
export function toVizGraph(g: Graph, origin: (n: Node) => string = () => ""): VizGraph {
  const names = numbering(g);
  const outputsOf = new Map<Node, string[]>();
  for (const [name, v] of Object.entries(g.outputs)) outputsOf.set(v, [...(outputsOf.get(v) ?? []), name]);
  const nodes = g.nodes().map((n): VizNode => {
    const type = `${n.dtype}${shapeStr(n.shape)}`;
    const text = n.isInput ? `%${n.name} : ${type} (input)` : n.isConst ? `${formatNumber(n.value)} : ${type} (constant)` : printNode(n, names);
    return {
      id: n.id,
      op: n.op,
      kind: kindOf(n),
      shape: [...n.shape],
      dtype: n.dtype,
      title: titleOf(n),
      text,
      from: n.label ?? origin(n),
      inputs: n.inputs.map((x) => x.id),
      outputs: outputsOf.get(n) ?? [],
    };
  });
  return { nodes, stats: stats(g) };
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
