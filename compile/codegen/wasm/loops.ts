// Loop stages as WebAssembly SIMD functions (f64x2, f32x4): the same term DAG js/loops.ts prints as
// JavaScript, emitted as bytes. The innermost axis of size > 1 runs in vectors; every other axis
// is an outer loop. A value that does not depend on the innermost axis (a per-row value, a
// broadcast [1,D] coefficient is not one of those: it varies along D) is computed once per outer
// iteration; loads along the innermost axis are vector loads, loads constant along it are splats.
//
// Which stages lower (simdLanes): not row-wise (a reduction over the innermost axis would sum
// in a different order than the interpreter), every load contiguous or constant along the
// innermost axis, every op in ops.ts's table for the lane type, no iota. Column sums keep
// the interpreter's order exactly: lane j adds rows 0, 1, 2, ... of column j.
//
// The last partial vector of a row is computed whole (its extra lanes read whatever follows
// the row: the next row, or the 16 bytes of padding after every buffer) and only its valid
// lanes are stored.

import type { Node } from "../../../core/node.js";
import { rowMajor, type Term } from "../layout.js";
import type { LoopStage, Store } from "../schedule.js";
import { ADD, BRIF, END, I32, I32T, LOOP, LTS, MUL, SET, V128T, VOID, mem, s32, simd, u32, V, vec } from "./emit.js";
import { F32X4, F64X2, localGet, wasmLowering, type Lanes } from "./ops.js";

/** The lane type a loop stage runs in as WebAssembly SIMD, or null when it stays JavaScript. */
export function simdLanes(st: LoopStage, terms: ReadonlyMap<Store, Term>): Lanes | null {
  if (st.rowwise || st.stores.some((s) => s.scalar || s.phase > 0)) return null;
  const v = innerAxis(st);
  if (v < 0) return null;
  const dtype = st.stores[0].node.dtype;
  const t = dtype === "f32" ? F32X4 : F64X2;
  const rank = st.domain.length;
  for (const s of st.stores) {
    if (s.node.dtype !== dtype || rowMajor(s.node.shape, rank)[v] !== 1) return null;
  }
  const seen = new Set<Term>();
  const stack = [...terms.values()];
  while (stack.length) {
    const u = stack.pop()!;
    if (seen.has(u)) continue;
    seen.add(u);
    if (u.kind === "iota") return null;
    if (u.kind === "load" && (u.base.dtype !== dtype || (u.offset[v] !== 0 && u.offset[v] !== 1))) return null;
    if (u.kind === "const" && u.node.dtype !== dtype) return null;
    if (u.kind === "op") {
      if (u.node.dtype !== dtype || !wasmLowering(u.node.def, dtype)) return null;
      stack.push(...u.args);
    }
  }
  return t;
}

/** The innermost axis of size > 1, or -1. */
function innerAxis(st: LoopStage): number {
  for (let d = st.domain.length - 1; d >= 0; d--) if (st.domain[d] > 1) return d;
  return -1;
}

/**
 * The body of a `() -> ()` function computing the stage (simdLanes said yes). `addr` gives the
 * byte address of a buffer or input in the module's memory. Reduction buffers must hold their
 * initial value (0, -Infinity) before the call.
 */
