// Builders for the indexing primitives (ops/indexing.ts): NumPy-style slicing, concatenation,
// take-along-axis and its scatter. Bad input is an error here, when the graph is built, naming the
// op, the operand and its shape. Unlike NumPy, a slice bound outside [-n, n] is an error, not
// clamped: a silently shorter slice hides shape bugs.

import { GradcError } from "./errors.js";
import { apply, describe, Node, type Operand } from "./node.js";
import { shapeStr } from "./tensor.js";
import { dimStr, symbolOf } from "./symbol-table.js";
import { asNode, broadcastTo, reshape } from "./builder.js";

/** One axis of a slice: an index (the axis is dropped), [start, stop, step] (nulls or missing: defaults), null (all), or "...". */
export type SliceItem = number | null | "..." | readonly (number | null | undefined)[];

const INT = /^-?\d+$/;

/** "1:3, ::-1, 0, ..." as items. */
function parseSpec(spec: string, fail: (msg: string) => never): SliceItem[] {
  if (spec.trim() === "") return [];
  return spec.split(",").map((part) => {
    const p = part.trim();
    if (p === "...") return "...";
    const bound = (s: string): number | null => {
      if (s.trim() === "") return null;
      if (!INT.test(s.trim())) fail(`"${s.trim()}" in "${spec}" is not an integer`);
      return Number(s.trim());
    };
    if (!p.includes(":")) {
      const v = bound(p);
      if (v === null) fail(`an empty item in "${spec}"`);
      return v;
    }
    const parts = p.split(":");
    if (parts.length > 3) fail(`"${p}" has more than two colons`);
    return parts.map(bound);
  });
}

const showItem = (it: SliceItem): string =>
  it === null
    ? ":"
    : it === "..."
      ? "..."
      : typeof it === "number"
        ? String(it)
        : [it[0], it[1], it[2]]
            .map((v) => (v === null || v === undefined ? "" : String(v)))
            .join(":")
            .replace(/:$/, "");

/**
 * NumPy's basic indexing: x[1:3, ::2, 0] is `slice(x, "1:3, ::2, 0")` or
 * `slice(x, [1, 3], [null, null, 2], 0)`. An integer picks one position and drops the axis;
 * negative numbers count from the end; steps may be negative. Records one `slice` primitive
 * (start, stop, step per axis) and, for integer items, a reshape.
 *
 *   x.slice(":, -1")          // the last column
 *   x.slice("::-1")           // rows reversed
 */
export function slice(operand: Operand, ...items: (SliceItem | string)[]): Node {
  const x = asNode("slice", operand);
  const text = () => items.map((it) => (typeof it === "string" && it !== "..." ? it : showItem(it as SliceItem))).join(", ");
  const fail = (msg: string): never => {
    throw new GradcError(`slice: ${msg}\n  at ${describe("slice", [x], { index: `[${text()}]` })}`);
  };
  const list: SliceItem[] = items.length === 1 && typeof items[0] === "string" && items[0] !== "..." ? parseSpec(items[0], fail) : (items as SliceItem[]);
  for (const it of list) {
    const okBound = (v: unknown) => v === null || v === undefined || Number.isInteger(v);
    const ok = it === null || it === "..." || Number.isInteger(it) || (Array.isArray(it) && it.length <= 3 && it.every(okBound));
    if (!ok) fail(`an item must be an integer, [start, stop, step], null or "...", got ${JSON.stringify(it)}`);
  }
  const dots = list.filter((it) => it === "...").length;
  if (dots > 1) fail("more than one ...");
  const named = list.length - dots;
  if (named > x.rank) fail(`${named} items for ${x.rank} axes of ${shapeStr(x.shape)}`);
  const at = dots ? list.indexOf("...") : list.length;
  const full: SliceItem[] = [...list.slice(0, at), ...new Array(x.rank - named).fill(null), ...list.slice(at + dots)];
  const start: number[] = [],
    stop: number[] = [],
    step: number[] = [],
    keep: number[] = [];
  full.forEach((it, d) => {
    const n = x.shape[d];
    if (typeof it === "number") {
      if (it < -n || it >= n) fail(`index ${it} is out of range for axis ${d} of size ${n} (x ${shapeStr(x.shape)})`);
      const i = it < 0 ? it + n : it;
      start.push(i), stop.push(i + 1), step.push(1);
      return;
    }
    keep.push(d);
    const [s0, e0, k0] = it === null ? [] : (it as readonly (number | null | undefined)[]);
    const k = k0 ?? 1;
    if (k === 0) fail(`step 0 on axis ${d}`);
    const bound = (v: number, what: string) => {
      if (v < -n || v > n) fail(`${what} ${v} is out of range for axis ${d} of size ${n} (x ${shapeStr(x.shape)}; gradc does not clamp)`);
      return v < 0 ? v + n : v;
    };
    if (k > 0) {
      const s = s0 === null || s0 === undefined ? 0 : bound(s0, "start");
      const e = e0 === null || e0 === undefined ? n : bound(e0, "stop");
      start.push(s), stop.push(Math.max(s, e)), step.push(k);
    } else {
      // a negative step runs from start down to stop (exclusive); the defaults cover the whole axis
      const s = s0 === null || s0 === undefined ? n - 1 : Math.min(bound(s0, "start"), n - 1);
      const e = e0 === null || e0 === undefined ? -1 : bound(e0, "stop");
      start.push(s), stop.push(Math.min(s, e)), step.push(k);
    }
  });
  start.forEach((s, d) => {
    const bad = checkSymbolicSlice(x.shape[d], d, s, stop[d], step[d]);
    if (bad) fail(bad);
  });
  const identity = start.every((s, d) => s === 0 && step[d] === 1 && stop[d] === x.shape[d]);
  const y = identity ? x : apply("slice", [x], { start, stop, step });
  return keep.length === x.rank
    ? y
    : reshape(
        y,
        keep.map((d) => y.shape[d]),
      );
}

