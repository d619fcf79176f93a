// The schedule's stages lowered once, with the decisions every backend reads: a loop stage's term
// DAG per store (built here and nowhere after), the row loop it unrolls and by how much, its size;
// a matmul's operand views and multiply-adds. Buffer planning, the backends' choice and their
// lowering all read these records.

import type { Node } from "../../core/node.js";
import { sizeOf } from "../../core/tensor.js";
import { Lowering, rowMajor, viewOf, type IsBuffer, type Term, type View } from "./layout.js";
import { storeTerm, type CallStage, type LoopStage, type MatmulStage, type Schedule, type Store } from "./schedule.js";

export interface PlannedLoop {
  readonly kind: "loop";
  readonly st: LoopStage;
  /** The lowering the terms were built with (its `touched`: the nodes inlined into them). */
  readonly low: Lowering;
  readonly terms: ReadonlyMap<Store, Term>;
  /** The axis whose loop runs `rows` rows per iteration, or -1 (unrollAxis, rowUnrollAxis). */
  readonly unroll: number;
  readonly rows: number;
  readonly size: number;
}

export interface PlannedMatmul {
  readonly kind: "matmul";
  readonly st: MatmulStage;
  readonly node: Node;
  readonly a: View;
  readonly b: View;
  /** M * K * N. */
  readonly macs: number;
}

export interface PlannedCall {
  readonly kind: "call";
  readonly st: CallStage;
  readonly node: Node;
  /** Each operand as a strided view of its buffer (a batched matmul's may be transposed or broadcast). */
  readonly views: readonly View[];
}

export type PlannedStage = PlannedLoop | PlannedMatmul | PlannedCall;

/**
 * Rows per iteration of an unrolled row loop. Measured on the batchnorm backward (median ms,
 * 100x500 / 1024x1024): 1 row 0.20 / 4.4, 2 rows 0.13 / 3.3-3.8, 4 rows 0.092 / 2.6-3.0, 8 rows
 * 0.10 / 3.8-4.2 (register pressure).
 */
export const UNROLL = 4;

/** Every stage of the schedule lowered, in the schedule's kernels' order. */
export function planStages(sch: Schedule, isBuffer: IsBuffer): PlannedStage[][] {
  return sch.kernels.map((stages) =>
    stages.map((st): PlannedStage => {
      if (st.kind === "call") return { kind: "call", st, node: st.node, views: st.node.inputs.map((x) => viewOf(x, isBuffer)!) };
      if (st.kind === "matmul") {
        const [a, b] = st.node.inputs.map((x) => viewOf(x, isBuffer)!);
        const [m, k] = st.node.inputs[0].shape;
        return { kind: "matmul", st, node: st.node, a, b, macs: m * k * st.node.shape[1] };
      }
      const low = new Lowering(forwarding(st, isBuffer), st.domain);
      const terms = new Map<Store, Term>(st.stores.map((s) => [s, storeTerm(low, s)]));
      const unroll = st.rowwise ? rowUnrollAxis(st) : unrollAxis(st);
      return { kind: "loop", st, low, terms, unroll, rows: unroll >= 0 ? UNROLL : 1, size: sizeOf(st.domain) };
    }),
  );
}

/**
 * A stage that is not row-wise may store a value and read it back at the same index (Adam's new
 * moment, then the parameter's step from it: the scheduler puts both in one pass). Its terms
 * compute such a value where it is read instead of loading it (the stores are written after the
 * values they hold), and the lowering's memo makes that the same term as the store's.
 */
function forwarding(st: LoopStage, isBuffer: IsBuffer): IsBuffer {
  if (st.rowwise) return isBuffer;
  const here = new Set(st.stores.filter((s) => s.kind === "map").map((s) => s.node));
  return here.size === 0 ? isBuffer : (n) => isBuffer(n) && !here.has(n);
}

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
