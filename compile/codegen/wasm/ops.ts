// How each elementwise op lowers to WebAssembly SIMD, per lane type: a table, so an op added to
// ops/ without an entry here simply keeps its stage in JavaScript (the stage falls back whole).
//
// An entry must compute exactly what the op's `scalar` computes, rounded as `evaluate` rounds it:
// the interpreter computes each op in float64 and rounds the result to float32 for f32 tensors.
// For add, sub, mul, div and sqrt of float32 operands that double rounding equals the single
// float32 rounding of f32x4 (float64 carries more than 2 * 24 + 2 bits), so those lower to f32x4
// directly; an op whose float64 formula rounds twice in float32 (rsqrt = 1 / sqrt(x)) has no
// f32 entry. exp, log and tanh have no WebAssembly instruction: their stages stay in JavaScript
// (results bit for bit, not within ulps). Comparisons give masks; `and` with 1.0 makes them 1 or 0.

import type { OpDef } from "../../../core/registry.js";
import { ADD, BRIF, END, GET, I32, I32T, LOOP, LTS, moduleBytes, s32, SET, simd, TEE, u32, V, V128T, VOID } from "./emit.js";

/** One lane type's opcodes. */
export interface Lanes {
  dtype: "f64" | "f32";
  /** bytes per element, lanes per vector */
  es: number;
  lanes: number;
  add: number; sub: number; mul: number; div: number; neg: number; sqrt: number; min: number; max: number; abs: number;
  eq: number; ne: number; lt: number; gt: number; le: number;
  splat: number; loadSplat: number; extract: number; store: number;
  /** `v128.const` of every lane set to v */
  constant(v: number): number[];
}

const constant = (dtype: "f64" | "f32") => (v: number): number[] => {
  const lanes = dtype === "f32" ? new Float32Array(4).fill(v) : new Float64Array(2).fill(v);
  return simd(V.const, ...new Uint8Array(lanes.buffer));
};

export const F64X2: Lanes = {
  dtype: "f64", es: 8, lanes: 2,
  add: V.f64x2Add, sub: V.f64x2Sub, mul: V.f64x2Mul, div: V.f64x2Div, neg: V.f64x2Neg, sqrt: V.f64x2Sqrt, min: V.f64x2Min, max: V.f64x2Max, abs: 0xec,
  eq: V.f64x2Eq, ne: V.f64x2Ne, lt: V.f64x2Lt, gt: V.f64x2Gt, le: 0x4b,
  splat: V.f64x2Splat, loadSplat: V.load64Splat, extract: V.f64x2Extract, store: 0x39,
  constant: constant("f64"),
};

export const F32X4: Lanes = {
  dtype: "f32", es: 4, lanes: 4,
  add: V.f32x4Add, sub: V.f32x4Sub, mul: V.f32x4Mul, div: V.f32x4Div, neg: V.f32x4Neg, sqrt: V.f32x4Sqrt, min: V.f32x4Min, max: V.f32x4Max, abs: 0xe0,
  eq: V.f32x4Eq, ne: V.f32x4Ne, lt: V.f32x4Lt, gt: V.f32x4Gt, le: 0x45,
  splat: V.f32x4Splat, loadSplat: V.load32Splat, extract: V.f32x4Extract, store: 0x38,
  constant: constant("f32"),
};

/** Operands are code that pushes one v128 each (a `local.get`: cheap to repeat). */
export type Lowering = (args: readonly number[][], t: Lanes) => number[];

const binary = (op: (t: Lanes) => number): Lowering => ([a, c], t) => [...a, ...c, ...simd(op(t))];
const unary = (op: (t: Lanes) => number): Lowering => ([a], t) => [...a, ...simd(op(t))];
/** A comparison's mask as 1.0 / 0.0 in each lane. */
const indicator = (op: (t: Lanes) => number): Lowering => ([a, c], t) => [...a, ...c, ...simd(op(t)), ...t.constant(1), ...simd(V.and)];

/** Per op name: its lowering in each lane type it is exact in. */
export const WASM_OPS: Record<string, { f64?: Lowering; f32?: Lowering }> = {
  add: both(binary((t) => t.add)),
  sub: both(binary((t) => t.sub)),
  mul: both(binary((t) => t.mul)),
  div: both(binary((t) => t.div)),
  neg: both(unary((t) => t.neg)),
  sqrt: both(unary((t) => t.sqrt)),
  // Math.max / Math.min: NaN if either is NaN, and -0 < +0; wasm's fmax / fmin are the same
  maximum: both(binary((t) => t.max)),
  minimum: both(binary((t) => t.min)),
  abs: both(unary((t) => t.abs)),
  square: both(([a], t) => [...a, ...a, ...simd(t.mul)]),
  recip: both(([a], t) => [...t.constant(1), ...a, ...simd(t.div)]),
  // 1 / sqrt(x) rounds twice in float32 lanes but once in the interpreter: float64 only
  rsqrt: { f64: ([a], t) => [...t.constant(1), ...a, ...simd(t.sqrt), ...simd(t.div)] },
  less: both(indicator((t) => t.lt)),
  equal: both(indicator((t) => t.eq)),
  lessEqual: both(indicator((t) => t.le)),
  notEqual: both(indicator((t) => t.ne)),
  // c !== 0 ? a : d (NaN !== 0 picks a, -0 picks d: as wasm's ne)
  select: both(([c, a, d], t) => [...a, ...d, ...c, ...t.constant(0), ...simd(t.ne), ...simd(V.bitselect)]),
  stopGradient: both(([a]) => a),
  // nearest rounds halves to even, as round's scalar does; the result is an integer, exact in either lane type
  round: { f64: unary(() => 0x94), f32: unary(() => 0x6a) },
};

