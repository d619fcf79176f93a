// The scheduler: which values get a buffer, and which loop nests compute them.
//
// Elementwise chains and movement ops are inlined into whatever loop reads them, so a reduction's
// input is never materialized. A node gets a buffer when it is an output, a reduction, a matmul,
// an op without a codegen template, or a small value that a full-size loop would otherwise
// recompute per element (a per-feature [1,D] coefficient). Stores over the same iteration space
// that do not depend on each other share one loop nest (a "stage"): sum(dout) and sum(dout*xhat)
// in one pass. A stage over [N,D] whose reductions run over the trailing axes (layernorm) loops
// over rows, and a store that needs those row sums joins the same stage as a later phase, reading
// the row again while it is still in cache. Stages are grouped into kernels: small stages run as
// the prologue of the next full-size stage.

import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { sameShape, sizeOf, type Shape } from "../../core/tensor.js";
import {
  batchStride,
  isContiguous,
  isMovement,
  isReduce,
  loadsOf,
  Lowering,
  roleOf,
  squeezeMap,
  viewOf,
  viewThrough,
  depthOf,
  rowMajor,
  type Affine,
  type IsBuffer,
} from "./layout.js";

/** One value written by a loop stage: an elementwise store or a reduction into accumulators. */
export interface Store {
  node: Node;
  kind: "map" | "reduce";
  /** Reductions over the stage's trailing axes accumulate in a scalar per row. */
  scalar: boolean;
  /** Row phase: phase k+1 re-reads the row after phase k's row reductions are done. */
  phase: number;
}

export interface LoopStage {
  kind: "loop";
  domain: Shape;
  /** Loops over axes [0, split) enclose the phases; each phase loops over axes [split, rank). */
  split: number;
  /** True once a reduction fixed `split` (row-wise accumulation). */
  rowwise: boolean;
  stores: Store[];
}
export interface MatmulStage {
  kind: "matmul";
  node: Node;
}
export interface CallStage {
  kind: "call";
  node: Node;
}
export type Stage = LoopStage | MatmulStage | CallStage;

export interface Schedule {
  graph: Graph;
  /** Nodes with a buffer (inputs not included). */
  buffers: Set<Node>;
  /** Outputs that are contiguous views (reshapes) of a buffer or an input: no store of their own. */
  aliases: Map<Node, Node>;
  stages: Stage[];
  /** Stages grouped into kernels, in execution order. */
  kernels: Stage[][];
  /** The largest input's size: a stage over at least this many elements is a full-size sweep. */
  fullSize: number;
}

/** The longest chain of operations inlined into one expression before a value is stored. */
export const MAX_INLINE_DEPTH = 64;

/** Rows up to this many elements are assumed to stay in cache between a stage's phases. */
export const ROW_IN_CACHE = 8192;

export function schedule(g: Graph): Schedule {
  let buffers = materialize(g);
  const isBuffer: IsBuffer = (n) => n.isInput || buffers.has(n);
  let stages = place(g, buffers, isBuffer);
  // a costly value (exp, log, ...) inlined into two row phases of a stage would be computed in
  // each (softmax: exp for the row sum, then again for the output): store it in the first instead,
  // unless that splits a stage (it could not be read back in place)
  const stored = recomputedAcrossPhases(stages, isBuffer);
  if (stored.length) {
    const before = { buffers, stages };
    buffers = new Set([...buffers, ...stored]);
    stages = place(g, buffers, isBuffer);
    if (stages.length > before.stages.length) ({ buffers, stages } = before);
  }
  const aliases = new Map<Node, Node>();
  for (const out of Object.values(g.outputs)) {
    if (!isBuffer(out)) aliases.set(out, viewOf(out, isBuffer)!.base);
  }
  const fullSize = Math.max(1, ...g.inputs.map((x) => x.size));
  return { graph: g, buffers, aliases, stages, kernels: group(stages, fullSize), fullSize };
}

export function isFullSize(st: Stage, fullSize: number): boolean {
  if (st.kind === "loop") return sizeOf(st.domain) >= fullSize;
  return st.node.inputs.some((x) => x.size >= fullSize) || st.node.size >= fullSize;
}

