// viewData: everything the viewer shows for a traced forward graph, as JSON-ready data: the
// derived backward, the optimizer's trace as a derivation (law, matched subexpression before and
// after, cancellations, a proof sketch), the compiled kernels. Runs in Node and, bundled, in the
// page itself (the editor re-derives there), so it imports nothing from node:.

import { mulberry32 } from "../core/mulberry32.js";
import type { Graph } from "../core/graph.js";
import { numbering, toposort } from "../core/graph.js";
import { formatAttrs, formatNumber, scopeOf, type Node } from "../core/node.js";
import { shapeStr, Tensor } from "../core/tensor.js";
import { evaluate } from "../core/evaluate.js";
import { checkGraph, checkRecord } from "../core/args.js";
import { Graph as GraphClass } from "../core/graph.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import type { RewriteStep } from "../compile/optimize/rewrite.js";
import { stats, type GraphStats } from "../compile/optimize/stats.js";
import { ruleGroups } from "../compile/optimize/rules/rule.js";
import { compile } from "../compile/codegen/compile.js";
import { benchRecords, type PageData, type SummaryLine, type VizGraph, type VizKernel, type VizKind, type VizNode, type VizStep } from "./model.js";

export interface ViewOptions {
  /** The page's title (default: "gradc view"). */
  title?: string;
  /** Derive, optimize and compile the backward (default true); false shows the forward alone. */
  backward?: boolean;
  /** The output to differentiate when the graph has several. */
  of?: string;
  /** The inputs to differentiate with respect to (default: all). */
  wrt?: readonly string[];
  /** Compile the optimized backward and draw its kernels (default true). */
  kernels?: boolean;
  /** A parsed bench JSON (bench/batchnorm.ts's result, or an array of records) to chart. */
  bench?: unknown;
  /** At most this many rewrite steps are kept (default 20,000). */
  maxSteps?: number;
  /** Time limit of the traced optimization (default 60 s: tracing rebuilds the graph at every step). */
  timeLimitMs?: number;
  /** The function for the page's editor, a `trace(...)` expression; default: one written from the graph. */
  source?: string;
  /** `source` is a module's own code (viz/module-source.ts) and this the export the page traces. */
  module?: { entry: string };
  /** Shown beside the editor: why it holds what it holds. */
  sourceNote?: string;
}

/** The page's node table: each node once, with what the boxes, the text form and the panel need. */
class NodeTable {
  readonly rows: VizNode[] = [];
  private readonly seen = new Set<Node>();
  constructor(private readonly origin: (n: Node) => string) {}

  graph(g: Graph, s: GraphStats = stats(g)): VizGraph {
    for (const n of g.nodes()) this.add(n);
    return { inputs: g.inputs.map((x) => x.id), outputs: Object.entries(g.outputs).map(([k, v]) => [k, v.id]), stats: s };
  }

  add(n: Node): void {
    if (this.seen.has(n)) return;
    for (const m of toposort([n], (x) => this.seen.has(x))) {
      this.seen.add(m);
      this.rows.push({
        id: m.id,
        op: m.op,
        kind: kindOf(m),
        shape: [...m.shape],
        dtype: m.dtype,
        title: titleOf(m),
        attrs: m.isInput || m.isConst ? "" : formatAttrs(m.attrs),
        operand: m.isInput ? `%${m.name}` : m.isConst ? formatNumber(m.value) : "",
        from: m.label ?? this.origin(m),
        inputs: m.inputs.map((x) => x.id),
        scope: scopeOf(m),
      });
    }
  }
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
    return full.length > 9 ? n.value.toPrecision(4) : full; // the panel's text line keeps every digit
  }
  const axes = n.attrs.axes;
  if (Array.isArray(axes)) return `${n.op}{${axes.join(",")}}`;
  if (n.op === "transpose" && Array.isArray(n.attrs.perm)) return `transpose{${(n.attrs.perm as number[]).join(",")}}`;
  return n.op;
}

