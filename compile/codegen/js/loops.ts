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
import { depthOf, rowMajor, type Affine, type Lowering, type Term } from "../layout.js";
import type { LoopStage, Store } from "../schedule.js";

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

/** The source of one loop stage (a block of statements). */
export function loopStageSource(st: LoopStage, low: Lowering, terms: ReadonlyMap<Store, Term>, names: Names, ids: KernelNames): string[] {
  const rank = st.domain.length;
  const split = st.split;
  const scopes: Scope[] = Array.from({ length: rank + 1 }, () => ({ lines: [], names: new Map() }));
  // a load of a buffer this stage writes (a row sum of an earlier phase) stays inside the row loop
  const writtenHere = new Set(st.stores.map((s) => s.node));
  const depthMemo = new Map<Term, number>();
  const termDepth = (t: Term): number => {
    const hit = depthMemo.get(t);
    if (hit !== undefined) return hit;
    let d = 0;
    if (t.kind === "load") d = Math.max(depthOf(t.offset), writtenHere.has(t.base) ? split : 0);
    else if (t.kind === "iota") d = depthOf(t.index);
    else if (t.kind === "op") for (const a of t.args) d = Math.max(d, termDepth(a));
    depthMemo.set(t, d);
    return d;
  };
  const loopVar = (d: number) => `i${d}`;

  // Four rows per iteration: a stage that is not row-wise runs its row loop (the last axis of size
  // > 1 before the innermost one) UNROLL rows at a time. Copy c of the body reads row i + c; a
  // value that does not depend on the row (a per-feature load, a broadcast coefficient) is shared
  // by all copies, and a column accumulator is loaded and stored once per UNROLL rows:
  // `b1[i1] = b1[i1] + t4 + t7 + ...` adds in the same order as separate `+=` (bit-identical).
  const u = st.rowwise ? rowUnrollAxis(st) : unrollAxis(st);
  let copy = 0;
  const dependsMemo = new Map<Term, boolean>();
  const onRow = (t: Term): boolean => {
    let r = dependsMemo.get(t);
    if (r !== undefined) return r;
    if (t.kind === "load") r = t.offset[u] !== 0;
    else if (t.kind === "iota") r = t.index[u] !== 0;
    else if (t.kind === "op") r = t.args.some(onRow);
    else r = false;
    dependsMemo.set(t, r);
    return r;
  };
  const copyKeys = new Map<Term, object[]>();
  const keyOf = (t: Term): Term | object => {
    if (copy === 0 || u < 0 || !onRow(t)) return t;
    let ks = copyKeys.get(t);
    if (!ks) copyKeys.set(t, (ks = []));
    return (ks[copy] ??= {});
  };
  const inCopy0 = <T>(f: () => T): T => {
    const c = copy;
    copy = 0;
    try {
      return f();
    } finally {
      copy = c;
    }
  };

  const find = (key: Term | string | object, upTo: number): string | undefined => {
    for (let d = 0; d <= upTo; d++) {
      const hit = scopes[d].names.get(key);
      if (hit) return hit;
    }
    return undefined;
  };

  // an affine index as an expression; all but its innermost term is hoisted into a const
  const offset = (a: Affine): string => {
    const d = depthOf(a);
    if (d === 0) return "0";
    const shifted = copy > 0 && u >= 0 && a[u] !== 0;
    if (shifted && d - 1 === u) return `${inCopy0(() => offset(a))} + ${literal(copy * a[u])}`;
    const inner = a[d - 1] === 1 ? loopVar(d - 1) : `${loopVar(d - 1)} * ${literal(a[d - 1])}`;
    const rest = a.map((c, k) => (k === d - 1 ? 0 : c));
    const rd = depthOf(rest);
    if (rd === 0) return inner;
    const key = `off:${rest.join(",")}${shifted ? `:${copy}` : ""}`;
    let name = find(key, rd);
    if (!name) {
      name = ids.next("o");
      scopes[rd].lines.push(`const ${name} = ${shifted ? `${inCopy0(() => offset(rest))} + ${literal(copy * a[u])}` : offset(rest)};`);
      scopes[rd].names.set(key, name);
    }
    return `${name} + ${inner}`;
  };

  const emit = (t: Term): string => {
    if (t.kind === "const") return literal(t.node.dtype === "f32" ? Math.fround(t.node.value) : t.node.value);
    if (t.kind === "iota") return `(${offset(t.index)})`;
    const depth = termDepth(t);
    const key = keyOf(t);
    const hit = find(key, depth);
    if (hit) return hit;
    let code: string, note: string;
    if (t.kind === "load") {
      code = `${names.buffer(t.base)}[${offset(t.offset)}]`;
      note = names.label(t.base);
    } else {
      const args = t.args.map(emit);
      const def = t.node.def;
      const e = def.expr!(args, t.node.attrs);
      if (typeof e !== "string") throw new GradcError(`compile: the expr template of op ${safeName(t.node.op)} returned ${typeof e}, not a string`);
      code = round(t.node.dtype, e);
      note = describeNode(t.node, names);
    }
    const name = ids.next("t");
    scopes[depth].lines.push(`const ${name} = ${code}; // ${note}`);
    scopes[depth].names.set(key, name);
    return name;
  };

  // wrap scope d's lines in the loop over axis d-1 and append it to scope d-1
  const close = (d: number, header?: string) => {
    const body = scopes[d].lines;
    if (body.length && header) {
      scopes[d - 1].lines.push(header, ...body.map((l) => "  " + l), "}");
    } else if (body.length && st.domain[d - 1] === 1) {
      scopes[d - 1].lines.push("{", ...body.map((l) => "  " + l), "}");
    } else if (body.length) {
      const v = loopVar(d - 1);
      scopes[d - 1].lines.push(`for (let ${v} = 0; ${v} < ${literal(st.domain[d - 1])}; ${v}++) {`, ...body.map((l) => "  " + l), "}");
    }
    scopes[d] = { lines: [], names: new Map() };
  };

  const head = scopes[0].lines;
  if (u >= 0 && !st.rowwise) {
    for (const s of st.stores) {
      if (s.kind === "reduce") head.push(`${names.buffer(s.node)}.fill(${s.node.op === "max" ? "-Infinity" : "0"}); // ${names.label(s.node)}`);
    }
    const rows = st.domain[u];
    const v = loopVar(u);
    // groups of UNROLL rows, then the rows left over one at a time
    const copies = Array.from({ length: UNROLL }, (_, c) => c);
    const values = copies.map((c) => ((copy = c), st.stores.map((s) => emit(terms.get(s)!))));
    const inner = scopes[rank].lines;
    st.stores.forEach((s, k) => {
      const buf = names.buffer(s.node);
      const rm = rowMajor(s.node.shape, rank);
      const xs = copies.map((c) => values[c][k]);
      const os = copies.map((c) => ((copy = c), offset(rm)));
      copy = 0;
      if (s.kind === "map") copies.forEach((c) => inner.push(`${buf}[${os[c]}] = ${xs[c]};`));
      else if (s.node.op === "max") copies.forEach((c) => inner.push(`if (${xs[c]} > ${buf}[${os[c]}] || ${xs[c]} !== ${xs[c]}) ${buf}[${os[c]}] = ${xs[c]};`));
      else if (rm[u] !== 0) copies.forEach((c) => inner.push(`${buf}[${os[c]}] += ${xs[c]};`));
      else if (s.node.dtype === "f32") inner.push(`${buf}[${os[0]}] = ${xs.slice(0, -1).reduce((e, x) => `Math.fround(${e} + ${x})`, `${buf}[${os[0]}]`)} + ${xs[xs.length - 1]};`);
      else inner.push(`${buf}[${os[0]}] = ${buf}[${os[0]}] + ${xs.join(" + ")};`);
    });
    for (let d = rank; d > u + 1; d--) close(d);
    const even = rows - (rows % UNROLL);
    close(u + 1, `for (let ${v} = 0; ${v} < ${literal(even)}; ${v} += ${UNROLL}) {`);
    if (rows % UNROLL) {
      for (const s of st.stores) {
        const x = emit(terms.get(s)!);
        const o = offset(rowMajor(s.node.shape, rank));
        const buf = names.buffer(s.node);
        scopes[rank].lines.push(s.kind === "map" ? `${buf}[${o}] = ${x};` : s.node.op === "max" ? `if (${x} > ${buf}[${o}] || ${x} !== ${x}) ${buf}[${o}] = ${x};` : `${buf}[${o}] += ${x};`);
      }
      for (let d = rank; d > u + 1; d--) close(d);
      close(u + 1, `for (let ${v} = ${literal(even)}; ${v} < ${literal(rows)}; ${v}++) {`);
    }
    for (let d = u; d > 0; d--) close(d);
    return scopes[0].lines;
  }

  for (const s of st.stores) {
    if (s.kind === "reduce" && !s.scalar) head.push(`${names.buffer(s.node)}.fill(${s.node.op === "max" ? "-Infinity" : "0"}); // ${names.label(s.node)}`);
  }
  const phases = Math.max(0, ...st.stores.map((s) => s.phase));
  // the phases of one row, or of UNROLL rows (copies 0..3, row i + c each, its own accumulators:
  // every row adds in its own order, so the results are the one-row loop's bit for bit; a float32
  // row sum's rounding no longer stalls the loop, the four chains overlap)
  const rowPhases = (cs: readonly number[]) => {
    for (let p = 0; p <= phases; p++) {
      const mine = st.stores.filter((s) => s.phase === p);
      if (phases > 0) scopes[split].lines.push(`// row phase ${p}`);
      const accs = new Map<Store, string[]>();
      for (const s of mine) {
        if (!s.scalar) continue;
        const as = cs.map(() => ids.next("a"));
        accs.set(s, as);
        for (const a of as) scopes[split].lines.push(`let ${a} = ${s.node.op === "max" ? "-Infinity" : "0"}; // ${names.label(s.node)}`);
      }
      cs.forEach((c, ci) => {
        copy = c;
        for (const s of mine) {
          const v = emit(terms.get(s)!);
          const inner = scopes[rank].lines;
          const buf = names.buffer(s.node);
          const f32 = s.node.dtype === "f32";
          if (s.kind === "map") {
            inner.push(`${buf}[${offset(rowMajor(s.node.shape, rank))}] = ${v};`);
          } else if (s.scalar) {
            const a = accs.get(s)![ci];
            inner.push(s.node.op === "max" ? `if (${v} > ${a} || ${v} !== ${v}) ${a} = ${v};` : f32 ? `${a} = Math.fround(${a} + ${v});` : `${a} += ${v};`);
          } else {
            const o = offset(rowMajor(s.node.shape, rank));
            inner.push(s.node.op === "max" ? `if (${v} > ${buf}[${o}] || ${v} !== ${v}) ${buf}[${o}] = ${v};` : `${buf}[${o}] += ${v};`);
          }
        }
      });
      copy = 0;
      for (let d = rank; d > split; d--) close(d);
      cs.forEach((c, ci) => {
        copy = c;
        for (const [s, as] of accs) scopes[split].lines.push(`${names.buffer(s.node)}[${offset(rowMajor(s.node.shape, rank))}] = ${as[ci]};`);
      });
      copy = 0;
    }
  };
  if (u >= 0) {
    const rows = st.domain[u];
    const even = rows - (rows % UNROLL);
    rowPhases(Array.from({ length: UNROLL }, (_, c) => c));
    close(split, `for (let ${loopVar(u)} = 0; ${loopVar(u)} < ${literal(even)}; ${loopVar(u)} += ${UNROLL}) {`);
    if (rows % UNROLL) {
      rowPhases([0]);
      close(split, `for (let ${loopVar(u)} = ${literal(even)}; ${loopVar(u)} < ${literal(rows)}; ${loopVar(u)}++) {`);
    }
    for (let d = u; d > 0; d--) close(d);
    return scopes[0].lines;
  }
  rowPhases([0]);
  for (let d = split; d > 0; d--) close(d);
  return scopes[0].lines;
}

