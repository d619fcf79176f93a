// Cumulative ops along one axis, each with `reverse` (from the end) and `exclusive` (element i
// left out) options, as ONNX's CumSum and jax.lax.cumsum have them:
//   - cumsum is a primitive: linear, its gradient the cumsum running the other way (same
//     exclusivity), its tangent itself; ONNX CumSum.
//   - cumprod, cummax, cummin and logcumsumexp are composites: an associative scan (Hillis and
//     Steele: log2(n) steps of `y = combine(shift(y, s), y)`, s = 1, 2, 4, ...) over primitives, as
//     JAX's associative_scan. Their gradients are what the primitives give: cumprod's is exact
//     where x has zeros (no division by x), cummax and cummin route each output's gradient to the
//     position holding its running extreme (the latest one among ties: maximum's second operand
//     wins a tie and is the later window), logcumsumexp's is a softmax weight, never exp overflow.
//     Each exports to ONNX through its primitives. Products and sums associate in scan order, not
//     left to right: results may differ from a sequential loop in the last bits.
// Exclusive outputs start from the combine's identity: 0, 1, -Infinity (cummax, logcumsumexp),
// +Infinity (cummin).

import * as b from "../core/builder.js";
import { GradcError } from "../core/errors.js";
import { apply, describe, type Node, type Operand } from "../core/node.js";
import type { Attrs, Aval, OpDef, PlannedKernel } from "../core/registry.js";
import { output } from "./kernels.js";
import { int, randomTensor, randShape } from "./samples.js";

export interface CumulativeOptions {
  /** Accumulate from the last element towards the first. */
  reverse?: boolean;
  /** Leave element i out of output i (output 0 is the identity). */
  exclusive?: boolean;
}

function cumAttrs(x: Aval, attrs: Attrs): { axis: number; reverse: boolean; exclusive: boolean } {
  const { axis, reverse, exclusive } = attrs;
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || (axis as number) < 0 || (axis as number) >= rank)
    throw new Error(`axis ${JSON.stringify(axis)} is out of range for rank ${rank}`);
  if (typeof reverse !== "boolean" || typeof exclusive !== "boolean")
    throw new Error(`reverse and exclusive must be true or false, got ${JSON.stringify(reverse)} and ${JSON.stringify(exclusive)}`);
  return { axis: axis as number, reverse, exclusive };
}

export const cumulativeOps: OpDef[] = [
  {
    // attrs: axis (non-negative), reverse, exclusive
    name: "cumsum",
    kind: "other",
    arity: 1,
    tags: ["linear"],
    attrs: { axis: "int", reverse: "boolean", exclusive: "boolean" },
    shape: ([x], attrs) => {
      cumAttrs(x, attrs);
      return { shape: x.shape, dtype: x.dtype };
    },
    impl: ([x], attrs, out) => {
      const r = output(out);
      cumsumKernel(x, attrs)([x.data], r.data);
      return r;
    },
    // compiled code runs the same loop, planned once for the shape (no per-call attribute checks)
    kernel: ([x], attrs) => cumsumKernel(x, attrs),
    // the transpose of a lower-triangular sum is the upper-triangular one: the other direction
    vjp: (g, _x, _out, attrs) => [apply("cumsum", [g], { ...attrs, reverse: !attrs.reverse })],
    jvp: ([t], _x, _out, attrs) => (t ? apply("cumsum", [t], attrs) : null),
    onnx: (e, [x], attrs) =>
      e.node("CumSum", [x, e.node("Reshape", [e.ints([attrs.axis as number]), e.ints([])])], {
        reverse: attrs.reverse ? 1 : 0,
        exclusive: attrs.exclusive ? 1 : 0,
      }),
    // a random axis and direction, inclusive or exclusive
    sample: (rand) => {
      const shape = randShape(rand, 1, 3);
      return { inputs: [randomTensor(rand, shape)], attrs: { axis: int(rand, 0, shape.length - 1), reverse: rand() < 0.5, exclusive: rand() < 0.5 } };
    },
  },
];

/**
 * The running sum as a loop over x viewed as [outer, n, inner]: for each outer block, the inner
 * positions advance together down the axis (unit stride), their partial sums kept in `out`.
 */
function cumsumKernel(x: Aval, attrs: Attrs): PlannedKernel {
  const { axis, reverse, exclusive } = cumAttrs(x, attrs);
  const n = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((m, s) => m * s, 1);
  const outer = x.shape.slice(0, axis).reduce((m, s) => m * s, 1);
  // the row of step t, and the row before it; reverse walks the axis from its end
  const first = reverse ? n - 1 : 0,
    dir = reverse ? -inner : inner;
  return ([xd], rd) => {
    for (let o = 0; o < outer; o++) {
      const block = o * n * inner;
      let at = block + first * inner;
      if (exclusive) for (let k = 0; k < inner; k++) rd[at + k] = 0;
      else for (let k = 0; k < inner; k++) rd[at + k] = xd[at + k];
      for (let t = 1; t < n; t++) {
        const prev = at;
        at += dir;
        const src = exclusive ? prev : at;
        for (let k = 0; k < inner; k++) rd[at + k] = rd[prev + k] + xd[src + k];
      }
    }
  };
}

