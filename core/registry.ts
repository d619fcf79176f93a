// The op registry: a plain map from name to a declarative record. Builtins are registered
// by ops/index.ts; user ops through `defineOp` (ops/define.ts).

import type { Data, DType, Shape, Tensor } from "./tensor.js";
import type { Node } from "./node.js";
import { fail } from "./errors.js";

export type AttrValue = number | string | boolean | readonly number[];
export type Attrs = Readonly<Record<string, AttrValue>>;
/**
 * An attribute's type: "int" (an integer), "number" (any number, NaN and ±Infinity included),
 * "string", "boolean", "ints" (a list of integers); a trailing "?" makes it optional.
 */
export type AttrType = "int" | "number" | "string" | "boolean" | "ints";
/** Every attribute an op takes, by name: `apply` and `fromJSON` refuse any other. {} for none. */
export type AttrSchema = Readonly<Record<string, AttrType | `${AttrType}?`>>;
export type Kind = "leaf" | "elementwise" | "reduce" | "movement" | "matmul" | "other";

export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * What an ONNX lowering is handed (compile/export/onnx.ts implements it): it emits ONNX nodes and returns
 * the name of the value that holds the op's result. Numbers in `attrs` are ONNX ints; a float
 * attribute is written { float: x }.
 */
export interface OnnxEmitter {
  /** Emit one ONNX node of the default domain; returns the name of its output. */
  node(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttr>>): string;
  /** Emit one ONNX node with `count` outputs (MaxPool's values and indices); returns their names. */
  multiNode(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, OnnxAttr>>, count: number): string[];
  /** An int64 constant (axes, shapes, indices). */
  ints(values: readonly number[]): string;
  /** A scalar constant of a dtype. */
  scalar(value: number, dtype: DType): string;
  /** A shape as an int64 tensor (a symbolic size is read from the inputs at run time). */
  shape(shape: Shape): string;
  /** ONNX's element type of a dtype (FLOAT = 1, DOUBLE = 11), e.g. for Cast's `to`. */
  type(dtype: DType): number;
}
export type OnnxAttr = number | string | readonly number[] | { float: number };
/** Lower one node to ONNX: operand value names in (their avals last), the result's value name out. */
export type OnnxLowering = (e: OnnxEmitter, inputs: readonly string[], attrs: Attrs, out: Aval, operands: readonly Aval[]) => string;

/** A matrix product C[m,n] = A[m,k] @ B[k,n] for fixed sizes, A and B strided views (in elements), C contiguous. */
export interface GemmSpec {
  readonly dtype: DType;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly sa: readonly [number, number];
  readonly sb: readonly [number, number];
}
/** The compiler's matrix product, planned once: the returned function overwrites c with a @ b (arrays may be subarrays). */
export type Gemm = (spec: GemmSpec) => (a: Data, b: Data, c: Data) => void;
/** A kernel planned for fixed operand shapes: reads the operands' arrays, overwrites `out` (no allocation per call). */
export type PlannedKernel = (inputs: readonly Data[], out: Data) => void;

/**
 * What a SIMD lowering is handed (compile/codegen/wasm/ implements it): values are vectors of
 * lanes (f64x2 or f32x4), and the lowering builds the op's result from its operands with these.
 */
export interface LaneEmitter<V> {
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  /** Math.min / Math.max lane by lane (NaN if either is NaN, -0 below +0). */
  min(a: V, b: V): V;
  max(a: V, b: V): V;
  neg(a: V): V;
  sqrt(a: V): V;
  abs(a: V): V;
  /** The nearest integer, halves to even. */
  nearest(a: V): V;
  /** Every lane set to v. */
  constant(v: number): V;
  /** Comparisons: 1 where true, 0 where false. */
  less(a: V, b: V): V;
  lessEqual(a: V, b: V): V;
  equal(a: V, b: V): V;
  notEqual(a: V, b: V): V;
  /** c !== 0 ? a : d, lane by lane (NaN picks a, -0 picks d). */
  select(c: V, a: V, d: V): V;
}
/** An elementwise op in SIMD lanes: its result from its operands. */
export type LaneLowering = <V>(e: LaneEmitter<V>, args: readonly V[]) => V;

