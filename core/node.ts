// The graph IR: one immutable, hash-consed node type. Building a structurally equal node returns
// the same object, so common-subexpression elimination is free and node identity is equality.

import type { DType, Shape } from "./tensor.js";
import { MAX_RANK, shapeStr, sizeOf } from "./tensor.js";
import { attrsProblem, lookup, type AttrValue, type Attrs, type Aval, type OpDef } from "./registry.js";
import { GradcError } from "./errors.js";
import { dimStr } from "./symbol-table.js";
import * as b from "./builder.js";

let nextId = 0;
/** The id the next new node gets: a node with an id at least this was created after the call. */
export const nextNodeId = (): number => nextId;

// The hash-consing table, in two tiers. WeakRef cannot be the hot path: creating or dereferencing
// one keeps its target alive until the current synchronous job ends, so a loop that compiles
// thousands of graphs without yielding would hold every node (and every buffer cached on one).
// - `recent`: strong, least recently used first, at most RECENT_CAP entries; every lookup and
//   insertion during a job goes here.
// - `settled`: weak. When a job ends (a microtask queued by its first `apply`), recent entries move
//   here; WeakRefs made in that microtask are released with the job, so a node lives only while
//   something else holds it.
// A node evicted from `recent` in the middle of a job that also created it is forgotten: building
// the same structure again in that job gives a new, equal node (no sharing, same values). That
// needs more than RECENT_CAP newer nodes between the two, far beyond one optimize of a large graph.
export const RECENT_CAP = 50_000;
const recent = new Map<string, Node>();
const settled = new Map<string, WeakRef<Node>>();
const registered = new WeakSet<Node>();
const reaper = new FinalizationRegistry<string>((key) => {
  const r = settled.get(key);
  if (r && !r.deref()) settled.delete(key);
});
let settleQueued = false;

function settle(): void {
  settleQueued = false;
  for (const [key, node] of recent) {
    settled.set(key, new WeakRef(node));
    if (!registered.has(node)) {
      registered.add(node);
      reaper.register(node, key);
    }
  }
  recent.clear();
}

function remember(key: string, node: Node): void {
  recent.delete(key);
  recent.set(key, node);
  if (recent.size > RECENT_CAP) recent.delete(recent.keys().next().value as string);
  if (!settleQueued) {
    settleQueued = true;
    queueMicrotask(settle);
  }
}

/** Sizes of the hash-consing table's tiers (for memory tests). */
export const internStats = (): { recent: number; settled: number } => ({ recent: recent.size, settled: settled.size });
/** Debug names for values (xhat, invstd): a side table, so names never split hash-consing. */
const names = new WeakMap<Node, string>();
/** Name scopes ("layer 3/batchnorm"): a side table too. A node keeps the scope it was first built in. */
const scopes = new WeakMap<Node, string>();
let currentScope = "";

/**
 * Record the nodes `fn` builds under a name scope (nested scopes join with "/"), for the viewer:
 *
 *   const y = scope("layer 3", () => relu(affine(x, w, b)));
 */
export function scope<T>(name: string, fn: () => T): T {
  return inScope(currentScope ? `${currentScope}/${name}` : name, fn);
}

/** Run `fn` with the scope path set to `path` exactly (autodiff builds a node's gradient in the node's scope). */
export function inScope<T>(path: string, fn: () => T): T {
  const outer = currentScope;
  currentScope = path;
  try {
    return fn();
  } finally {
    currentScope = outer;
  }
}

/** The scope path a node was first built in, or "". */
export const scopeOf = (n: Node): string => scopes.get(n) ?? "";

/** A rebuilt node (same op, new inputs) keeps the scope of the one it replaces. */
export function inheritScope(from: Node, to: Node): void {
  const s = scopes.get(from);
  if (s && !scopes.has(to)) scopes.set(to, s);
}

export class Node implements Aval {
  readonly id = nextId++;
  constructor(
    readonly op: string,
    readonly inputs: readonly Node[],
    readonly attrs: Attrs,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly key: string,
  ) {}