/** The axis as a non-negative integer, checked with the op's name and the node. */
function axisOf(op: string, x: Node, axis: number): number {
  if (!Number.isInteger(axis) || axis < -x.rank || axis >= x.rank)
    throw new GradcError(`${op}: axis ${axis} is out of range for rank ${x.rank}\n  at ${describe(op, [x], { axis })}`);
  return axis < 0 ? axis + x.rank : axis;
}

function flags(op: string, x: Node, opts: CumulativeOptions): { reverse: boolean; exclusive: boolean } {
  const known = new Set(["reverse", "exclusive"]);
  const bad = Object.keys(opts).filter((k) => !known.has(k));
  if (bad.length) throw new GradcError(`${op}: unknown option(s) ${bad.join(", ")}; options are reverse and exclusive\n  at ${describe(op, [x], {})}`);
  for (const k of known) {
    const v = (opts as Record<string, unknown>)[k];
    if (v !== undefined && typeof v !== "boolean")
      throw new GradcError(`${op}: option ${k} must be true or false, got ${JSON.stringify(v)}\n  at ${describe(op, [x], {})}`);
  }
  return { reverse: opts.reverse ?? false, exclusive: opts.exclusive ?? false };
}

/**
 * Running sum along `axis` (NumPy's cumsum; ONNX's CumSum with its reverse and exclusive options).
 *
 *   cumsum(x, -1)                       // [1, 2, 3] -> [1, 3, 6]
 *   cumsum(x, -1, { reverse: true })    // [1, 2, 3] -> [6, 5, 3]
 *   cumsum(x, -1, { exclusive: true })  // [1, 2, 3] -> [0, 1, 3]
 */
export function cumsum(x: Operand, axis: number, opts: CumulativeOptions = {}): Node {
  const v = b.asNode("cumsum", x);
  return apply("cumsum", [v], { axis: axisOf("cumsum", v, axis), ...flags("cumsum", v, opts) });
}

/** x reversed along an axis: a slice with step -1. */
function flip(x: Node, axis: number): Node {
  const n = x.shape[axis];
  const start = x.shape.map((s, d) => (d === axis ? n - 1 : 0));
  const stop = x.shape.map((s, d) => (d === axis ? -1 : s));
  const step = x.shape.map((_, d) => (d === axis ? -1 : 1));
  return apply("slice", [x], { start, stop, step });
}

/** x moved `s` places along the axis towards its end, the first s places holding `fill`. */
function shift(x: Node, axis: number, s: number, fill: number): Node {
  const n = x.shape[axis];
  const head = b.constant(
    fill,
    x.dtype,
    x.shape.map((d, k) => (k === axis ? s : d)),
  );
  const stop = x.shape.map((d, k) => (k === axis ? n - s : d));
  const kept = apply("slice", [x], { start: x.shape.map(() => 0), stop, step: x.shape.map(() => 1) });
  return apply("concat", [head, kept], { axis });
}

/** An inclusive (or exclusive, reversed) scan of an associative `combine(earlier, later)` with identity `fill`. */
function scan(op: string, x: Operand, axis: number, opts: CumulativeOptions, fill: number, combine: (earlier: Node, later: Node) => Node): Node {
  const v = b.asNode(op, x);
  const ax = axisOf(op, v, axis);
  const { reverse, exclusive } = flags(op, v, opts);
  const n = v.shape[ax];
  if (n === 0) return v;
  let y = reverse ? flip(v, ax) : v;
  if (exclusive) y = shift(y, ax, 1, fill);
  for (let s = 1; s < n; s *= 2) y = combine(shift(y, ax, s, fill), y);
  return reverse ? flip(y, ax) : y;
}

/** Running product along `axis` (NumPy's cumprod); its gradient is exact where x has zeros. */
export const cumprod = (x: Operand, axis: number, opts: CumulativeOptions = {}): Node => scan("cumprod", x, axis, opts, 1, b.mul);

/** Running maximum along `axis` (NumPy's maximum.accumulate); the gradient goes to the latest position holding it. */
export const cummax = (x: Operand, axis: number, opts: CumulativeOptions = {}): Node => scan("cummax", x, axis, opts, -Infinity, b.maximum);

/** Running minimum along `axis`; the gradient goes to the latest position holding it. */
export const cummin = (x: Operand, axis: number, opts: CumulativeOptions = {}): Node => scan("cummin", x, axis, opts, Infinity, b.minimum);

/**
 * log(exp(a) + exp(b)) = hi + log1p(exp(lo - hi)): no overflow, and accurate where one term is
 * tiny. hi = maximum(a, b) gives a tie to b and lo = minimum(b, a) to a, so at a tie each gets half
 * the gradient, as it should. Where both are the same infinity lo - hi is NaN: read as -Infinity,
 * which leaves hi.
 */
export function logaddexp(a: Operand, c: Operand): Node {
  const hi = b.maximum(a, c);
  const d = b.sub(b.minimum(c, a), hi);
  return b.add(hi, b.log1p(b.exp(b.select(b.equal(d, d), d, -Infinity))));
}

/** log(cumsum(exp(x))) along `axis`, computed stably (PyTorch's logcumsumexp). */
export const logcumsumexp = (x: Operand, axis: number, opts: CumulativeOptions = {}): Node => scan("logcumsumexp", x, axis, opts, -Infinity, logaddexp);
