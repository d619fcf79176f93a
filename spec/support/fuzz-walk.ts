// Random graphs that walk the op registry: every registered primitive with a sampler (from
// its record's `sample`, builtins and user ops alike) is drawn with equal weight, so an op added
// later is fuzzed without a new line here. The op's shape rule decides which operands fit: a step
// tries nodes already built (squashed into the range the op's sample draws from, so domains hold)
// and falls back to fresh inputs holding the sample's own values. On top of the walk: general
// transposes, reshapes, broadcasts, reductions without keepdims, iota, empty and size-1 axes,
// matmuls large enough for the WebAssembly kernel, float32 and float64, first- and second-order
// gradients. Seeded: a case is rebuilt from its seed.

import * as b from "../../core/builder.js";
import { GradcError } from "../../core/errors.js";
import { Graph } from "../../core/graph.js";
import { apply, Node } from "../../core/node.js";
import { allOps, type OpDef, type OpSample } from "../../core/registry.js";
import { Tensor, type DType } from "../../core/tensor.js";
import { grad } from "../../compile/autodiff/reverse.js";
import { seeded, type Rand } from "../../compile/check/random-graphs.js";

export interface WalkCase {
  seed: number;
  graph: Graph;
  inputs: Record<string, Tensor>;
  dtype: DType;
  /** Ops applied, in order (the walk's record, for coverage counts). */
  ops: string[];
  /** 0: forward only; 1: gradient; 2: gradient of a gradient. */
  order: 0 | 1 | 2;
}

const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** The ops the walk draws from: every primitive with inputs and a sampler (leaves are made directly). */
export function walkedOps(): { ops: OpDef[]; unsampled: string[] } {
  const ops: OpDef[] = [];
  const unsampled: string[] = [];
  for (const def of allOps()) {
    if (def.kind === "leaf" || def.arity === 0) continue;
    if (def.sample) ops.push(def);
    else unsampled.push(def.name);
  }
  return { ops, unsampled };
}

/** Shapes for fresh inputs: small, with size-1 and empty axes now and then, sometimes large (SIMD-sized loops). */
function freshShape(r: Rand): number[] {
  const u = r();
  if (u < 0.06) return [int(r, 48, 96), int(r, 33, 64)]; // long rows: vector kernels and their tails
  const rank = int(r, 0, 3);
  return Array.from({ length: rank }, () => (r() < 0.04 ? 0 : r() < 0.2 ? 1 : int(r, 2, 5)));
}

interface Fresh {
  node: Node;
  value: Tensor;
}

class Builder {
  readonly inputs: Fresh[] = [];
  readonly pool: Node[] = [];
  readonly ops: string[] = [];
  constructor(
    readonly r: Rand,
    readonly dtype: DType,
  ) {}

  /** A fresh input of `shape` with values drawn from `from` (a sample's data) or uniform in [-2, 2). */
  fresh(shape: readonly number[], dtype: DType, from?: ArrayLike<number>): Node {
    const size = shape.reduce((m, s) => m * s, 1);
    const data = dtype === "f32" ? new Float32Array(size) : new Float64Array(size);
    for (let i = 0; i < size; i++) data[i] = from && from.length ? from[Math.floor(this.r() * from.length)] : -2 + 4 * this.r();
    const node = b.input(`i${this.inputs.length}`, shape, dtype);
    this.inputs.push({ node, value: new Tensor(data, [...shape]) });
    return node;
  }

  /** A node already built, of this dtype (and shape, when given). */
  existing(dtype: DType, shape?: readonly number[]): Node | undefined {
    const fits = this.pool.filter((n) => n.dtype === dtype && (!shape || (n.shape.length === shape.length && n.shape.every((s, i) => s === shape[i]))));
    return fits.length ? pick(this.r, fits) : undefined;
  }

  /** Apply op to operands; null if its shape rule refuses them. */
  tryApply(op: string, operands: Node[], attrs: OpSample["attrs"]): Node | null {
    try {
      return apply(op, operands, attrs);
    } catch (e) {
      if (e instanceof GradcError) return null;
      throw e;
    }
  }