  get def(): OpDef {
    return lookup(this.op);
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  /** The value's debug name, if a composite gave it one. */
  get label(): string | undefined {
    return names.get(this);
  }
  /** Give this value a debug name (shown by the printer and used to name residuals). */
  named(name: string): this {
    names.set(this, name);
    return this;
  }
  get isInput(): boolean {
    return this.op === "input";
  }
  get isConst(): boolean {
    return this.op === "const";
  }
  /** The scalar value of a constant node. */
  get value(): number {
    return this.attrs.value as number;
  }
  get name(): string {
    return this.attrs.name as string;
  }

  // The builder vocabulary as methods, NumPy style: x.sub(x.mean(0)).square()
  add(y: Operand): Node {
    return b.add(this, y);
  }
  sub(y: Operand): Node {
    return b.sub(this, y);
  }
  mul(y: Operand): Node {
    return b.mul(this, y);
  }
  div(y: Operand): Node {
    return b.div(this, y);
  }
  maximum(y: Operand): Node {
    return b.maximum(this, y);
  }
  minimum(y: Operand): Node {
    return b.minimum(this, y);
  }
  pow(y: Operand): Node {
    return b.pow(this, y);
  }
  less(y: Operand): Node {
    return b.less(this, y);
  }
  lessEqual(y: Operand): Node {
    return b.lessEqual(this, y);
  }
  greater(y: Operand): Node {
    return b.greater(this, y);
  }
  greaterEqual(y: Operand): Node {
    return b.greaterEqual(this, y);
  }
  equal(y: Operand): Node {
    return b.equal(this, y);
  }
  notEqual(y: Operand): Node {
    return b.notEqual(this, y);
  }
  neg(): Node {
    return b.neg(this);
  }
  exp(): Node {
    return b.exp(this);
  }
  log(): Node {
    return b.log(this);
  }
  sqrt(): Node {
    return b.sqrt(this);
  }
  rsqrt(): Node {
    return b.rsqrt(this);
  }
  square(): Node {
    return b.square(this);
  }
  recip(): Node {
    return b.recip(this);
  }
  tanh(): Node {
    return b.tanh(this);
  }
  abs(): Node {
    return b.abs(this);
  }
  sign(): Node {
    return b.sign(this);
  }
  sigmoid(): Node {
    return b.sigmoid(this);
  }
  log1p(): Node {
    return b.log1p(this);
  }
  expm1(): Node {
    return b.expm1(this);
  }
  clip(lo?: Operand | null, hi?: Operand | null): Node {
    return b.clip(this, lo, hi);
  }
  relu(): Node {
    return b.maximum(this, 0);
  }
  sum(axes?: number | readonly number[], keepdims = false): Node {
    return b.sum(this, axes, keepdims);
  }
  max(axes?: number | readonly number[], keepdims = false): Node {
    return b.max(this, axes, keepdims);
  }
  mean(axes?: number | readonly number[], keepdims = false): Node {
    return b.mean(this, axes, keepdims);
  }
  reshape(shape: Shape): Node {
    return b.reshape(this, shape);
  }
  transpose(perm?: readonly number[]): Node {
    return b.transpose(this, perm);
  }
  get T(): Node {
    return b.transpose(this);
  }
  broadcastTo(shape: Shape): Node {
    return b.broadcastTo(this, shape);
  }
  /** NumPy's basic indexing: x.slice("1:3, ::2") or x.slice([1, 3], [null, null, 2]). */
  slice(...items: (b.SliceItem | string)[]): Node {
    return b.slice(this, ...items);
  }
  takeAlongAxis(indices: Node, axis: number): Node {
    return b.takeAlongAxis(this, indices, axis);
  }
  matmul(y: Node, transposeA = false, transposeB = false): Node {
    return b.matmul(this, y, transposeA, transposeB);
  }
  /** The last two axes swapped (NumPy's `x.mT`). */
  get mT(): Node {
    return b.matrixTranspose(this);
  }
  cast(dtype: DType): Node {
    return b.cast(this, dtype);
  }

  toString(): string {
    return `${ref(this)}: ${this.dtype}${shapeStr(this.shape)}`;
  }
}

export type Operand = Node | number;

/** How error messages and the printer refer to a node outside a numbered graph. */
export function ref(n: Node): string {
  if (n.isInput) return `%${n.name}`;
  if (n.isConst) return formatNumber(n.value);
  return `%n${n.id}`;
}

export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  return Object.is(v, -0) ? "-0" : String(v);
}

