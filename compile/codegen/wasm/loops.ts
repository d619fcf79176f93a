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
  return new SimdBody(st, terms, t, addr).bytes();
}

interface RowBase {
  local: number;
  base: Node;
  offset: readonly number[];
}

/**
 * One SIMD stage's function body. i32 locals: one per outer axis, the inner byte offset JB, then
 * one row base per distinct (buffer, offset) read or written; v128 locals: one per term, then one
 * scratch. Terms are computed in topological order, those that do not vary along the inner axis
 * once per row.
 */
class SimdBody {
  private readonly v: number;
  private readonly outer: number[];
  private readonly es: number;
  private readonly axisLocal: Map<number, number>;
  private readonly JB: number;
  private readonly rowBase = new Map<string, RowBase>();
  private readonly order: Term[] = [];
  /** Whether a term varies along the inner axis. */
  private readonly inner = new Map<Term, boolean>();
  private readonly storeTerms: { s: Store; term: Term; offset: readonly number[] }[];
  private readonly termLocal: Map<Term, number>;
  private readonly nI: number;
  private readonly nV: number;
  private readonly SCRATCH: number;
  private readonly c: number[] = [];

  constructor(
    private readonly st: LoopStage,
    terms: ReadonlyMap<Store, Term>,
    private readonly t: Lanes,
    private readonly addr: (n: Node) => number,
  ) {
    const rank = st.domain.length;
    this.v = innerAxis(st);
    this.outer = st.domain.flatMap((n, d) => (n > 1 && d !== this.v ? [d] : []));
    this.es = t.es;
    let nI = 0;
    this.axisLocal = new Map(this.outer.map((d) => [d, nI++]));
    this.JB = nI++;
    this.storeTerms = st.stores.map((s) => ({ s, term: terms.get(s)!, offset: rowMajor(s.node.shape, rank) }));
    for (const { s, term, offset } of this.storeTerms) {
      this.visit(term);
      this.rowOf(s.node, offset);
    }
    for (const r of this.rowBase.values()) r.local = nI++;
    let nV = 0;
    this.termLocal = new Map<Term, number>(this.order.map((u) => [u, nI + nV++]));
    this.SCRATCH = nI + nV++;
    this.nI = nI;
    this.nV = nV;
  }

  private rowOf(base: Node, offset: readonly number[]): void {
    const key = `${base.id}:${offset.join(",")}`;
    if (!this.rowBase.has(key)) this.rowBase.set(key, { local: -1, base, offset });
  }

  /** Topological order of the terms, each marked by whether it varies along the inner axis. */
  private visit(u: Term): boolean {
    const hit = this.inner.get(u);
    if (hit !== undefined) return hit;
    let r = false;
    if (u.kind === "load") {
      this.rowOf(u.base, u.offset);
      r = u.offset[this.v] !== 0;
    } else if (u.kind === "op") for (const a of u.args) r = this.visit(a) || r;
    this.inner.set(u, r);
    this.order.push(u);
    return r;
  }

  private rowLocal(base: Node, offset: readonly number[]): number {
    return this.rowBase.get(`${base.id}:${offset.join(",")}`)!.local;
  }

  private set(l: number): void {
    this.c.push(SET, ...u32(l));
  }

  private address(base: Node, offset: readonly number[]): number[] {
    return [...localGet(this.rowLocal(base, offset)), ...localGet(this.JB), ADD];
  }

  private compute(u: Term): void {
    const { c, t } = this;
    if (u.kind === "const") c.push(...t.constant(u.node.value as number));
    else if (u.kind === "load") {
      if (u.offset[this.v] !== 0) c.push(...this.address(u.base, u.offset), ...simd(V.load, ...mem(0, 0)));
      else c.push(...localGet(this.rowLocal(u.base, u.offset)), ...simd(t.loadSplat, ...mem(0, 0)));
    } else if (u.kind === "op") {
      const lower = wasmLowering(u.node.def, t.dtype)!;
      c.push(
        ...lower(
          u.args.map((a) => localGet(this.termLocal.get(a)!)),
          t,
        ),
      );
    }
    this.set(this.termLocal.get(u)!);
  }

  /** One vector (or the `lanes` of a partial one) of every store: a map writes, a max or sum accumulates. */
  private vectorBody(lanes: number): void {
    const { c, t, es, SCRATCH } = this;
    for (const u of this.order) if (u.kind !== "const" && this.inner.get(u)) this.compute(u);
    for (const { s, term, offset } of this.storeTerms) {
      const x = localGet(this.termLocal.get(term)!);
      if (s.kind === "map") c.push(...x);
      else if (s.node.op === "max") {
        // if (x > acc || x !== x) acc = x
        c.push(...this.address(s.node, offset), ...simd(V.load, ...mem(0, 0)), SET, ...u32(SCRATCH));
        c.push(...x, ...localGet(SCRATCH), ...x, ...localGet(SCRATCH), ...simd(t.gt), ...x, ...x, ...simd(t.ne), ...simd(V.or), ...simd(V.bitselect));
      } else c.push(...this.address(s.node, offset), ...simd(V.load, ...mem(0, 0)), ...x, ...simd(t.add));
      this.set(SCRATCH);
      if (lanes === t.lanes) c.push(...this.address(s.node, offset), ...localGet(SCRATCH), ...simd(V.store, ...mem(0, 0)));
      else for (let l = 0; l < lanes; l++) c.push(...this.address(s.node, offset), ...localGet(SCRATCH), ...simd(t.extract, l), t.store, ...mem(l * es, 0));
    }
  }

  /** One row: its bases (base + es * sum of offset[d] * i_d), its row-invariant terms, the vector loop, the partial tail. */
  private rowBody(): void {
    const { c, es, t } = this;
    for (const r of this.rowBase.values()) {
      c.push(I32, ...s32(this.addr(r.base)));
      for (const d of this.outer) if (r.offset[d] !== 0) c.push(...localGet(this.axisLocal.get(d)!), I32, ...s32(r.offset[d] * es), MUL, ADD);
      this.set(r.local);
    }
    for (const u of this.order) if (u.kind !== "const" && !this.inner.get(u)) this.compute(u);
    const n = this.st.domain[this.v];
    const main = n - (n % t.lanes);
    const tail = n - main;
    c.push(I32, 0);
    this.set(this.JB);
    if (main > 0) {
      c.push(LOOP, VOID);
      this.vectorBody(t.lanes);
      c.push(...localGet(this.JB), I32, 16, ADD);
      this.set(this.JB);
      c.push(...localGet(this.JB), I32, ...s32(main * es), LTS, BRIF, 0, END);
    }
    if (tail > 0) this.vectorBody(tail);
  }

  /** The loops over the outer axes from the k-th, a row body inside. */
  private nestFrom(k: number): void {
    const { c } = this;
    if (k === this.outer.length) {
      this.rowBody();
      return;
    }
    const l = this.axisLocal.get(this.outer[k])!;
    c.push(I32, 0);
    this.set(l);
    c.push(LOOP, VOID);
    this.nestFrom(k + 1);
    c.push(...localGet(l), I32, 1, ADD);
    this.set(l);
    c.push(...localGet(l), I32, ...s32(this.st.domain[this.outer[k]]), LTS, BRIF, 0, END);
  }

  bytes(): number[] {
    // loop-invariant constants once, at the top
    for (const u of this.order) if (u.kind === "const") this.compute(u);
    this.nestFrom(0);
    this.c.push(END);
    return [
      ...vec([
        [...u32(this.nI), I32T],
        [...u32(this.nV), V128T],
      ]),
      ...this.c,
    ];
  }
}