  /** One step of the walk: op on nodes already built where its shape rule accepts them, else on fresh inputs. */
  step(def: OpDef, sample: OpSample): Node {
    const r = this.r;
    const values = sample.inputs.map((t) => ({ t, kind: domainOf(t.data) }));
    // elementwise: one shape for every operand, taken from a node already built
    if (def.kind === "elementwise" && r() < 0.8) {
      const base = this.existing(this.dtype);
      if (base) {
        const operands = values.map(({ t, kind }, k) => {
          const dtype = t.dtype === sample.inputs[0].dtype ? this.dtype : t.dtype;
          if (k === 0 && kind !== "integer") return this.fit(base, kind, t.data);
          const other = kind !== "integer" && r() < 0.5 ? this.existing(dtype, base.shape) : undefined;
          return other ? this.fit(other, kind, t.data) : this.fresh(base.shape, dtype, t.data);
        });
        const out = this.tryApply(def.name, operands, sample.attrs);
        if (out) return out;
      }
    }
    // any op: a node already built where one has exactly the sample's shape and dtype
    const operands = values.map(({ t, kind }) => {
      const dtype = sample.inputs.every((s) => s.dtype === "f64") ? this.dtype : t.dtype;
      const same = kind !== "integer" && r() < 0.6 ? this.existing(dtype, t.shape) : undefined;
      return same ? this.fit(same, kind, t.data) : this.fresh(t.shape, dtype, t.data);
    });
    const out = this.tryApply(def.name, operands, sample.attrs);
    if (out) return out;
    // the sample as drawn: its own shapes and dtypes always fit
    return apply(
      def.name,
      sample.inputs.map((t) => this.fresh(t.shape, t.dtype, t.data)),
      sample.attrs,
    );
  }

  /** A built node made to lie in a sample's range: as is for ordinary values, squashed by tanh for restricted ones. */
  fit(n: Node, kind: Domain, data: ArrayLike<number>): Node {
    if (kind === "free") return n;
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      lo = Math.min(lo, data[i]);
      hi = Math.max(hi, data[i]);
    }
    if (!(hi > lo)) return this.fresh(n.shape, n.dtype, data); // a constant sample: its value
    // lo + (hi - lo) * (tanh(n) + 1) / 2
    return b.add(b.mul(b.add(b.tanh(n), 1), (hi - lo) / 2), lo);
  }

  /** Structural moves the samplers do not reach: general transposes, reshapes, broadcasts, reductions without keepdims. */
  move(x: Node): Node {
    try {
      return this.moveUnchecked(x);
    } catch (e) {
      if (e instanceof GradcError) return x; // a move the shape rules refuse (max over an empty axis)
      throw e;
    }
  }

  private moveUnchecked(x: Node): Node {
    const r = this.r;
    const k = int(r, 0, 5);
    if (k === 0 && x.rank >= 2) {
      const perm = x.shape.map((_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = int(r, 0, i);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      return b.transpose(x, perm);
    }
    if (k === 1) return b.reshape(x, x.size === 0 ? [...x.shape].reverse() : r() < 0.5 ? [x.size] : [1, ...x.shape, 1]);
    if (k === 2 && x.rank >= 1) {
      const axes = x.shape.map((_, i) => i).filter(() => r() < 0.5);
      const op = r() < 0.5 && axes.every((a) => x.shape[a] > 0) ? b.max : b.sum;
      return op(x, axes.length ? axes : [int(r, 0, x.rank - 1)], r() < 0.5);
    }
    if (k === 3) return b.broadcastTo(x, [int(r, 1, 3), ...x.shape]);
    if (k === 4 && x.rank >= 1) return b.mul(x, b.iota(x.shape, int(r, 0, x.rank - 1), x.dtype));
    if (k === 5) return b.stopGradient(b.select(b.less(x, 0.25), x, b.mul(x, -0.5)));
    return x;
  }

  /** A matmul large enough for the WebAssembly kernel (f64, m*n*k >= 65536) or for its edge rows. */
  bigMatmul(): Node {
    const r = this.r;
    const [m, k, n] = [int(r, 60, 90), int(r, 24, 48), int(r, 36, 70)];
    const a = this.existing(this.dtype, [m, k]) ?? this.fresh([m, k], this.dtype);
    const w = this.fresh(r() < 0.5 ? [k, n] : [n, k], this.dtype);
    return b.matmul(r() < 0.3 ? b.transpose(b.transpose(a)) : a, w.shape[0] === k ? w : b.transpose(w));
  }
}

/** Every node `n` depends on, itself included. */
function reach(n: Node): Set<Node> {
  const seen = new Set<Node>([n]);
  const stack = [n];
  while (stack.length) for (const x of stack.pop()!.inputs) if (!seen.has(x)) seen.add(x), stack.push(x);
  return seen;
}

type Domain = "free" | "restricted" | "integer";

/** How a sample's values may be replaced: any values (free), a range to stay in, or exact integers (masks, indices). */
function domainOf(data: ArrayLike<number>): Domain {
  if (data.length === 0) return "free";
  let lo = Infinity,
    hi = -Infinity,
    integers = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    if (!Number.isInteger(v)) integers = false;
  }
  if (integers) return "integer";
  return lo < -0.8 && hi > 0.8 && lo >= -2.5 && hi <= 2.5 ? "free" : "restricted";
}