const INFIX: Record<string, [string, number]> = { add: [" + ", 1], sub: [" - ", 1], mul: [" * ", 2], div: [" / ", 2] };

/**
 * A node as a formula a reader follows: infix arithmetic, broadcasts and reshapes implicit (NumPy
 * style), inputs by name, nodes not in `open` by their %k. `sum(xhat)`, `gamma / std * (N * dout - ...)`.
 */
export function formula(n: Node, names: ReadonlyMap<Node, string>, open: ReadonlySet<Node> | null, depth = 5): string {
  const go = (m: Node, d: number): [string, number] => {
    if (m.isInput) return [m.name, 9];
    if (m.isConst) return [formatNumber(m.value), m.value < 0 ? 3 : 9];
    if (open && !open.has(m)) return [names.get(m) ?? `%n${m.id}`, 9];
    if (d === 0) return [names.get(m) ?? "…", 9];
    if (m.op === "broadcastTo" || m.op === "reshape" || m.op === "cast") return go(m.inputs[0], d);
    const infix = INFIX[m.op];
    if (infix) {
      const [a, pa] = go(m.inputs[0], d - 1);
      const [c, pc] = go(m.inputs[1], d - 1);
      const [sym, p] = infix;
      const left = pa < p ? `(${a})` : a;
      // a right operand of the same precedence keeps its parentheses: a rule that reassociates shows it
      const right = pc <= p ? `(${c})` : c;
      return [`${left}${sym}${right}`, p];
    }
    if (m.op === "neg") {
      const [a, pa] = go(m.inputs[0], d - 1);
      return [`-${pa < 3 ? `(${a})` : a}`, 3];
    }
    if (m.op === "recip") {
      const [a, pa] = go(m.inputs[0], d - 1);
      return [`1 / ${pa <= 2 ? `(${a})` : a}`, 2];
    }
    if (m.op === "square") {
      const [a, pa] = go(m.inputs[0], d - 1);
      return [`${pa < 9 ? `(${a})` : a}²`, 4];
    }
    return [`${m.op}(${m.inputs.map((x) => go(x, d - 1)[0]).join(", ")})`, 9];
  };
  return go(n, depth)[0];
}

/** A seeded uniform stream in [lo, hi) (mulberry32), so the panel's values are the same every run. */
function uniform(seed: number, lo: number, hi: number): () => number {
  const next = mulberry32(seed);
  return () => lo + (hi - lo) * next();
}

/** The panel's values are left out of graphs with more elements than this (inputs and nodes each). */
const VALUES_MAX = 5e6;

const randomTensor = (x: Node, r: () => number) => {
  const data = x.dtype === "f32" ? new Float32Array(x.size) : new Float64Array(x.size);
  for (let i = 0; i < data.length; i++) data[i] = r();
  return new Tensor(data, x.shape);
};

/** min, mean, max of every node of `g` on `inputs` (a panel figure: left out when evaluation fails or is large). */
function valueStats(g: Graph, inputs: Record<string, Tensor>, into: Map<number, [number, number, number]>): void {
  const nodes = g.nodes().filter((n) => !into.has(n.id));
  if (nodes.reduce((s, n) => s + n.size, 0) > VALUES_MAX) return;
  try {
    const outs = evaluate(new GraphClass(g.inputs, Object.fromEntries(nodes.map((n) => [`n${n.id}`, n]))), inputs);
    for (const n of nodes) {
      const d = outs[`n${n.id}`].data;
      let lo = Infinity,
        hi = -Infinity,
        sum = 0;
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        sum += v;
      }
      const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(4)) : v);
      into.set(n.id, [round(lo), round(sum / Math.max(1, d.length)), round(hi)]);
    }
  } catch {
    // an op without a reference kernel for these inputs: the panel shows no values
  }
}

/**
 * A rule's law without the example it ends with (`... simplified   (sum(x - mean(x)) = 0)`): a
 * step shows its own instance beside it, and another graph's example would mislead.
 */
export const lawOf = (law: string): string => law.replace(/\s{2,}\([\s\S]*\)\s*$/, "");