function both(l: Lowering): { f64: Lowering; f32: Lowering } {
  return { f64: l, f32: l };
}

/** The lowering of an op in a lane type, or undefined (its stage stays in JavaScript). */
export function wasmLowering(def: OpDef, dtype: "f64" | "f32"): Lowering | undefined {
  if (!Object.hasOwn(WASM_OPS, def.name)) return undefined;
  const lower = WASM_OPS[def.name][dtype];
  if (!lower) return undefined;
  let checked = verified.get(def);
  if (!checked) verified.set(def, (checked = new Map()));
  let ok = checked.get(dtype);
  if (ok === undefined) checked.set(dtype, (ok = agreesWithScalar(def, lower, dtype)));
  return ok ? lower : undefined;
}

const verified = new WeakMap<OpDef, Map<string, boolean>>();
const SAMPLES = [0, -0, 1, -1, 0.5, -2.5, 3, 1e-310, -7e300, Infinity, -Infinity, NaN, 0.1, 2, -0.75, 1e-8];

/**
 * A table entry is used only once it computes what the op's scalar function computes on special
 * values (signed zeros, infinities, NaN, subnormals, every pair of them for binary ops), rounded
 * as the interpreter rounds: an op registered later under a name in the table but with other
 * semantics stays in JavaScript instead of running wrong.
 */
function agreesWithScalar(def: OpDef, lower: Lowering, dtype: "f64" | "f32"): boolean {
  const scalar = def.scalar;
  if (!scalar || def.arity < 1 || def.arity > 3) return false;
  const t = dtype === "f32" ? F32X4 : F64X2;
  const Ctor = dtype === "f32" ? Float32Array : Float64Array;
  // every combination of samples for each operand position, padded to whole vectors
  const cases: number[][] = [];
  const walk = (prefix: number[]) => {
    if (prefix.length === def.arity) return void cases.push(prefix);
    for (const v of def.arity === 3 ? SAMPLES.slice(0, 8) : SAMPLES) walk([...prefix, v]);
  };
  walk([]);
  while (cases.length % t.lanes) cases.push(cases[0]);
  const n = cases.length;
  const bytes = n * t.es;
  // memory: arity operand arrays, then the result; one loop over the vectors (straight-line code
  // per vector cost more to build than the check itself: 17 ms of a cold compile)
  const I = 0; // i32 local: the byte offset; v128 locals 1..arity: the operands
  const operands = Array.from({ length: def.arity }, (_, k) => localGet(1 + k));
  const code: number[] = [...vecLocals(def.arity), LOOP, VOID];
  for (let k = 0; k < def.arity; k++) code.push(GET, ...u32(I), ...simd(V.load, 4, ...u32(k * bytes)), SET, ...u32(1 + k));
  code.push(GET, ...u32(I), ...lower(operands, t), ...simd(V.store, 4, ...u32(def.arity * bytes)));
  code.push(GET, ...u32(I), I32, 16, ADD, TEE, ...u32(I), I32, ...s32(bytes), LTS, BRIF, 0, END, END);
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(Math.ceil(((def.arity + 1) * bytes) / 65536), [code], ["f"])));
    const buf = (inst.exports.mem as WebAssembly.Memory).buffer;
    for (let k = 0; k < def.arity; k++) new Ctor(buf, k * bytes, n).set(cases.map((c) => c[k]));
    (inst.exports.f as () => void)();
    const got = new Ctor(buf, def.arity * bytes, n);
    const want = new Ctor(cases.map((c) => scalar(...c.map((x) => (dtype === "f32" ? Math.fround(x) : x)))));
    return want.every((w, i) => Object.is(w, got[i]) || (Number.isNaN(w) && Number.isNaN(got[i])));
  } catch {
    return false;
  }
}


export const localGet = (l: number): number[] => [GET, ...u32(l)];

/** A function body's local declarations: one i32, then `v128s` v128s. */
const vecLocals = (v128s: number): number[] => [2, 1, I32T, ...u32(v128s), V128T];