export interface WalkOptions {
  /** Steps of the walk (default 2..8). */
  steps?: number;
  /** Force a dtype (default: float32 in a third of the cases). */
  dtype?: DType;
  /** Force the gradient order (default: forward 40%, first order 40%, second 20%). */
  order?: 0 | 1 | 2;
}

/** A random graph over the registry, and inputs for it, from a seed. */
export function walkCase(seed: number, opts: WalkOptions = {}): WalkCase {
  const r = seeded(seed);
  const dtype: DType = opts.dtype ?? (r() < 0.33 ? "f32" : "f64");
  const { ops } = walkedOps();
  const w = new Builder(r, dtype);
  for (let i = int(r, 1, 2); i > 0; i--) w.pool.push(w.fresh(freshShape(r), dtype));
  const steps = opts.steps ?? int(r, 2, 8);
  for (let i = 0; i < steps; i++) {
    const u = r();
    let out: Node;
    if (u < 0.08) {
      out = w.bigMatmul();
      w.ops.push("matmul (large)");
    } else if (u < 0.3) {
      out = w.move(pick(r, w.pool));
      w.ops.push(`${out.op} (move)`);
    } else {
      const def = pick(r, ops);
      const sample = def.sample!(r);
      out = w.step(def, sample);
      w.ops.push(def.name);
    }
    w.pool.push(out);
  }
  // outputs: the last node and the others nothing consumed (up to 3), so few steps are dead code
  const consumed = new Set(w.pool.flatMap((n) => [...reach(n)].filter((m) => m !== n)));
  const sinks = w.pool.filter((n, i) => i < w.pool.length - 1 && !n.isInput && !consumed.has(n));
  const outputs: Record<string, Node> = { out: w.pool[w.pool.length - 1] };
  sinks.slice(-3).forEach((n, k) => (outputs[`o${k}`] = n));
  const used = new Set(
    new Graph(
      w.inputs.map((f) => f.node),
      outputs,
    ).nodes(),
  );
  const live = w.inputs.filter((f) => used.has(f.node));
  let graph = new Graph(
    live.map((f) => f.node),
    outputs,
  );
  const inputs: Record<string, Tensor> = Object.fromEntries(live.map((f) => [f.node.name, f.value]));

  const order = opts.order ?? (r() < 0.4 ? 0 : r() < 0.67 ? 1 : 2);
  let reached: 0 | 1 | 2 = 0;
  if (order > 0) {
    const first = gradient(graph, inputs, r);
    if (first) {
      graph = first;
      reached = 1;
      if (order === 2) {
        const second = gradient(graph, inputs, r);
        if (second) {
          graph = second;
          reached = 2;
        }
      }
    }
  }
  return { seed, graph, inputs, dtype, ops: w.ops, order: reached };
}

/**
 * The gradient of sum(output * weights) for a random output, with respect to the inputs that hold
 * non-integer values (masks and indices have no gradient), adding the weights' inputs to `inputs`.
 * Null when an op on the path is not differentiable.
 */
function gradient(g: Graph, inputs: Record<string, Tensor>, r: Rand): Graph | null {
  const name = pick(r, g.outputNames);
  const y = g.output(name);
  const wrt = g.inputs.filter((x) => domainOf(inputs[x.name].data) !== "integer").map((x) => x.name);
  if (wrt.length === 0) return null;
  const wname = `w${Object.keys(inputs).length}`;
  const wt = b.input(wname, y.shape, y.dtype);
  const loss = b.sum(b.mul(y, wt));
  try {
    const scalar = new Graph([...g.inputs, wt], { loss });
    const d = grad(scalar, { of: "loss", wrt });
    const size = y.size;
    const data = y.dtype === "f32" ? new Float32Array(size) : new Float64Array(size);
    for (let i = 0; i < size; i++) data[i] = -1 + 2 * r();
    inputs[wname] = new Tensor(data, [...y.shape]);
    // the cotangent weights are inputs of the gradient graph even where no output uses them
    return new Graph(d.inputs, d.outputs);
  } catch (e) {
    if (e instanceof GradcError && /not differentiable/.test(e.message)) return null;
    throw e;
  }
}
