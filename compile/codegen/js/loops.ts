// Code generation for loop stages: one JavaScript loop nest per stage, sizes as constants, every
// value bound to a `const` at the outermost loop it depends on (loop-invariant code motion for
// free: a per-row value is computed once per row, a broadcast [1,D] value is a load).
//
// Safety: no user-supplied string reaches the source. Buffers and inputs are generated names
// (b3, in0), numbers go through `literal`, comments name nodes by number (%7) and name ops only
// when the op name is a plain identifier. The one thing printed from a record is an elementwise
// op's `expr` template, which is code its author wrote, given only generated operand names.

import type { Node } from "../../../core/node.js";
import { GradcError } from "../../../core/errors.js";
import type { DType } from "../../../core/tensor.js";
import { depthOf, rowMajor, type Affine, type Term } from "../layout.js";
import type { LoopStage, Store } from "../schedule.js";
import type { PlannedLoop } from "../plan.js";

/** A number as a JavaScript literal; anything that is not a number is refused. */
export function literal(v: unknown): string {
  if (typeof v !== "number") throw new GradcError(`compile: expected a number for generated code, got ${typeof v}`);
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  if (Object.is(v, -0)) return "(-0)";
  const s = String(v);
  if (!/^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(s)) throw new GradcError(`compile: cannot print ${s} as a literal`);
  return v < 0 ? `(${s})` : s;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A user-supplied name, only if it is a plain identifier (for comments); otherwise a placeholder. */
export const safeName = (s: string, fallback = "op"): string => (IDENT.test(s) ? s : fallback);

/** What codegen needs from the compiler: generated names for buffers and nodes. */
export interface Names {
  /** The generated identifier of a buffer (`b3`) or an input (`in0`). */
  buffer(n: Node): string;
  /** The node's number in the graph's text form (`%7`), or `in0` for inputs. */
  label(n: Node): string;
}

/** `%7 = mul %5 in0 : f64[4,3]`, built only from numbers and identifiers. */
export function describeNode(n: Node, names: Names): string {
  const attrs = Object.entries(n.attrs).flatMap(([k, v]) => {
    if (!IDENT.test(k)) return [];
    if (typeof v === "number") return [`${k}=${literal(v)}`];
    if (Array.isArray(v) && v.every((x) => typeof x === "number")) return [`${k}=[${v.map(literal).join(",")}]`];
    return [];
  });
  const a = attrs.length ? `[${attrs.join(", ")}]` : "";
  const args = n.inputs.map((x) => (x.isConst ? literal(x.value) : names.label(x))).join(" ");
  return `${names.label(n)} = ${safeName(n.op)}${a} ${args} : ${n.dtype}[${n.shape.map(literal).join(",")}]`;
}

interface Scope {
  lines: string[];
  names: Map<Term | string | object, string>;
}

/** Counters shared by the stages of one kernel, so every generated name is unique in it. */
export class KernelNames {
  private counts: Record<string, number> = {};
  next(prefix: string): string {
    const k = this.counts[prefix] ?? 0;
    this.counts[prefix] = k + 1;
    return `${prefix}${k}`;
  }
}

const round = (dtype: DType, e: string): string => (dtype === "f32" ? `Math.fround(${e})` : e);

/** An op computing Math.exp itself (its scalar function is Math.exp: the kernel's bits are its bits). */
const isExp = (t: Term): boolean => t.kind === "op" && t.node.def.scalar === Math.exp && t.node.inputs.length === 1;

/** `b3.fill(0); // %7`: a reduction's accumulators start at its identity (0, or -Infinity for max). */
export function fillLine(s: Store, names: Names): string {
  return `${names.buffer(s.node)}.fill(${s.node.op === "max" ? "-Infinity" : "0"}); // ${names.label(s.node)}`;
}

/**
 * A store of x into target: an elementwise value is written, a max keeps the larger (NaN wins, as
 * the interpreter's), a sum adds (rounded to float32 each step with `fround`).
 */
function storeInto(s: Store, target: string, x: string, fround = false): string {
  if (s.kind === "map") return `${target} = ${x};`;
  if (s.node.op === "max") return `if (${x} > ${target} || ${x} !== ${x}) ${target} = ${x};`;
  return fround ? `${target} = Math.fround(${target} + ${x});` : `${target} += ${x};`;
}

/**
 * Where a loop stage may run exp over a run of values at once (wasm/exp.ts): a kernel for up to
 * `size` values closed over by the generated code under the returned name, or null (no kernel:
 * Math.exp per value).
 */
export type VectorExp = (size: number) => string | null;

/** The source of one loop stage (a block of statements), as the plan decided it (unrolled rows or not). */
export function loopStageSource(ps: PlannedLoop, names: Names, ids: KernelNames, vectorExp?: VectorExp): string[] {
  if (ps.size === 0) return emptyStageSource(ps.st, names);
  const nest = new LoopNest(ps, names, ids, vectorExp);
  if (ps.unroll >= 0 && !ps.st.rowwise) return nest.unrolledRows();
  if (ps.unroll >= 0) return nest.unrolledRowPhases();
  return nest.rowPhasesOnce();
}

/**
 * A stage over a domain with an empty axis runs no iterations, however long its other axes (a
 * [1e308, 0] domain): what it writes is only its reductions over the empty axis, their identity.
 */
function emptyStageSource(st: LoopStage, names: Names): string[] {
  const fills = st.stores.filter((s) => s.kind === "reduce" && s.node.size > 0).map((s) => fillLine(s, names));
  return [`// an empty domain [${st.domain.map(literal).join(",")}]: no iterations`, ...fills];
}

/**
 * One stage's loop nest under construction: a scope per loop depth, each value bound to a `const`
 * in the outermost scope it depends on. With an unrolled row loop, `copy` c (0..rows-1) is the
 * body for row i + c: a value that does not depend on the row is shared by all copies.
 */
class LoopNest {
  private readonly st: LoopStage;
  private readonly rank: number;
  private readonly split: number;
  /** The unrolled axis (-1: none) and the rows per iteration. */
  private readonly u: number;
  private readonly rows: number;
  private readonly scopes: Scope[];
  /** A load of a buffer this stage writes (a row sum of an earlier phase) stays inside the row loop. */
  private readonly writtenHere: Set<Node>;
  private readonly depthMemo = new Map<Term, number>();
  private readonly dependsMemo = new Map<Term, boolean>();
  private readonly copyKeys = new Map<Term, object[]>();
  private copy = 0;

  constructor(
    private readonly ps: PlannedLoop,
    private readonly names: Names,
    private readonly ids: KernelNames,
    private readonly vectorExp?: VectorExp,
  ) {
    this.st = ps.st;
    this.rank = ps.st.domain.length;
    this.split = ps.st.split;
    this.u = ps.unroll;
    this.rows = ps.rows;
    this.scopes = Array.from({ length: this.rank + 1 }, () => ({ lines: [], names: new Map() }));
    this.writtenHere = new Set(ps.st.stores.map((s) => s.node));
  }

  private termDepth(t: Term): number {
    const hit = this.depthMemo.get(t);
    if (hit !== undefined) return hit;
    let d = 0;
    if (t.kind === "load") d = Math.max(depthOf(t.offset), this.writtenHere.has(t.base) ? this.split : 0);
    else if (t.kind === "iota") d = depthOf(t.index);
    else if (t.kind === "op") for (const a of t.args) d = Math.max(d, this.termDepth(a));
    this.depthMemo.set(t, d);
    return d;
  }

  private loopVar(d: number): string {
    return `i${d}`;
  }

  /** Whether t depends on the unrolled row (so each copy computes its own). */
  private onRow(t: Term): boolean {
    let r = this.dependsMemo.get(t);
    if (r !== undefined) return r;
    if (t.kind === "load") r = t.offset[this.u] !== 0;
    else if (t.kind === "iota") r = t.index[this.u] !== 0;
    else if (t.kind === "op") r = t.args.some((a) => this.onRow(a));
    else r = false;
    this.dependsMemo.set(t, r);
    return r;
  }

  private keyOf(t: Term): Term | object {
    if (this.copy === 0 || this.u < 0 || !this.onRow(t)) return t;
    let ks = this.copyKeys.get(t);
    if (!ks) this.copyKeys.set(t, (ks = []));
    ks[this.copy] ??= {};
    return ks[this.copy];
  }

  private inCopy0<T>(f: () => T): T {
    const c = this.copy;
    this.copy = 0;
    try {
      return f();
    } finally {
      this.copy = c;
    }
  }

  private find(key: Term | string | object, upTo: number): string | undefined {
    for (let d = 0; d <= upTo; d++) {
      const hit = this.scopes[d].names.get(key);
      if (hit) return hit;
    }
    return undefined;
  }

  /** An affine index as an expression; all but its innermost term is hoisted into a const. */
  private offset(a: Affine): string {
    const d = depthOf(a);
    if (d === 0) return "0";
    const { u, copy } = this;
    const shifted = copy > 0 && u >= 0 && a[u] !== 0;
    if (shifted && d - 1 === u) return `${this.inCopy0(() => this.offset(a))} + ${literal(copy * a[u])}`;
    const inner = a[d - 1] === 1 ? this.loopVar(d - 1) : `${this.loopVar(d - 1)} * ${literal(a[d - 1])}`;
    const rest = a.map((c, k) => (k === d - 1 ? 0 : c));
    const rd = depthOf(rest);
    if (rd === 0) return inner;
    const key = `off:${rest.join(",")}${shifted ? `:${copy}` : ""}`;
    let name = this.find(key, rd);
    if (!name) {
      name = this.ids.next("o");
      this.scopes[rd].lines.push(`const ${name} = ${shifted ? `${this.inCopy0(() => this.offset(rest))} + ${literal(copy * a[u])}` : this.offset(rest)};`);
      this.scopes[rd].names.set(key, name);
    }
    return `${name} + ${inner}`;
  }

  /** The offset of a store's element in its buffer. */
  private storeOffset(s: Store): string {
    return this.offset(rowMajor(s.node.shape, this.rank));
  }

  /** A term as an expression: a literal, or the name of the const that holds it in its scope. */
  private emit(t: Term): string {
    if (t.kind === "const") return literal(t.node.dtype === "f32" ? Math.fround(t.node.value) : t.node.value);
    if (t.kind === "iota") return `(${this.offset(t.index)})`;
    const depth = this.termDepth(t);
    const key = this.keyOf(t);
    const hit = this.find(key, depth);
    if (hit) return hit;
    let code: string, note: string;
    if (t.kind === "load") {
      code = `${this.names.buffer(t.base)}[${this.offset(t.offset)}]`;
      note = this.names.label(t.base);
    } else {
      const args = t.args.map((a) => this.emit(a));
      const e = t.node.def.expr!(args, t.node.attrs);
      if (typeof e !== "string") throw new GradcError(`compile: the expr template of op ${safeName(t.node.op)} returned ${typeof e}, not a string`);
      code = round(t.node.dtype, e);
      note = describeNode(t.node, this.names);
    }
    const name = this.ids.next("t");
    this.scopes[depth].lines.push(`const ${name} = ${code}; // ${note}`);
    this.scopes[depth].names.set(key, name);
    return name;
  }

  private value(s: Store): string {
    return this.emit(this.ps.terms.get(s)!);
  }

  /** Wrap scope d's lines in the loop over axis d-1 (or `header`) and append it to scope d-1. */
  private close(d: number, header?: string): void {
    const body = this.scopes[d].lines;
    const outer = this.scopes[d - 1].lines;
    if (body.length && header) outer.push(header, ...body.map((l) => "  " + l), "}");
    else if (body.length && this.st.domain[d - 1] === 1) outer.push("{", ...body.map((l) => "  " + l), "}");
    else if (body.length) {
      const v = this.loopVar(d - 1);
      outer.push(`for (let ${v} = 0; ${v} < ${literal(this.st.domain[d - 1])}; ${v}++) {`, ...body.map((l) => "  " + l), "}");
    }
    this.scopes[d] = { lines: [], names: new Map() };
  }

  private closeDown(to: number): void {
    for (let d = this.rank; d > to; d--) this.close(d);
  }

  /**
   * A stage that is not row-wise, its row loop unrolled: `rows` copies of the body per iteration,
   * then the rows left over one at a time. A column accumulator is loaded and stored once per
   * iteration: `b1[i1] = b1[i1] + t4 + t7 + ...` adds in the same order as separate `+=` (bit for bit).
   */
  unrolledRows(): string[] {
    const { st, u, rank } = this;
    for (const s of st.stores) if (s.kind === "reduce") this.scopes[0].lines.push(fillLine(s, this.names));
    const rows = st.domain[u];
    const v = this.loopVar(u);
    const copies = Array.from({ length: this.rows }, (_, c) => c);
    const values = copies.map((c) => ((this.copy = c), st.stores.map((s) => this.value(s))));
    const inner = this.scopes[rank].lines;
    st.stores.forEach((s, k) => {
      const buf = this.names.buffer(s.node);
      const rm = rowMajor(s.node.shape, rank);
      const xs = copies.map((c) => values[c][k]);
      const os = copies.map((c) => ((this.copy = c), this.offset(rm)));
      this.copy = 0;
      if (s.kind === "map" || s.node.op === "max" || rm[u] !== 0) for (const c of copies) inner.push(storeInto(s, `${buf}[${os[c]}]`, xs[c]));
      else if (s.node.dtype === "f32")
        inner.push(`${buf}[${os[0]}] = ${xs.slice(0, -1).reduce((e, x) => `Math.fround(${e} + ${x})`, `${buf}[${os[0]}]`)} + ${xs[xs.length - 1]};`);
      else inner.push(`${buf}[${os[0]}] = ${buf}[${os[0]}] + ${xs.join(" + ")};`);
    });
    this.closeDown(u + 1);
    const even = rows - (rows % this.rows);
    this.close(u + 1, `for (let ${v} = 0; ${v} < ${literal(even)}; ${v} += ${this.rows}) {`);
    if (rows % this.rows) {
      for (const s of st.stores) {
        const x = this.value(s);
        this.scopes[rank].lines.push(storeInto(s, `${this.names.buffer(s.node)}[${this.storeOffset(s)}]`, x));
      }
      this.closeDown(u + 1);
      this.close(u + 1, `for (let ${v} = ${literal(even)}; ${v} < ${literal(rows)}; ${v}++) {`);
    }
    for (let d = u; d > 0; d--) this.close(d);
    return this.scopes[0].lines;
  }

  private fillRowAccumulators(): void {
    for (const s of this.st.stores) if (s.kind === "reduce" && !s.scalar) this.scopes[0].lines.push(fillLine(s, this.names));
  }

  /**
   * The phases of one row, or of several rows (copies cs, row i + c each, its own accumulators:
   * every row adds in its own order, so the results are the one-row loop's bit for bit; a float32
   * row sum's rounding no longer stalls the loop, the chains overlap).
   */
  private rowPhases(cs: readonly number[]): void {
    const { st, rank, split } = this;
    const phases = Math.max(0, ...st.stores.map((s) => s.phase));
    for (let p = 0; p <= phases; p++) {
      const mine = st.stores.filter((s) => s.phase === p);
      if (phases > 0) this.scopes[split].lines.push(`// row phase ${p}`);
      const accs = new Map<Store, string[]>();
      for (const s of mine) {
        if (!s.scalar) continue;
        const as = cs.map(() => this.ids.next("a"));
        accs.set(s, as);
        for (const a of as) this.scopes[split].lines.push(`let ${a} = ${s.node.op === "max" ? "-Infinity" : "0"}; // ${this.names.label(s.node)}`);
      }
      this.expInRows(mine, cs);
      cs.forEach((c, ci) => {
        this.copy = c;
        for (const s of mine) {
          const v = this.value(s);
          const target = s.scalar && s.kind === "reduce" ? accs.get(s)![ci] : `${this.names.buffer(s.node)}[${this.storeOffset(s)}]`;
          this.scopes[rank].lines.push(storeInto(s, target, v, s.scalar && s.node.dtype === "f32"));
        }
      });
      this.copy = 0;
      this.closeDown(split);
      cs.forEach((c, ci) => {
        this.copy = c;
        for (const [s, as] of accs) this.scopes[split].lines.push(`${this.names.buffer(s.node)}[${this.storeOffset(s)}] = ${as[ci]};`);
      });
      this.copy = 0;
    }
  }

  /**
   * The exps a row phase computes along its row (softmax's exp(x - max)), run over whole rows in
   * the vector kernel instead of one Math.exp per value, with the same bits: a first loop writes
   * each exp's argument for the rows `cs` into the kernel's memory, one call computes them, and the
   * phase's loop then reads each exp as a load. Only for one loop per row (the phase's axes are the
   * last one) and exps whose argument holds no other exp and reads nothing this phase writes.
   */
  private expInRows(mine: readonly Store[], cs: readonly number[]): void {
    const { rank, split } = this;
    const width = this.st.domain[rank - 1];
    if (!this.vectorExp || split !== rank - 1 || width < 8) return;
    const exps = this.rowExps(mine);
    if (!exps.length) return;
    const size = exps.length * cs.length * width;
    const kernel = this.vectorExp(size);
    if (!kernel) return;
    const a = this.ids.next("e");
    this.scopes[0].lines.push(`const ${a} = ${kernel}.a; // exp in WebAssembly SIMD (compile/codegen/wasm/exp.ts)`);
    const v = this.loopVar(rank - 1);
    const at = (e: number, ci: number) => `${a}[${(e * cs.length + ci) * width ? `${literal((e * cs.length + ci) * width)} + ` : ""}${v}]`;
    cs.forEach((c, ci) => {
      this.copy = c;
      exps.forEach((t, e) => this.scopes[rank].lines.push(`${at(e, ci)} = ${this.emit((t as { args: Term[] }).args[0])};`));
    });
    this.copy = 0;
    this.close(rank);
    this.scopes[split].lines.push(`${kernel}.run(${literal(size)});`);
    cs.forEach((c, ci) => {
      this.copy = c;
      exps.forEach((t, e) => {
        const name = this.ids.next("t");
        this.scopes[rank].lines.push(`const ${name} = ${round(t.kind === "op" ? t.node.dtype : "f64", at(e, ci))}; // exp, from the kernel`);
        this.scopes[rank].names.set(this.keyOf(t), name);
      });
    });
    this.copy = 0;
  }

  /** The exp terms (Math.exp itself, along the row) in these stores' terms, none inside another's argument. */
  private rowExps(mine: readonly Store[]): Term[] {
    const found: Term[] = [];
    const seen = new Set<Term>();
    // an argument reading a value this phase stores (or a later one) would be read before it is written
    const phase = mine[0]?.phase ?? 0;
    const unready = new Set(this.st.stores.filter((x) => x.phase >= phase).map((x) => x.node));
    const hasExp = (t: Term): boolean => (t.kind === "load" && unready.has(t.base)) || (t.kind === "op" && (isExp(t) || t.args.some(hasExp)));
    const walk = (t: Term) => {
      if (seen.has(t) || t.kind !== "op") return;
      seen.add(t);
      if (isExp(t) && this.termDepth(t) === this.rank && !hasExp(t.args[0])) found.push(t);
      else t.args.forEach(walk);
    };
    for (const s of mine) walk(this.ps.terms.get(s)!);
    return found;
  }

  /** A row-wise stage with its row loop unrolled: groups of rows, then the rows left over. */
  unrolledRowPhases(): string[] {
    const { u, split } = this;
    this.fillRowAccumulators();
    const rows = this.st.domain[u];
    const even = rows - (rows % this.rows);
    const v = this.loopVar(u);
    this.rowPhases(Array.from({ length: this.rows }, (_, c) => c));
    this.close(split, `for (let ${v} = 0; ${v} < ${literal(even)}; ${v} += ${this.rows}) {`);
    if (rows % this.rows) {
      this.rowPhases([0]);
      this.close(split, `for (let ${v} = ${literal(even)}; ${v} < ${literal(rows)}; ${v}++) {`);
    }
    for (let d = u; d > 0; d--) this.close(d);
    return this.scopes[0].lines;
  }

  /** Every other stage: one row's phases inside the loops over [0, split). */
  rowPhasesOnce(): string[] {
    this.fillRowAccumulators();
    this.rowPhases([0]);
    for (let d = this.split; d > 0; d--) this.close(d);
    return this.scopes[0].lines;
  }
}