/**
 * Names for the derivation's formulas: an input by its name, a node by its label, else by its name
 * scope and op (`softmax.sum`, numbered when a scope has several), and `%k` only for a node with none.
 */
export function readableNames(g: Graph): Map<Node, string> {
  const names = numbering(g);
  const count = new Map<string, number>();
  const wanted = new Map<Node, string>();
  for (const n of g.nodes()) {
    if (n.isInput || n.isConst) continue;
    const scope = scopeOf(n).split("/").pop();
    const name = n.label ?? (scope ? `${scope}.${n.op}` : undefined);
    if (!name) continue;
    wanted.set(n, name);
    count.set(name, (count.get(name) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  for (const [n, name] of wanted) {
    const k = (seen.get(name) ?? 0) + 1;
    seen.set(name, k);
    names.set(n, count.get(name)! > 1 ? `${name}${k}` : name);
  }
  return names;
}

/** The derivation: steps with formulas, and the proof sketch of the steps that changed the cost. */
function derivation(backward: Graph, traced: { steps: RewriteStep[] }, table: NodeTable, maxSteps: number) {
  const steps: VizStep[] = [];
  const summary: SummaryLine[] = [];
  let prevStats = stats(backward);
  let namesBefore = readableNames(backward);
  const factName = new Map(Object.entries(backward.facts).map(([k, v]) => [v, k]));
  for (const s of traced.steps.slice(0, maxSteps)) {
    const now = s.graph;
    const st = stats(now);
    const before = new Set(toposort([s.at]));
    const after = new Set(toposort([s.replacement]));
    const namesAfter = readableNames(now);
    const f: [string, string] = [
      formula(s.at, namesBefore, new Set([...before].filter((n) => !after.has(n)))),
      formula(s.replacement, namesAfter, new Set([...after].filter((n) => !before.has(n)))),
    ];
    const cancelled = s.cancelled.map((n) => formula(n, namesBefore, new Set([n])));
    for (const [k, v] of s.substitution) {
      table.add(k);
      if (v) table.add(v);
    }
    for (const n of [s.at, s.replacement, ...s.matched, ...s.cancelled]) table.add(n);
    const base = s.base === backward ? 0 : traced.steps.findIndex((q) => q.graph === s.base) + 1;
    steps.push({
      rule: s.rule,
      law: lawOf(s.law),
      group: s.group,
      before: s.before,
      after: s.after,
      formula: f,
      cancelled,
      // what the player strikes out: the cancelled operands, and a matched expression that became a constant
      cancelledIds: [...s.cancelled.map((n) => n.id), ...(s.replacement.isConst && s.cancelled.length ? [s.at.id] : [])],
      matched: s.matched.map((n) => n.id),
      base,
      substitution: s.substitution.map(([k, v]) => [k.id, v ? v.id : -1]),
      stats: st,
    });
    const changes: string[] = [];
    if (st.reductionDepth !== prevStats.reductionDepth) changes.push(`reduction depth (sequential sweeps) ${prevStats.reductionDepth} → ${st.reductionDepth}`);
    if (st.fullSizeReductions !== prevStats.fullSizeReductions) changes.push(`full-size reductions ${prevStats.fullSizeReductions} → ${st.fullSizeReductions}`);
    if (changes.length) {
      const why: string[] = [];
      for (const c of s.cancelled) {
        const def = c.isInput ? backward.facts[c.name] : undefined;
        if (def)
          why.push(
            `by the forward's definition ${c.name} = ${formula(def, factName, new Set(toposort([def]).filter((n) => n === def || !factName.has(n))), 3)}`,
          );
        else why.push(`${formula(c, namesBefore, new Set([c]))} cancels`);
      }
      summary.push({
        step: steps.length,
        rule: s.rule,
        law: lawOf(s.law),
        words: `${f[0]} = ${f[1]}${why.length ? `, ${why.join("; ")}` : ""}: ${changes.join(", ")}`,
      });
    }
    namesBefore = namesAfter;
    prevStats = st;
  }
  return { steps, summary };
}

/** The kernel's source with a header saying which graph input each `inN` parameter it reads is. */
function namedSource(source: string, inputs: readonly Node[]): string {
  // every kernel takes every input; the header names those its body reads
  const body = source
    .split("\n")
    .filter((l) => !/^\s*function /.test(l))
    .join("\n");
  const used = new Set([...body.matchAll(/\bin(\d+)\b/g)].map((m) => Number(m[1])));
  const header = inputs.flatMap((x, i) => (used.has(i) ? [`//   in${i} = %${x.name}: ${x.dtype}${shapeStr(x.shape)}`] : [])).join("\n");
  const labelled = source.replace(/\/\/ in(\d+)$/gm, (all, k: string) => (inputs[Number(k)] ? `${all} = %${inputs[Number(k)].name}` : all));
  return `// parameters:\n${header}\n${labelled}`;
}

/**
 * A `trace(...)` expression that rebuilds `g` with gradc's ops, for the page's editor when the
 * caller gives none: one line per node, `op(name, inputs, attrs)` for the primitives.
 */
export function graphSource(g: Graph): string {
  const id = (s: string) => (/^[A-Za-z_$][\w$]*$/.test(s) ? s : JSON.stringify(s));
  const spec = g.inputs.map((x) => `${id(x.name)}: [${x.shape.join(", ")}]`).join(", ");
  const names = new Map<Node, string>();
  const lines: string[] = [];
  const ref = (n: Node) =>
    n.isInput
      ? asLocal(n.name)
        ? n.name
        : `xs[${JSON.stringify(n.name)}]`
      : n.isConst
        ? `constant(${formatNumber(n.value)}, "${n.dtype}", [${n.shape.join(", ")}])`
        : names.get(n)!;
  let k = 0;
  for (const n of g.nodes()) {
    if (n.isInput || n.isConst) continue;
    const name = `v${k++}`;
    names.set(n, name);
    const attrs = Object.keys(n.attrs).length ? `, ${JSON.stringify(n.attrs)}` : "";
    lines.push(`  const ${name} = op("${n.op}", [${n.inputs.map(ref).join(", ")}]${attrs});`);
  }
  const outs = Object.entries(g.outputs)
    .map(([k2, v]) => `${id(k2)}: ${ref(v)}`)
    .join(", ");
  return `trace({ ${spec} }, (xs) => {\n  const { ${g.inputs
    .filter((x) => asLocal(x.name))
    .map((x) => x.name)
    .join(", ")} } = xs;\n${lines.join("\n")}\n  return { ${outs} };\n})`;
}

/** Words strict-mode code cannot bind, and the names graphSource's text itself uses (op, constant, xs, v0...). */
const UNBINDABLE = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield " +
    "let static implements interface package private protected public await eval arguments undefined NaN Infinity op constant trace xs"
  ).split(" "),
);

/** Whether an input can be a local of graphSource's text (else it is read as xs["name"]): an input named op, if or eval cannot. */
const asLocal = (name: string): boolean => /^[A-Za-z_$][\w$]*$/.test(name) && !UNBINDABLE.has(name) && !/^v\d+$/.test(name);

/** Value statistics for the forward, derived and optimized graphs' nodes (backward residuals from the forward). */
function attachValues(data: PageData, forward: Graph, optimized: Graph | null, backward: Graph | null): void {
  const values = new Map<number, [number, number, number]>();
  const r = uniform(1, -1, 1);
  const tooLarge = (g: Graph | null) => g !== null && g.inputs.reduce((s, x) => s + x.size, 0) > VALUES_MAX;
  if (tooLarge(forward) || tooLarge(backward) || tooLarge(optimized)) return; // a [1e12] input is not drawn at random
  const fin: Record<string, Tensor> = {};
  for (const x of forward.inputs) fin[x.name] = randomTensor(x, r);
  valueStats(forward, fin, values);
  if (backward && optimized) {
    const bin: Record<string, Tensor> = {};
    let fout: Record<string, Tensor> = {};
    try {
      fout = evaluate(vjp(forward).forward, fin);
    } catch {
      // values for the backward's own nodes only
    }
    for (const x of backward.inputs) bin[x.name] = fout[x.name] ?? fin[x.name] ?? randomTensor(x, r);
    valueStats(backward, bin, values);
    valueStats(optimized, Object.fromEntries(optimized.inputs.map((x) => [x.name, bin[x.name] ?? randomTensor(x, r)])), values);
  }
  for (const n of data.nodes) {
    const v = values.get(n.id);
    if (v) n.values = v;
  }
}

/** Everything the page shows, as JSON-ready data. */
export function viewData(graph: Graph, opts: ViewOptions = {}): PageData {
  checkGraph("view", "the graph", graph);
  checkRecord("view", "options", opts);
  const t0 = performance.now();
  const shown = graph.inputs.slice(0, 8).map((x) => `${x.name}: ${x.dtype}${shapeStr(x.shape)}`);
  if (graph.inputs.length > 8) shown.push(`… ${graph.inputs.length - 8} more`);
  const outs =
    graph.outputNames.length > 8 ? `${graph.outputNames.slice(0, 8).join(", ")}, … ${graph.outputNames.length - 8} more` : graph.outputNames.join(", ");
  let origin = (_n: Node) => "";
  const table = new NodeTable((n) => origin(n));
  const data: PageData = {
    title: opts.title ?? "gradc view",
    subtitle: `graph(${shown.join(", ")}) → ${outs}`,
    nodes: table.rows,
    forward: table.graph(graph),
    backward: null,
    optimized: null,
    steps: [],
    stepsOmitted: 0,
    stop: "not run",
    summary: [],
    groups: { ...ruleGroups },
    kernels: null,
    kernelNote: "No backward derived.",
    bench: opts.bench === undefined ? null : benchRecords(opts.bench),
    residuals: [],
    source: opts.source ?? graphSource(graph),
    sourceKind: opts.module ? "module" : "trace",
    ...(opts.module ? { entry: opts.module.entry } : {}),
    ...(opts.sourceNote ? { sourceNote: opts.sourceNote } : {}),
    ms: 0,
  };
  if (opts.backward === false) {
    attachValues(data, graph, null, null);
    return data;
  }

  const { backward, residuals } = vjp(graph, { of: opts.of, wrt: opts.wrt });
  const ct = backward.inputs.find((x) => !residuals.includes(x.name));
  origin = (n: Node): string => {
    if (!n.isInput) return "";
    if (n === ct) return `the cotangent of the output (${n.name})`;
    const def = backward.facts[n.name];
    return def
      ? `residual ${n.name}, saved by the forward (${def.op} of ${def.inputs.map((x) => x.label ?? (x.isInput ? x.name : x.op)).join(", ")})`
      : `forward input ${n.name}`;
  };
  const traced = optimize(backward, { trace: true, timeLimitMs: opts.timeLimitMs ?? 60_000 });
  const maxSteps = opts.maxSteps ?? 20_000;
  data.backward = table.graph(backward);
  data.residuals = residuals;
  data.stop = traced.stop;
  const { steps, summary } = derivation(backward, traced, table, maxSteps);
  data.steps = steps;
  data.summary = summary;
  data.stepsOmitted = Math.max(0, traced.steps.length - maxSteps);
  data.optimized = table.graph(traced.graph);
  if (opts.kernels !== false) {
    try {
      const exe = compile(traced.graph);
      data.kernels = exe.kernels.map(
        (k): VizKernel => ({
          name: k.name,
          nodes: k.nodes.map((n) => n.id),
          sweeps: k.sweeps,
          bytes: k.bytes,
          source: namedSource(k.source, traced.graph.inputs),
        }),
      );
    } catch (e) {
      data.kernelNote = `compile failed: ${(e as Error).message}`;
    }
  } else data.kernelNote = "Kernels not requested.";
  attachValues(data, graph, traced.graph, backward);
  data.ms = Math.round(performance.now() - t0);
  return data;
}