export interface OpDef {
  readonly name: string;
  readonly kind: Kind;
  /** Number of inputs, or -1 for any. */
  readonly arity: number;
  /** Tags the optimizer and scheduler read: commutative, linear, ... */
  readonly tags?: readonly string[];
  /** The attributes the op takes and their types ({} for none): an unknown or mistyped one is an error at `apply`. */
  readonly attrs: AttrSchema;
  /** Output shape and dtype from input avals; throws an Error whose message says what is wrong. */
  shape(inputs: readonly Aval[], attrs: Attrs): Aval;
  /** The reference kernel, used by `evaluate`. */
  impl(inputs: readonly Tensor[], attrs: Attrs, out: Aval): Tensor;
  /**
   * Vector-Jacobian product written with builder ops: the cotangent of each input, or null when
   * it has none (a comparison, an integer index). Absent: the op is not differentiable.
   */
  vjp?(g: Node, inputs: readonly Node[], out: Node, attrs: Attrs): readonly (Node | null)[];
  /**
   * Jacobian-vector product written with builder ops: the tangent of the output given a tangent
   * (or null: zero) per input. Optional: forward mode derives it from `vjp` by transposition.
   */
  jvp?(tangents: readonly (Node | null)[], inputs: readonly Node[], out: Node, attrs: Attrs): Node | null;
  /** For elementwise ops: the scalar function, the reference for codegen and constant folding. */
  scalar?(...xs: number[]): number;
  /** For elementwise ops: a JavaScript expression over operand expressions (codegen template). */
  expr?(args: readonly string[], attrs: Attrs): string;
  /**
   * For elementwise ops: how to compute it in SIMD lanes, per lane type it is exact in (its result
   * rounded as `evaluate` rounds `scalar`'s; checked on special values before first use). An op
   * without one keeps its stages in JavaScript.
   */
  simd?: { readonly f64?: LaneLowering; readonly f32?: LaneLowering };
  /**
   * Optional fast kernel for compiled code: planned once per node from the operands' avals (the
   * shape rule has accepted them), handed the compiler's matrix product. It must compute what
   * `impl` computes (to rounding: summation order may differ). Without it compiled code calls `impl`.
   */
  kernel?(inputs: readonly Aval[], attrs: Attrs, out: Aval, gemm: Gemm): PlannedKernel;
  /** How to write the op as ONNX nodes (compile/export/onnx.ts calls it; builtins and user ops alike). */
  onnx?: OnnxLowering;
  /** Where the record was defined (for messages). */
  readonly source?: string;
  /**
   * Valid random inputs for the op's property tests (spec/ops.test.ts, the fuzzer and checkOp walk
   * the registry; ops/samples.ts has the common samplers).
   */
  sample?(rand: () => number): OpSample;
}

/** Random inputs for an op, and how to check its gradient at them. */
export interface OpSample {
  inputs: Tensor[];
  attrs: Attrs;
  /** Inputs whose gradient is checked by finite differences (default: every f64 input); the others must get a zero gradient. */
  wrt?: readonly number[];
  /** Finite-difference step (default 1e-5) and tolerated relative error (default 1e-6). */
  h?: number;
  tol?: number;
}

const registry = new Map<string, OpDef>();

const ATTR_TYPE = /^(int|number|string|boolean|ints)\??$/;

/** What is wrong with an attribute schema, or undefined. */
export function schemaProblem(schema: unknown): string | undefined {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return `no attribute schema: give attrs: {} for an op without attributes, or e.g. attrs: { axis: "int", shape: "ints?" }`;
  }
  for (const [k, t] of Object.entries(schema)) {
    if (typeof t !== "string" || !ATTR_TYPE.test(t))
      return `attribute ${JSON.stringify(k)} has type ${JSON.stringify(t)}; types are int, number, string, boolean, ints (optional with a trailing ?)`;
  }
  return undefined;
}

export function register(def: OpDef): OpDef {
  if (registry.has(def.name)) fail(`register: an op named "${def.name}" is already registered`);
  const problem = schemaProblem((def as { attrs?: unknown }).attrs);
  if (problem) fail(`register: op "${def.name}": ${problem}`);
  registry.set(def.name, Object.freeze(def));
  return def;
}

export function unregister(name: string): boolean {
  return registry.delete(name);
}

export function lookup(name: string): OpDef {
  const def = registry.get(name);
  if (!def) {
    if (registry.size === 0) fail(`unknown op "${name}": no ops are registered; import "gradc" (or ops/index.js) once before building graphs`);
    fail(`unknown op "${name}": registered ops are ${[...registry.keys()].join(", ")}`);
  }
  return def;
}

export function hasOp(name: string): boolean {
  return registry.has(name);
}

export function allOps(): OpDef[] {
  return [...registry.values()];
}

const isType: Record<AttrType, (v: unknown) => boolean> = {
  int: (v) => Number.isInteger(v),
  number: (v) => typeof v === "number",
  string: (v) => typeof v === "string",
  boolean: (v) => typeof v === "boolean",
  ints: (v) => Array.isArray(v) && v.every((d) => Number.isInteger(d)),
};

/** What is wrong with `attrs` under the op's schema (unknown, mistyped or missing attribute), or undefined. */
export function attrsProblem(def: OpDef, attrs: unknown): string | undefined {
  if (typeof attrs !== "object" || attrs === null || Array.isArray(attrs))
    return `attributes must be a record, got ${attrs === null ? "null" : Array.isArray(attrs) ? "an array" : typeof attrs}`;
  const schema = def.attrs;
  const takes = () =>
    Object.keys(schema).length
      ? `${def.name} takes ${Object.entries(schema)
          .map(([k, t]) => `${k} (${t})`)
          .join(", ")}`
      : `${def.name} takes no attributes`;
  const unknown = Object.keys(attrs).filter((k) => !Object.hasOwn(schema, k));
  if (unknown.length && Object.keys(schema).length === 0) {
    const hint = def.kind === "elementwise" ? "; pass a parameter as an operand" : "";
    return `${def.name} takes no attributes (got ${unknown.map((k) => JSON.stringify(k)).join(", ")})${hint}`;
  }
  if (unknown.length) return `unknown attribute ${JSON.stringify(unknown[0])}: ${takes()}`;
  for (const [k, v] of Object.entries(attrs)) {
    const t = schema[k].replace("?", "") as AttrType;
    if (!isType[t](v))
      return `attribute ${k} must be ${t === "ints" ? "a list of integers" : t === "int" ? "an integer" : `a ${t}`}, got ${typeof v === "number" ? String(v) : (JSON.stringify(v) ?? typeof v)}`;
  }
  for (const [k, t] of Object.entries(schema)) {
    if (!t.endsWith("?") && !Object.hasOwn(attrs, k)) return `missing attribute ${k} (${t}): ${takes()}`;
  }
  return undefined;
}
