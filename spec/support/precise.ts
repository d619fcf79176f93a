// A reference interpreter in double-double arithmetic (about 32 significant digits) for measuring
// how accurate a graph's float64 and float32 evaluations are, as Herbie measures bits of error
// against a high-precision evaluation. Arithmetic (add, sub, neg, mul, div, recip, square, sqrt,
// rsqrt) and sums are carried in double-double; movement ops move both halves exactly; any other
// op (exp, tanh, max, select, ...) is evaluated in float64 on the leading half, so graphs built
// from the arithmetic ops (the normalizations and their gradients) get a true high-precision
// reference and others a float64 one.

import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { Tensor } from "../../core/tensor.js";

interface DD {
  hi: Float64Array;
  lo: Float64Array;
}

const twoSum = (a: number, b: number): [number, number] => {
  const s = a + b,
    bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
};
const split = (a: number): [number, number] => {
  if (Math.abs(a) > 2 ** 996) {
    // 134217729 * a would overflow: split a scaled copy (exact: powers of two)
    const [h, l] = split(a * 2 ** -28);
    return [h * 2 ** 28, l * 2 ** 28];
  }
  const c = 134217729 * a,
    h = c - (c - a);
  return [h, a - h];
};
const twoProd = (a: number, b: number): [number, number] => {
  const p = a * b;
  if (!Number.isFinite(p)) return [p, 0];
  const [ah, al] = split(a),
    [bh, bl] = split(b);
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
};
function add(ah: number, al: number, bh: number, bl: number): [number, number] {
  const [s, e] = twoSum(ah, bh);
  if (!Number.isFinite(s)) return [s, 0];
  const [h, l] = twoSum(s, e + al + bl);
  return [h, l];
}
function mul(ah: number, al: number, bh: number, bl: number): [number, number] {
  const [p, e] = twoProd(ah, bh);
  if (!Number.isFinite(p)) return [p, 0];
  return twoSum(p, e + ah * bl + al * bh);
}
function div(ah: number, al: number, bh: number, bl: number): [number, number] {
  const q = ah / bh;
  if (!Number.isFinite(q) || bh === 0) return [q, 0];
  const [ph, pl] = mul(q, 0, bh, bl);
  const [rh, rl] = add(ah, al, -ph, -pl);
  return twoSum(q, (rh + rl) / bh);
}
function sqrt(ah: number, al: number): [number, number] {
  if (ah <= 0) return [Math.sqrt(ah), 0];
  const s = Math.sqrt(ah);
  const [ph, pl] = twoProd(s, s);
  const [rh, rl] = add(ah, al, -ph, -pl);
  return twoSum(s, (rh + rl) / (2 * s));
}

const unary: Record<string, (h: number, l: number) => [number, number]> = {
  neg: (h, l) => [-h, -l],
  square: (h, l) => mul(h, l, h, l),
  sqrt,
  recip: (h, l) => div(1, 0, h, l),
  rsqrt: (h, l) => {
    const [sh, sl] = sqrt(h, l);
    return div(1, 0, sh, sl);
  },
};
const binary: Record<string, (ah: number, al: number, bh: number, bl: number) => [number, number]> = {
  add,
  sub: (ah, al, bh, bl) => add(ah, al, -bh, -bl),
  mul,
  div,
};

/** Every output of `g` on `inputs`, in double-double, rounded to float64 at the end. */
export function evaluatePrecise(g: Graph, inputs: Readonly<Record<string, Tensor>>): Record<string, Float64Array> {
  const values = new Map<Node, DD>();
  for (const n of g.nodes())
    values.set(
      n,
      node(
        n,
        n.inputs.map((x) => values.get(x)!),
        inputs,
      ),
    );
  return Object.fromEntries(Object.entries(g.outputs).map(([k, n]) => [k, Float64Array.from(values.get(n)!.hi)]));
}

function node(n: Node, ins: DD[], inputs: Readonly<Record<string, Tensor>>): DD {
  const size = n.size;
  const hi = new Float64Array(size),
    lo = new Float64Array(size);
  if (n.isInput) {
    hi.set(inputs[n.name].data);
    return { hi, lo };
  }
  if (n.isConst) return { hi: hi.fill(n.value), lo };
  const u = unary[n.op],
    bin = binary[n.op];
  if (u) {
    for (let i = 0; i < size; i++) [hi[i], lo[i]] = u(ins[0].hi[i], ins[0].lo[i]);
    return { hi, lo };
  }
  if (bin) {
    const [a, c] = ins;
    for (let i = 0; i < size; i++) [hi[i], lo[i]] = bin(a.hi[i], a.lo[i], c.hi[i], c.lo[i]);
    return { hi, lo };
  }
  if (n.op === "sum") return sum(n, ins[0]);
  const impl = (data: Float64Array[]) =>
    n.def.impl!(
      data.map((d, i) => new Tensor(d, n.inputs[i].shape)),
      n.attrs,
      { shape: n.shape, dtype: "f64" },
    ).data;
  if (n.def.kind === "movement") return { hi: Float64Array.from(impl([ins[0].hi])), lo: Float64Array.from(impl([ins[0].lo])) };
  // other ops: float64 on the leading half (see the header)
  return { hi: Float64Array.from(impl(ins.map((x) => x.hi))), lo };
}

function sum(n: Node, x: DD): DD {
  const axes = new Set(n.attrs.axes as number[]);
  const shape = n.inputs[0].shape;
  const kept = shape.map((s, i) => (axes.has(i) ? 1 : s));
  const strides = kept.map((_, i) => kept.slice(i + 1).reduce((m, s) => m * s, 1));
  const hi = new Float64Array(n.size),
    lo = new Float64Array(n.size);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < x.hi.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) if (!axes.has(d)) o += idx[d] * strides[d];
    [hi[o], lo[o]] = add(hi[o], lo[o], x.hi[i], x.lo[i]);
    for (let d = shape.length - 1; d >= 0 && ++idx[d] === shape[d]; d--) idx[d] = 0;
  }
  return { hi, lo };
}

/** Normwise relative error of `got` against the reference `want`: max |got - want| / max |want|. */
export function normwiseError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(got[i]) !== Number.isNaN(want[i]) || (!Number.isFinite(got[i]) && got[i] !== want[i])) return Infinity;
    if (Number.isFinite(want[i])) {
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
  }
  return scale === 0 ? diff : diff / scale;
}