/** One-line description of a node with its operands, for error messages. */
export function describe(op: string, inputs: readonly Node[], attrs: Attrs): string {
  const a = formatAttrs(attrs);
  const operands = inputs.map((x) => `${ref(x)}: ${x.dtype}${shapeStr(x.shape)}`).join(", ");
  return `${op}${a} (${operands})`;
}

export function formatAttrs(attrs: Attrs): string {
  const keys = Object.keys(attrs);
  if (keys.length === 0) return "";
  return `[${keys.map((k) => `${k}=${formatAttr(attrs[k])}`).join(", ")}]`;
}

function formatAttr(v: AttrValue): string {
  if (Array.isArray(v)) return `[${v.map(dimStr).join(",")}]`;
  if (typeof v === "string") return JSON.stringify(v);
  return typeof v === "number" ? formatNumber(v) : String(v);
}

/**
 * A node's identity as one JSON text: op, input ids, attributes (sorted by name), dtype and shape.
 * JSON escapes every name and string, so two different nodes never share a key whatever their
 * attribute names hold; numbers are written by formatNumber under a tag (JSON would merge NaN,
 * ±Infinity and null, and -0 with 0), strings and booleans as themselves.
 */
export function nodeKey(op: string, inputs: readonly Node[], attrs: Attrs, aval: Aval): string {
  const num = (v: number) => ["n", formatNumber(v)];
  const value = (v: AttrValue) => (typeof v === "number" ? num(v) : Array.isArray(v) ? ["a", ...v.map(num)] : v);
  const entries = Object.keys(attrs)
    .sort()
    .map((k) => [k, value(attrs[k])]);
  return JSON.stringify([op, inputs.map((x) => x.id), entries, aval.dtype, aval.shape.map(String)]);
}

/**
 * Record a node: check its inputs with the op's shape rule, then return the existing node with
 * the same op, inputs and attributes, or a new one.
 */
export function apply(op: string, inputs: readonly Node[], attrs: Attrs = {}): Node {
  const def = lookup(op);
  if (def.arity >= 0 && inputs.length !== def.arity) {
    throw new GradcError(`${op}: expects ${def.arity} input(s), got ${inputs.length}\n  at ${describe(op, inputs, attrs)}`);
  }
  for (const x of inputs) {
    if (!(x instanceof Node)) throw new GradcError(`${op}: an input is not a graph node (${String(x)})\n  at ${op}`);
  }
  const problem = attrsProblem(def, attrs);
  if (problem) throw new GradcError(`${op}: ${problem}\n  at ${describe(op, inputs, typeof attrs === "object" && attrs !== null ? attrs : {})}`);
  let aval: Aval;
  try {
    aval = def.shape(inputs, attrs);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new GradcError(`${op}: ${msg}\n  at ${describe(op, inputs, attrs)}`);
  }
  if (aval.shape.length > MAX_RANK)
    throw new GradcError(`${op}: the result would have rank ${aval.shape.length}: gradc takes at most ${MAX_RANK} axes\n  at ${describe(op, inputs, attrs)}`);
  const frozen = Object.freeze({ ...attrs }) as Attrs;
  const key = nodeKey(op, inputs, frozen, aval);
  const hit = recent.get(key) ?? settled.get(key)?.deref();
  if (hit) {
    remember(key, hit);
    return hit;
  }
  const node = new Node(op, Object.freeze([...inputs]), frozen, Object.freeze([...aval.shape]), aval.dtype, key);
  remember(key, node);
  if (currentScope) scopes.set(node, currentScope);
  return node;
}
