// How elementwise ops lower to WebAssembly SIMD: each op's record says how (`simd`, written with
// core/registry.ts's LaneEmitter, per lane type); this file gives the emitter its opcodes and
// checks each lowering against the op's scalar function before first use. An op without one keeps
// its stage in JavaScript (the stage falls back whole).
//
// A lowering must compute exactly what the op's `scalar` computes, rounded as `evaluate` rounds it:
// the interpreter computes each op in float64 and rounds the result to float32 for f32 tensors.
// For add, sub, mul, div and sqrt of float32 operands that double rounding equals the single
// float32 rounding of f32x4 (float64 carries more than 2 * 24 + 2 bits), so those lower to f32x4
// directly; an op whose float64 formula rounds twice in float32 (rsqrt = 1 / sqrt(x)) has no
// f32 entry. exp, log and tanh have no WebAssembly instruction: their stages stay in JavaScript
// (results bit for bit, not within ulps). Comparisons give masks; `and` with 1.0 makes them 1 or 0.

import type { LaneEmitter, OpDef } from "../../../core/registry.js";
import { ADD, BRIF, END, GET, I32, I32T, LOOP, LTS, moduleBytes, s32, SET, simd, TEE, u32, V, V128T, VOID } from "./emit.js";

/** One lane type's opcodes. */
export interface Lanes {
  dtype: "f64" | "f32";
  /** bytes per element, lanes per vector */
  es: number;
  lanes: number;
  add: number;
  sub: number;
  mul: number;
  div: number;
  neg: number;
  sqrt: number;
  min: number;
  max: number;
  abs: number;
  nearest: number;
  eq: number;
  ne: number;
  lt: number;
  gt: number;
  le: number;
  splat: number;
  loadSplat: number;
  extract: number;
  store: number;
  /** `v128.const` of every lane set to v */
  constant(v: number): number[];
}

const constant =
  (dtype: "f64" | "f32") =>
  (v: number): number[] => {
    const lanes = dtype === "f32" ? new Float32Array(4).fill(v) : new Float64Array(2).fill(v);
    return simd(V.const, ...new Uint8Array(lanes.buffer));
  };

export const F64X2: Lanes = {
  dtype: "f64",
  es: 8,
  lanes: 2,
  add: V.f64x2Add,
  sub: V.f64x2Sub,
  mul: V.f64x2Mul,
  div: V.f64x2Div,
  neg: V.f64x2Neg,
  sqrt: V.f64x2Sqrt,
  min: V.f64x2Min,
  max: V.f64x2Max,
  abs: 0xec,
  nearest: 0x94,
  eq: V.f64x2Eq,
  ne: V.f64x2Ne,
  lt: V.f64x2Lt,
  gt: V.f64x2Gt,
  le: 0x4b,
  splat: V.f64x2Splat,
  loadSplat: V.load64Splat,
  extract: V.f64x2Extract,
  store: 0x39,
  constant: constant("f64"),
};

export const F32X4: Lanes = {
  dtype: "f32",
  es: 4,
  lanes: 4,
  add: V.f32x4Add,
  sub: V.f32x4Sub,
  mul: V.f32x4Mul,
  div: V.f32x4Div,
  neg: V.f32x4Neg,
  sqrt: V.f32x4Sqrt,
  min: V.f32x4Min,
  max: V.f32x4Max,
  abs: 0xe0,
  nearest: 0x6a,
  eq: V.f32x4Eq,
  ne: V.f32x4Ne,
  lt: V.f32x4Lt,
  gt: V.f32x4Gt,
  le: 0x45,
  splat: V.f32x4Splat,
  loadSplat: V.load32Splat,
  extract: V.f32x4Extract,
  store: 0x38,
  constant: constant("f32"),
};

/** Operands are code that pushes one v128 each (a `local.get`: cheap to repeat). */
export type Lowering = (args: readonly number[][], t: Lanes) => number[];

/** The op records' LaneEmitter over WebAssembly: a value is code that pushes one v128. */
function emitter(t: Lanes): LaneEmitter<number[]> {
  const binary = (op: number) => (a: number[], c: number[]) => [...a, ...c, ...simd(op)];
  const unary = (op: number) => (a: number[]) => [...a, ...simd(op)];
  // a comparison's mask as 1.0 / 0.0 in each lane
  const indicator = (op: number) => (a: number[], c: number[]) => [...a, ...c, ...simd(op), ...t.constant(1), ...simd(V.and)];
  return {
    add: binary(t.add),
    sub: binary(t.sub),
    mul: binary(t.mul),
    div: binary(t.div),
    min: binary(t.min),
    max: binary(t.max),
    neg: unary(t.neg),
    sqrt: unary(t.sqrt),
    abs: unary(t.abs),
    nearest: unary(t.nearest),
    constant: (v) => t.constant(v),
    less: indicator(t.lt),
    lessEqual: indicator(t.le),
    equal: indicator(t.eq),
    notEqual: indicator(t.ne),
    select: (c, a, d) => [...a, ...d, ...c, ...t.constant(0), ...simd(t.ne), ...simd(V.bitselect)],
  };
}

const emitters = { f64: emitter(F64X2), f32: emitter(F32X4) };

/** The lowering of an op in a lane type (its record's `simd`), or undefined: its stage stays in JavaScript. */
export function wasmLowering(def: OpDef, dtype: "f64" | "f32"): Lowering | undefined {
  const own = def.simd?.[dtype];
  if (typeof own !== "function") return undefined;
  let checked = verified.get(def);
  if (!checked) verified.set(def, (checked = new Map()));
  let lower = checked.get(dtype);
  if (lower === undefined) {
    const candidate: Lowering = (args) => own(emitters[dtype], args);
    lower = agreesWithScalar(def, candidate, dtype) ? candidate : null;
    checked.set(dtype, lower);
  }
  return lower ?? undefined;
}

const verified = new WeakMap<OpDef, Map<string, Lowering | null>>();
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