/**
 * A slice of a symbolic axis (size N) must stay a multiple of N, the only sizes symbolic shapes
 * hold: bounds 0, N, 2N, ... with step 1 (concat's gradient takes [0:N] and [N:2N]). Anything else
 * (x[1:], x[-1], x[::-1]) is refused when traced, the bounds shown in N, never the representative:
 * the message, or undefined when the slice is fine.
 */
export function checkSymbolicSlice(n: number, d: number, s: number, e: number, k: number): string | undefined {
  const sym = symbolOf(n);
  if (!sym) return undefined;
  const rep = n / sym.k;
  const whole = (v: number) => v === 0 || symbolOf(v)?.name === sym.name;
  if (k === 1 && whole(s) && whole(e)) return undefined;
  const at = (v: number) => inSymbol(v, rep, sym.name);
  return `axis ${d} has symbolic size ${dimStr(n)}: a slice of it must run over whole multiples of ${sym.name} (bounds 0, ${sym.name}, 2${sym.name}, ..., step 1), got ${at(s)}:${at(e)}:${k}; slice after binding a concrete size, or trace with a concrete size`;
}

/** v as qN + c (N's representative rep), for messages: 1048572 is N-1. */
function inSymbol(v: number, rep: number, name: string): string {
  const q = Math.round(v / rep);
  const c = v - q * rep;
  const head = q === 0 ? "" : q === 1 ? name : `${q}${name}`;
  if (c === 0) return head || "0";
  return `${head}${c > 0 && head ? "+" : ""}${c}`;
}

/** NumPy's concatenate: operands with equal shapes off `axis`, joined along it. */
export function concat(xs: readonly Node[], axis = 0): Node {
  if (!Array.isArray(xs) || xs.length === 0)
    throw new GradcError(`concat: expects a non-empty list of graph nodes, got ${Array.isArray(xs) ? "[]" : typeof xs}`);
  xs.forEach((x, k) => {
    if (!(x instanceof Node)) throw new GradcError(`concat: operand ${k} is not a graph node (got ${typeof x})`);
  });
  const rank = xs[0].rank;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new GradcError(`concat: axis ${axis} is out of range for rank ${rank}\n  at ${describe("concat", xs, { axis })}`);
  const ax = axis < 0 ? axis + rank : axis;
  return xs.length === 1 ? xs[0] : apply("concat", xs, { axis: ax });
}

function alongAxis(op: string, x: Node, indices: Node, axis: number): number {
  if (!(x instanceof Node) || !(indices instanceof Node)) throw new GradcError(`${op}: x and indices must be graph nodes (indices hold integers as floats)`);
  const rank = x.rank;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new GradcError(`${op}: axis ${axis} is out of range for rank ${rank}\n  at ${describe(op, [x, indices], { axis })}`);
  const ax = axis < 0 ? axis + rank : axis;
  // a constant index is known now: check it now
  if (indices.isConst) {
    const v = indices.value,
      n = x.shape[ax];
    if (!Number.isInteger(v) || v < -n || v >= n)
      throw new GradcError(`${op}: index ${v} is out of range for axis ${ax} of size ${n}\n  at ${describe(op, [x, indices], { axis: ax })}`);
  }
  return ax;
}

/**
 * NumPy's take_along_axis: out[..., i, ...] = x[..., indices[..., i, ...], ...] along `axis`.
 * indices has x's rank and shape off the axis; its values are integers in [-n, n) (as floats),
 * checked when the graph runs. The gradient is a scatterAdd.
 *
 *   takeAlongAxis(logp, y.reshape([N, 1]), 1)     // each row's entry at its label
 */
export function takeAlongAxis(x: Node, indices: Node, axis: number): Node {
  const ax = alongAxis("takeAlongAxis", x, indices, axis);
  return apply("takeAlongAxis", [x, indices], { axis: ax });
}

/** x with `updates` added at `indices` along `axis` (repeated indices accumulate): jnp's x.at[...].add. */
export function scatterAdd(x: Node, indices: Node, updates: Operand, axis: number): Node {
  const ax = alongAxis("scatterAdd", x, indices, axis);
  const u = updates instanceof Node ? updates : asNode("scatterAdd", updates);
  return apply("scatterAdd", [x, indices, u.rank === 0 ? broadcastTo(u, indices.shape) : u], { axis: ax });
}

/**
 * NumPy's take (tf.gather, jnp.take): the entries of x at `indices` along `axis`, the indices'
 * shape replacing the axis: take(x [A,n,B], idx [K,L], 1) is [A,K,L,B]. A composite: one
 * takeAlongAxis of x viewed as [A,n,B] with the indices broadcast to [A,K*L,B].
 */
export function take(x: Node, indices: Node, axis = 0): Node {
  const ax = alongAxis("take", x, indices, axis);
  const a = x.shape.slice(0, ax).reduce((m, s) => m * s, 1);
  const after = x.shape.slice(ax + 1);
  const bsize = after.reduce((m, s) => m * s, 1);
  const k = indices.size;
  const idx = broadcastTo(reshape(indices, [1, k, 1]), [a, k, bsize]);
  const picked = apply("takeAlongAxis", [reshape(x, [a, x.shape[ax], bsize]), idx], { axis: 1 });
  return reshape(picked, [...x.shape.slice(0, ax), ...indices.shape, ...after]);
}
