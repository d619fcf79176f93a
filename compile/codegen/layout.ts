// How values are read inside a loop nest. Movement ops (broadcastTo, reshape, transpose) are index
// arithmetic, never copies: a view of a materialized buffer is a set of strides over it, and a
// view of an inlined expression is a mapping of its axes onto the loop's. `Lowering` turns
// "node n at index idx" into a term DAG (loads, constants, ops) that codegen prints.

import type { Node } from "../../core/node.js";
import { strides, type Shape } from "../../core/tensor.js";
import { GradcError } from "../../core/errors.js";

/** What the scheduler and codegen do with a node. */
export type Role = "input" | "const" | "iota" | "map" | "broadcastTo" | "reshape" | "transpose" | "sum" | "max" | "matmul" | "call";

const builtin = new Set(["input", "const", "iota", "broadcastTo", "reshape", "transpose", "sum", "max", "matmul"]);

export function roleOf(n: Node): Role {
  // a batched matmul runs its reference kernel (the matmul stage is 2-D)
  if (n.op === "matmul" && n.rank > 2) return "call";
  if (builtin.has(n.op)) return n.op as Role;
  const def = n.def;
  // elementwise ops fuse through their codegen template; anything else runs its reference kernel
  return def.kind === "elementwise" && typeof def.expr === "function" ? "map" : "call";
}

export const isMovement = (r: Role): boolean => r === "broadcastTo" || r === "reshape" || r === "transpose";
export const isReduce = (r: Role): boolean => r === "sum" || r === "max";

/** A strided view of a materialized buffer. */
export interface View {
  base: Node;
  strides: number[];
}

export type IsBuffer = (n: Node) => boolean;

/** The strided view a node is of a buffer, or null when it is (a view of) an inlined expression. */
export function viewOf(n: Node, isBuffer: IsBuffer): View | null {
  if (isBuffer(n)) return { base: n, strides: strides(n.shape) };
  return viewThrough(n, isBuffer);
}

/** The view a movement node makes of its operand's buffer, even when the node has its own buffer. */
export function viewThrough(n: Node, isBuffer: IsBuffer): View | null {
  const r = roleOf(n);
  if (!isMovement(r)) return null;
  const x = n.inputs[0];
  const v = viewOf(x, isBuffer);
  if (!v) return null;
  if (r === "broadcastTo") return { base: v.base, strides: n.shape.map((s, d) => (x.shape[d] === 1 && s !== 1 ? 0 : v.strides[d])) };
  if (r === "transpose") return { base: v.base, strides: (n.attrs.perm as number[]).map((p) => v.strides[p]) };
  const st = reshapeStrides(x.shape, v.strides, n.shape);
  return st && { base: v.base, strides: st };
}

/**
 * The one stride that steps a view through its batch axes (all but the last two) in row-major
 * order, so the t-th matrix starts at t * stride: 0 for a batch broadcast from one matrix, null
 * when the batch axes do not collapse to one step (a batch of transposed slabs, a partial broadcast).
 */
export function batchStride(v: View, shape: Shape): number | null {
  const axes = shape.slice(0, -2).flatMap((s, d) => (s !== 1 ? [d] : []));
  if (axes.length === 0) return 0;
  const last = v.strides[axes[axes.length - 1]];
  let step = last;
  for (let i = axes.length - 1; i >= 0; i--) {
    if (v.strides[axes[i]] !== step) return null;
    step *= shape[axes[i]];
  }
  return last;
}

export function isContiguous(v: View, shape: Shape): boolean {
  const st = strides(shape);
  return shape.every((s, d) => s === 1 || st[d] === v.strides[d]);
}

/** Strides for reshaping a strided view without a copy (NumPy's attempt_nocopy_reshape), or null. */
export function reshapeStrides(oldShape: Shape, oldStrides: readonly number[], newShape: Shape): number[] | null {
  if (oldShape.includes(0)) return strides(newShape);
  const od: number[] = [],
    os: number[] = [];
  oldShape.forEach((s, i) => {
    if (s !== 1) {
      od.push(s);
      os.push(oldStrides[i]);
    }
  });
  const nd = newShape;
  const ns = new Array<number>(nd.length).fill(0);
  let oi = 0,
    oj = 1,
    ni = 0,
    nj = 1;
  while (ni < nd.length && oi < od.length) {
    let np = nd[ni],
      op = od[oi];
    while (np !== op) {
      if (np < op) np *= nd[nj++];
      else op *= od[oj++];
    }
    for (let ok = oi; ok < oj - 1; ok++) if (os[ok] !== od[ok + 1] * os[ok + 1]) return null;
    ns[nj - 1] = os[oj - 1];
    for (let nk = nj - 1; nk > ni; nk--) ns[nk - 1] = ns[nk] * nd[nk];
    ni = nj++;
    oi = oj++;
  }
  return ns;
}

/**
 * For a reshape that only inserts or removes size-1 axes: for each axis of the input, the output
 * axis that indexes it (-1 for size-1 axes). Null for a reshape that merges or splits axes.
 */