export function simdStageBody(st: LoopStage, terms: ReadonlyMap<Store, Term>, t: Lanes, addr: (n: Node) => number): number[] {
  const rank = st.domain.length;
  const v = innerAxis(st);
  const outer = st.domain.flatMap((n, d) => (n > 1 && d !== v ? [d] : []));
  const n = st.domain[v];
  const es = t.es;
  const main = n - (n % t.lanes);
  const tail = n - main;

  // i32 locals: one per outer axis, the inner byte offset jb, then one row base per distinct
  // (buffer, offset) read or written; v128 locals: one per term, then one scratch
  let nI = 0;
  const axisLocal = new Map(outer.map((d) => [d, nI++]));
  const JB = nI++;
  const rowBase = new Map<string, { local: number; base: Node; offset: readonly number[] }>();
  const rowOf = (base: Node, offset: readonly number[]): void => {
    const key = `${base.id}:${offset.join(",")}`;
    if (!rowBase.has(key)) rowBase.set(key, { local: -1, base, offset });
  };
  // topological order of the terms, split by whether they vary along the inner axis
  const order: Term[] = [];
  const inner = new Map<Term, boolean>();
  const visit = (u: Term): boolean => {
    const hit = inner.get(u);
    if (hit !== undefined) return hit;
    let r = false;
    if (u.kind === "load") {
      rowOf(u.base, u.offset);
      r = u.offset[v] !== 0;
    } else if (u.kind === "op") for (const a of u.args) r = visit(a) || r;
    inner.set(u, r);
    order.push(u);
    return r;
  };
  const storeTerms = st.stores.map((s) => ({ s, term: terms.get(s)!, offset: rowMajor(s.node.shape, rank) }));
  for (const { s, term, offset } of storeTerms) {
    visit(term);
    rowOf(s.node, offset);
  }
  for (const r of rowBase.values()) r.local = nI++;
  const rowLocal = (base: Node, offset: readonly number[]) => rowBase.get(`${base.id}:${offset.join(",")}`)!.local;
  let nV = 0;
  const termLocal = new Map<Term, number>(order.map((u) => [u, nI + nV++]));
  const SCRATCH = nI + nV++;

  const c: number[] = [];
  const set = (l: number) => c.push(SET, ...u32(l));
  const get = (l: number) => localGet(l);
  const address = (base: Node, offset: readonly number[]) => [...get(rowLocal(base, offset)), ...get(JB), ADD];
  const compute = (u: Term) => {
    if (u.kind === "const") c.push(...t.constant(u.node.value as number));
    else if (u.kind === "load") {
      if (u.offset[v] !== 0) c.push(...address(u.base, u.offset), ...simd(V.load, ...mem(0, 0)));
      else c.push(...get(rowLocal(u.base, u.offset)), ...simd(t.loadSplat, ...mem(0, 0)));
    } else if (u.kind === "op") {
      const lower = wasmLowering(u.node.def, t.dtype)!;
      c.push(...lower(u.args.map((a) => get(termLocal.get(a)!)), t));
    }
    set(termLocal.get(u)!);
  };

  // loop-invariant constants once, at the top
  for (const u of order) if (u.kind === "const") compute(u);

  const rowBody = () => {
    for (const r of rowBase.values()) {
      // base + es * sum over outer axes of offset[d] * i_d
      c.push(I32, ...s32(addr(r.base)));
      for (const d of outer) if (r.offset[d] !== 0) c.push(...get(axisLocal.get(d)!), I32, ...s32(r.offset[d] * es), MUL, ADD);
      set(r.local);
    }
    for (const u of order) if (u.kind !== "const" && !inner.get(u)) compute(u);
    const body = (lanes: number) => {
      for (const u of order) if (u.kind !== "const" && inner.get(u)) compute(u);
      for (const { s, term, offset } of storeTerms) {
        const x = get(termLocal.get(term)!);
        if (s.kind === "map") c.push(...x);
        else if (s.node.op === "max") {
          // if (x > acc || x !== x) acc = x
          c.push(...address(s.node, offset), ...simd(V.load, ...mem(0, 0)), SET, ...u32(SCRATCH));
          c.push(...x, ...get(SCRATCH), ...x, ...get(SCRATCH), ...simd(t.gt), ...x, ...x, ...simd(t.ne), ...simd(V.or), ...simd(V.bitselect));
        } else c.push(...address(s.node, offset), ...simd(V.load, ...mem(0, 0)), ...x, ...simd(t.add));
        set(SCRATCH);
        if (lanes === t.lanes) c.push(...address(s.node, offset), ...get(SCRATCH), ...simd(V.store, ...mem(0, 0)));
        else for (let l = 0; l < lanes; l++) c.push(...address(s.node, offset), ...get(SCRATCH), ...simd(t.extract, l), t.store, ...mem(l * es, 0));
      }
    };
    c.push(I32, 0);
    set(JB);
    if (main > 0) {
      c.push(LOOP, VOID);
      body(t.lanes);
      c.push(...get(JB), I32, 16, ADD);
      set(JB);
      c.push(...get(JB), I32, ...s32(main * es), LTS, BRIF, 0, END);
    }
    if (tail > 0) body(tail);
  };

  const nestFrom = (k: number) => {
    if (k === outer.length) return rowBody();
    const l = axisLocal.get(outer[k])!;
    c.push(I32, 0);
    set(l);
    c.push(LOOP, VOID);
    nestFrom(k + 1);
    c.push(...get(l), I32, 1, ADD);
    set(l);
    c.push(...get(l), I32, ...s32(st.domain[outer[k]]), LTS, BRIF, 0, END);
  };
  nestFrom(0);
  c.push(END);
  return [...vec([[...u32(nI), I32T], [...u32(nV), V128T]]), ...c];
}