/** Decide which nodes get buffers: a fixed point, since views depend on what is materialized. */
function materialize(g: Graph): Set<Node> {
  const nodes = g.nodes();
  const buffers = new Set<Node>();
  for (const n of nodes) {
    const r = roleOf(n);
    if (isReduce(r) || r === "matmul" || r === "call") buffers.add(n);
  }
  const isBuffer: IsBuffer = (n) => n.isInput || buffers.has(n);
  let changed = true;
  const want = (n: Node) => {
    if (!isBuffer(n)) {
      buffers.add(n);
      changed = true;
    }
  };
  while (changed) {
    changed = false;
    for (const out of Object.values(g.outputs)) {
      const v = viewOf(out, isBuffer);
      if (!v || !isContiguous(v, out.shape)) want(out);
    }
    for (const n of nodes) {
      const r = roleOf(n);
      if (r === "matmul") {
        // operands are read through strides (a transposed operand is not copied)
        for (const x of n.inputs) if (!viewOf(x, isBuffer)) want(isBuffer(baseOf(x, isBuffer)) ? x : baseOf(x, isBuffer));
      } else if (r === "call" && n.op === "matmul") {
        // a batched product reads each operand through strides (a transposed or broadcast batch is
        // not copied) when its batch axes collapse to one step
        for (const x of n.inputs) {
          const v = viewOf(x, isBuffer);
          if (!v || batchStride(v, x.shape) === null) want(x);
        }
      } else if (r === "call") {
        for (const x of n.inputs) {
          const v = viewOf(x, isBuffer);
          if (!v || !isContiguous(v, x.shape)) want(x);
        }
      } else if (r === "reshape") {
        const x = n.inputs[0];
        if (!viewThrough(n, isBuffer) && !squeezeMap(x.shape, n.shape)) want(x);
      } else if (r === "broadcastTo" && !viewThrough(n, isBuffer)) {
        const b = baseOf(n, isBuffer);
        if (roleOf(b) === "map" && b.size > 1 && !hoistable(n, isBuffer)) want(b);
      }
    }
    // Inlining nests expressions: a chain of thousands of elementwise ops (a deep net's backward)
    // would become one expression too deep to lower, and to parse. Store every MAX_INLINE_DEPTH.
    const depth = new Map<Node, number>();
    for (const n of nodes) {
      let d = 0;
      if (!isBuffer(n)) for (const x of n.inputs) d = Math.max(d, (depth.get(x) ?? 0) + 1);
      if (d > MAX_INLINE_DEPTH && roleOf(n) === "map") {
        want(n);
        d = 0;
      }
      depth.set(n, d);
    }
  }
  return buffers;
}

/** The first node below a chain of movement ops. */
function baseOf(n: Node, isBuffer: IsBuffer): Node {
  while (!isBuffer(n) && isMovement(roleOf(n))) n = n.inputs[0];
  return n;
}

/**
 * A broadcast of an inlined value is cheap when the value varies only along axes outside the
 * expanded ones: it is then computed once per outer iteration (a per-row value in layernorm).
 */
function hoistable(n: Node, isBuffer: IsBuffer): boolean {
  const low = new Lowering(isBuffer, n.shape);
  const t = low.access(n, low.identity());
  const expanded = n.shape.findIndex((s, d) => s !== 1 && n.inputs[0].shape[d] === 1);
  const used = new Set<number>();
  const stack = [t];
  while (stack.length) {
    const u = stack.pop()!;
    if (u.kind === "op") stack.push(...u.args);
    else if (u.kind === "load") u.offset.forEach((c, d) => c !== 0 && used.add(d));
    else if (u.kind === "iota") u.index.forEach((c, d) => c !== 0 && used.add(d));
  }
  return [...used].every((d) => d < expanded);
}

/** The iteration space of a store and its right-hand side as a term. */
export function storeTerm(low: Lowering, st: Store) {
  const idx = low.identity();
  return st.kind === "reduce" ? low.access(st.node.inputs[0], idx) : low.compute(st.node, idx);
}