export function squeezeMap(from: Shape, to: Shape): number[] | null {
  const fromAxes = from.flatMap((s, i) => (s !== 1 ? [i] : []));
  const toAxes = to.flatMap((s, i) => (s !== 1 ? [i] : []));
  if (fromAxes.length !== toAxes.length || fromAxes.some((a, k) => from[a] !== to[toAxes[k]])) return null;
  const map = new Array<number>(from.length).fill(-1);
  fromAxes.forEach((a, k) => (map[a] = toAxes[k]));
  return map;
}

/** An index along one axis: coefficients of the loop variables i0, i1, ... */
export type Affine = readonly number[];

export type Term =
  | { kind: "load"; base: Node; offset: Affine }
  | { kind: "const"; node: Node }
  | { kind: "iota"; node: Node; index: Affine }
  | { kind: "op"; node: Node; args: Term[] };

const scale = (a: Affine, k: number): number[] => a.map((c) => c * k);
const plus = (a: Affine, b: Affine): number[] => a.map((c, i) => c + b[i]);

/** Row-major offsets of a value of `shape` indexed by the loop variables (size-1 axes ignored). */
export function rowMajor(shape: readonly number[], rank: number): Affine {
  const st = strides(shape);
  return Array.from({ length: rank }, (_, d) => (shape[d] === 1 ? 0 : st[d]));
}

/** The innermost loop an affine index depends on, plus one (0: loop-invariant). */
export function depthOf(a: Affine): number {
  for (let d = a.length - 1; d >= 0; d--) if (a[d] !== 0) return d + 1;
  return 0;
}

/** Builds terms for one loop nest of `rank` loop variables; equal (node, index) pairs share a term. */
export class Lowering {
  private memo = new Map<string, Term>();
  /** Inlined operation nodes (elementwise and movement) this lowering went through. */
  readonly touched = new Set<Node>();

  readonly rank: number;

  /** A lowering for the loop nest over `domain`; size-1 axes get no loop variable. */
  constructor(
    readonly isBuffer: IsBuffer,
    readonly domain: Shape,
  ) {
    this.rank = domain.length;
  }

  /** The identity index of the loop nest: axis d is loop variable d (0 on size-1 axes). */
  identity(): Affine[] {
    return Array.from({ length: this.rank }, (_, d) => Array.from({ length: this.rank }, (_, k) => (k === d && this.domain[d] !== 1 ? 1 : 0)));
  }

  /** The value of n at idx, reading n's buffer if it has one. */
  access(n: Node, idx: readonly Affine[]): Term {
    if (this.isBuffer(n)) return this.load(n, strides(n.shape), idx);
    return this.compute(n, idx);
  }

  /** The value of n at idx computed from its operands (a store's right-hand side). */
  compute(n: Node, idx: readonly Affine[]): Term {
    const key = `${n.id}:${idx.map((a) => a.join(",")).join("|")}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    const t = this.build(n, idx);
    this.memo.set(key, t);
    return t;
  }

  private load(base: Node, st: readonly number[], idx: readonly Affine[]): Term {
    let off: number[] = new Array<number>(this.rank).fill(0);
    idx.forEach((a, d) => {
      if (st[d] !== 0) off = plus(off, scale(a, st[d]));
    });
    const key = `load${base.id}:${off.join(",")}`;
    let t = this.memo.get(key);
    if (!t) this.memo.set(key, (t = { kind: "load", base, offset: off }));
    return t;
  }

  private build(n: Node, idx: readonly Affine[]): Term {
    const r = roleOf(n);
    if (r === "const") return { kind: "const", node: n };
    if (r === "iota") return { kind: "iota", node: n, index: idx[n.attrs.axis as number] };
    if (r === "map") {
      this.touched.add(n);
      return { kind: "op", node: n, args: n.inputs.map((x) => this.access(x, idx)) };
    }
    if (isMovement(r)) {
      this.touched.add(n);
      const v = viewThrough(n, this.isBuffer);
      if (v) return this.load(v.base, v.strides, idx);
      const x = n.inputs[0];
      const zero = new Array<number>(this.rank).fill(0);
      if (r === "broadcastTo")
        return this.access(
          x,
          idx.map((a, d) => (x.shape[d] === 1 ? zero : a)),
        );
      if (r === "transpose") {
        const perm = n.attrs.perm as number[];
        const xi: Affine[] = new Array(perm.length);
        perm.forEach((p, d) => (xi[p] = idx[d]));
        return this.access(x, xi);
      }
      const map = squeezeMap(x.shape, n.shape);
      if (!map) throw new GradcError(`compile: internal error: reshape of ${n} needs its operand materialized`);
      return this.access(
        x,
        map.map((m) => (m < 0 ? zero : idx[m])),
      );
    }
    throw new GradcError(`compile: internal error: ${n.op} node ${n} is read inside a loop but has no buffer`);
  }
}

/** Every load in a term DAG. */
export function loadsOf(roots: readonly Term[]): { base: Node; offset: Affine }[] {
  const out: { base: Node; offset: Affine }[] = [];
  const seen = new Set<Term>();
  const stack = [...roots];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (t.kind === "load") out.push(t);
    else if (t.kind === "op") stack.push(...t.args);
  }
  return out;
}