/**
 * Rows per iteration of an unrolled row loop. Measured on the batchnorm backward (median ms,
 * 100x500 / 1024x1024): 1 row 0.20 / 4.4, 2 rows 0.13 / 3.3-3.8, 4 rows 0.092 / 2.6-3.0, 8 rows
 * 0.10 / 3.8-4.2 (register pressure).
 */
const UNROLL = 4;

/**
 * The row loop of a row-wise stage (the axis just outside its rows) when it runs UNROLL rows per
 * iteration, or -1: it must have UNROLL rows, and no accumulator may gather over both the rows and
 * a row's own axes (the copies would add it in another order than the interpreter).
 */
function rowUnrollAxis(st: LoopStage): number {
  if (!st.rowwise || st.split < 1) return -1;
  const u = st.split - 1;
  if (st.domain[u] < UNROLL) return -1;
  const rank = st.domain.length;
  const reorders = st.stores.some((s) => {
    if (s.kind !== "reduce" || s.scalar) return false;
    const rm = rowMajor(s.node.shape, rank);
    return rm[u] === 0 && st.domain.some((n, d) => d >= st.split && n > 1 && rm[d] === 0);
  });
  return reorders ? -1 : u;
}

/**
 * The axis whose loop runs UNROLL rows per iteration, or -1: in a stage that is not row-wise,
 * the last axis of size > 1 before the innermost axis of size > 1 (if it has UNROLL rows), unless
 * unrolling would change a reduction's order of additions.
 */
function unrollAxis(st: LoopStage): number {
  if (st.rowwise) return -1;
  const big = st.domain.flatMap((n, d) => (n > 1 ? [d] : []));
  if (big.length < 2 || st.domain[big[big.length - 2]] < UNROLL) return -1;
  const [u, inner] = [big[big.length - 2], big[big.length - 1]];
  // a sum over both the row and the innermost axis into one accumulator would add the copies'
  // rows column by column: not the interpreter's row-major order (x[0,0], x[0,1], x[1,0], ...)
  const rank = st.domain.length;
  const reorders = st.stores.some((s) => {
    if (s.kind !== "reduce") return false;
    const rm = rowMajor(s.node.shape, rank);
    return rm[u] === 0 && rm[inner] === 0;
  });
  return reorders ? -1 : u;
}