function place(g: Graph, buffers: Set<Node>, isBuffer: IsBuffer): Stage[] {
  const outputs = new Set(Object.values(g.outputs));
  const stages: Stage[] = [];
  const stageOf = new Map<Node, number>();
  for (const n of g.nodes()) {
    if (!buffers.has(n)) continue;
    const r = roleOf(n);
    if (r === "matmul" || r === "call") {
      stageOf.set(n, stages.length);
      stages.push(r === "matmul" ? { kind: "matmul", node: n } : { kind: "call", node: n });
      continue;
    }
    const kind = isReduce(r) ? "reduce" : "map";
    const domain = kind === "reduce" ? n.inputs[0].shape : n.shape;
    const low = new Lowering(isBuffer, domain);
    const loads = loadsOf([storeTerm(low, { node: n, kind, scalar: false, phase: 0 })]);
    const deps = new Set(loads.map((l) => l.base).filter((b) => !b.isInput));
    const lo = Math.max(-1, ...[...deps].map((d) => stageOf.get(d)!));
    const axes = kind === "reduce" ? (n.attrs.axes as number[]) : [];
    let placed = false;
    for (let s = Math.max(lo, 0); s < stages.length && !placed; s++) {
      const st = stages[s];
      if (st.kind !== "loop" || !sameShape(st.domain, domain)) continue;
      let phase = 0;
      const here = st.stores.filter((x) => deps.has(x.node));
      if (here.length) {
        // a later row phase: row sums of this stage, read once per row, with the row in cache; or,
        // in the same phase or a later one, an element this stage stored at this very index
        // (a stage that is not row-wise: an output it stores, read at this very index through
        // elementwise ops only, is forwarded by planStages: Adam's moments, then the step from them)
        const rowOk = st.rowwise
          ? st.split >= 1 && sizeOf(domain.slice(st.split)) <= ROW_IN_CACHE
          : here.every((x) => x.kind === "map" && outputs.has(x.node) && readsDirectly(n, x.node, isBuffer));
        // (the innermost axis of size > 1: a load over fewer loops would be hoisted above the store)
        const sameIndex = (x: Store) =>
          x.kind === "map" &&
          sameShape(x.node.shape, domain) &&
          domain[domain.length - 1] > 1 &&
          loads.every((l) => l.base !== x.node || sameAffine(l.offset, rowMajor(x.node.shape, domain.length)));
        const rowDeps = here.every((x) => x.scalar || sameIndex(x));
        const perRow = loads.every((l) => !here.some((x) => x.node === l.base && x.scalar) || depthOf(l.offset) <= st.split);
        if (!(rowOk && rowDeps && perRow)) continue;
        phase = Math.max(...here.map((x) => (x.scalar ? x.phase + 1 : x.phase)));
      }
      const scalar =
        kind === "reduce" &&
        suffixFrom(axes, domain.length) >= 0 &&
        (st.rowwise ? suffixFrom(axes, domain.length) === st.split : !st.stores.some((x) => x.phase > 0));
      if (scalar && !st.rowwise) {
        st.rowwise = true;
        st.split = suffixFrom(axes, domain.length);
      }
      const store: Store = { node: n, kind, scalar, phase };
      st.stores.push(store);
      stageOf.set(n, s);
      placed = true;
    }
    if (!placed) {
      const split = kind === "reduce" ? suffixFrom(axes, domain.length) : -1;
      const store: Store = { node: n, kind, scalar: split >= 0, phase: 0 };
      stages.push({ kind: "loop", domain, split: Math.max(split, 0), rowwise: split >= 0, stores: [store] });
      stageOf.set(n, stages.length - 1);
    }
  }
  return stages;
}

/** n's inlined expression reads x only as the operand of elementwise ops (no view of it between). */
function readsDirectly(n: Node, x: Node, isBuffer: IsBuffer): boolean {
  const seen = new Set<Node>();
  const stack = [n];
  while (stack.length) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    for (const y of m.inputs) {
      if (y === x && roleOf(m) !== "map") return false;
      if (y !== x && !isBuffer(y)) stack.push(y);
    }
  }
  return true;
}

const sameAffine = (a: Affine, b: Affine) => a.length === b.length && a.every((c, i) => c === b[i]);

/**
 * Costly elementwise nodes (tag "costly") that a rowwise stage's phases would each compute: the
 * inlined nodes of each store's expression, by phase.
 */
function recomputedAcrossPhases(stages: readonly Stage[], isBuffer: IsBuffer): Node[] {
  const out: Node[] = [];
  for (const st of stages) {
    if (st.kind !== "loop" || !st.stores.some((x) => x.phase > 0) || st.domain[st.domain.length - 1] === 1) continue;
    const phasesOf = new Map<Node, Set<number>>();
    for (const store of st.stores) {
      const low = new Lowering(isBuffer, st.domain);
      storeTerm(low, store);
      for (const n of low.touched) {
        if (!n.def.tags?.includes("costly") || !sameShape(n.shape, st.domain)) continue;
        let ps = phasesOf.get(n);
        if (!ps) phasesOf.set(n, (ps = new Set()));
        ps.add(store.phase);
      }
    }
    for (const [n, ps] of phasesOf) if (ps.size > 1) out.push(n);
  }
  return out;
}

/** If axes are exactly the trailing axes [k, rank), k; else -1. */
function suffixFrom(axes: readonly number[], rank: number): number {
  if (axes.length === 0) return -1;
  const k = rank - axes.length;
  return axes.every((a, i) => a === k + i) ? k : -1;
}

/** Small stages run as the prologue of the next full-size stage's kernel. */
function group(stages: Stage[], fullSize: number): Stage[][] {
  const kernels: Stage[][] = [];
  let pending: Stage[] = [];
  for (const st of stages) {
    if (st.kind !== "loop") {
      if (pending.length) kernels.push(pending);
      kernels.push([st]);
      pending = [];
    } else if (isFullSize(st, fullSize)) {
      kernels.push([...pending, st]);
      pending = [];
    } else pending.push(st);
  }
  if (pending.length) {
    const last = kernels[kernels.length - 1];
    if (last && last[0].kind === "loop") last.push(...pending);
    else kernels.push(pending);
  }
  return kernels;
}
