// Matmul kernels in WebAssembly SIMD, generated as bytes with the sizes and strides as constants:
// tiles of 4 rows by two vectors of C (4x4 in f64x2, 4x8 in f32x4) held in eight accumulators, K
// cut into chunks as in the JavaScript kernel. Each C[i,j] is summed over p in increasing order
// from zero (a vector add of a vector mul: no fused multiply-add).
//   float64: the product of two doubles is rounded, then the sum, exactly as the interpreter's
//     `acc += a * b`: results equal `evaluate`'s bit for bit.
//   float32: the interpreter forms a*b exactly in double and rounds acc + a*b once to float32;
//     f32x4 rounds the product and then the sum. Each step differs by at most one rounding of
//     the product (2^-24 relative): the sum is within the usual k * 2^-23 * sum|a||b| bound of
//     the interpreter's, and spec/wasm.test.ts checks that bound. This is the choice every BLAS
//     makes; emulating the single rounding would need f64 lanes and halve the speed.
// The module owns its memory: A's and B's buffers are copied in, C is copied out.

import {
  ADD,
  END,
  F32LOAD,
  F64LOAD,
  GET,
  GTS,
  I32,
  LOOP,
  LTS,
  MUL,
  SELECT,
  SET,
  BRIF,
  VOID,
  mem,
  moduleBytes,
  name,
  s32,
  section,
  simd,
  u32,
  V,
  vec,
  WASM_HEADER,
} from "./emit.js";
import type { Helper } from "../threads.js";

/** Sizes, strides (in elements) and the K-chunk of one matmul. */
export interface WasmMatmulSpec {
  dtype: "f64" | "f32";
  m: number;
  k: number;
  n: number;
  /** C's row width in the kernel's memory: n rounded up to tileCols (the padding columns are computed and dropped); rows [0, m4) in 4-row tiles, the rest in one smaller tile. */
  m4: number;
  n4: number;
  kc: number;
  sa: [number, number];
  sb: [number, number];
  /** Element counts of the operands' buffers (what is copied in). */
  aSize: number;
  bSize: number;
}

export interface WasmMatmul {
  a: Float64Array | Float32Array;
  b: Float64Array | Float32Array;
  c: Float64Array | Float32Array;
  run: () => void;
  /** Whether run() splits C's columns with a worker thread. */
  threaded: boolean;
  /** With packing(s).rawA: copy x (A = x.T) into `raw`, then `pack()` fills `a`. */
  raw?: Float64Array | Float32Array;
  pack?: () => void;
}

/** Columns of C per tile: two vectors of 2 doubles or 4 floats. */
export const tileCols = (dtype: "f64" | "f32"): number => (dtype === "f32" ? 8 : 4);

const F32 = { loadSplat: V.load32Splat, load: F32LOAD, splat: V.f32x4Splat, replace: V.f32x4Replace, add: V.f32x4Add, mul: V.f32x4Mul, align: 2 };
const F64 = { loadSplat: V.load64Splat, load: F64LOAD, splat: V.f64x2Splat, replace: V.f64x2Replace, add: V.f64x2Add, mul: V.f64x2Mul, align: 3 };

/**
 * Whether an operand is packed on the way in rather than copied as is: an operand not contiguous
 * along p (A = x.T, B = W.T) is rearranged by the caller into panels of 4 rows of A (tileCols
 * columns of B), each p's values adjacent: `[block][p][4]`. Unpacked, x.T's four values per p
 * sat one row of x apart (24 KB at 3072 features: every load in the same L1 set), and W.T's
 * needed a scalar load per lane.
 */
export function packing(s: WasmMatmulSpec): { a: boolean; b: boolean; aLen: number; bLen: number; rawA: number } {
  const a = s.sa[1] !== 1,
    b = s.sb[1] !== 1;
  // A = x.T (its rows adjacent in x) is copied in as is and packed by the module's `pack`, with
  // vector loads and stores (in JavaScript it was a tenth of the float32 training iteration);
  // rawA is the length of that copy, padded for the last panel's vector read past its end
  const rawA = a && s.sa[0] === 1 ? s.aSize + 8 : 0;
  // unpacked B: one tile's worth of padding, read (into dropped columns) past the last row
  return { a, b, aLen: a ? Math.ceil(s.m / 4) * 4 * s.k : s.aSize, bLen: b ? s.k * s.n4 : s.bSize + tileCols(s.dtype), rawA };
}

/** `pack`: raw A (x, rows of A adjacent) -> panels of 4 rows of A, each p's 4 values adjacent. */
function packBody(s: WasmMatmulSpec): number[] {
  const es = bytesPer(s);
  const pk = packing(s);
  const rawOff = (pk.aLen + pk.bLen + s.m * s.n4) * es;
  const [P, R, SRC, DST] = [0, 1, 2, 3];
  const panels = Math.ceil(s.m / 4);
  const c: number[] = [];
  const set = (l: number, ...e: number[]) => c.push(...e, SET, l);
  set(P, I32, 0);
  c.push(LOOP, VOID);
  set(SRC, GET, P, I32, ...s32(s.sa[1] * es), MUL, I32, ...s32(rawOff), ADD);
  set(DST, GET, P, I32, ...s32(4 * es), MUL);
  set(R, I32, 0);
  c.push(LOOP, VOID);
  for (let q = 0; q < (4 * es) / 16; q++) c.push(GET, DST, GET, SRC, ...simd(V.load, ...mem(q * 16, 0)), ...simd(V.store, ...mem(q * 16, 0)));
  set(SRC, GET, SRC, I32, ...s32(4 * es), ADD);
  set(DST, GET, DST, I32, ...s32(4 * es * s.k), ADD);
  set(R, GET, R, I32, 1, ADD);
  c.push(GET, R, I32, ...s32(panels), LTS, BRIF, 0, END);
  set(P, GET, P, I32, 1, ADD);
  c.push(GET, P, I32, ...s32(s.k), LTS, BRIF, 0, END, END);
  return [...vec([[4, 0x7f]]), ...c];
}

/**
 * The function body: locals i j p p0 pe ta tb tc (i32), 8 accumulators, 4 x, 2 y (v128). With
 * `split`, the function takes the column range (j0, j1) as its two parameters (locals 0 and 1,
 * multiples of the tile width) so two threads can each compute half of C's columns.
 */
function body(s: WasmMatmulSpec, split = false): number[] {
  const o = split ? 2 : 0;
  const [I, J, P, P0, PE, TA, TB, TC] = [0, 1, 2, 3, 4, 5, 6, 7].map((l) => l + o);
  const ACC = (r: number, c: number) => o + 8 + r * 2 + c;
  const X = (r: number) => o + 16 + r;
  const Y = (c: number) => o + 20 + c;
  const T = s.dtype === "f32" ? F32 : F64;
  const es = s.dtype === "f32" ? 4 : 8;
  const lanes = 16 / es;
  const cols = tileCols(s.dtype);
  const pk = packing(s);
  const aOff = 0,
    bOff = pk.aLen * es,
    cOff = (pk.aLen + pk.bLen) * es;
  // byte strides: per unit of i (a multiple of 4), per p, per row r of the tile; same for B
  const [aI, aP, aR] = pk.a ? [s.k * es, 4 * es, es] : [s.sa[0] * es, s.sa[1] * es, s.sa[0] * es];
  const [bJ, bP, bC] = pk.b ? [s.k * es, cols * es, es] : [s.sb[1] * es, s.sb[0] * es, s.sb[1] * es];
  const nb = s.n4 * es;
  const c: number[] = [];
  const set = (l: number, ...e: number[]) => c.push(...e, SET, l);
  const mulAdd = (l1: number, k1: number, l2: number, k2: number) => [GET, l1, I32, ...s32(k1), MUL, GET, l2, I32, ...s32(k2), MUL, ADD];
  // one chunk: accumulators start at zero (C is not read, nor zeroed by the caller)
  const chunked = s.kc < s.k;
  // Loop order p0 (K chunk), j (tile columns), i (tile rows): a chunk of B's tile columns (kc x 8
  // values, 8 KB) stays in L1 while every row tile passes over it, and the chunk of A in L2.
  // (i outermost streamed all of B from L3 once per row tile: f32 50x3072 @ 3072x100 ran at
  // 35 GFLOP/s that way.)
  const tileAt = (h: number) => {
    set(TC, ...mulAdd(I, nb, J, es));
    for (let r = 0; r < h; r++)
      for (let q = 0; q < 2; q++)
        set(ACC(r, q), ...(chunked ? [GET, TC, ...simd(V.load, ...mem(cOff + r * nb + q * 16))] : simd(V.const, ...new Array(16).fill(0))));
    set(P, GET, P0);
    // operand addresses advance by a stride per step of p (no multiplies in the inner loop)
    set(TA, ...mulAdd(I, aI, P0, aP));
    set(TB, ...mulAdd(P0, bP, J, bJ));
    c.push(LOOP, VOID);
    for (let r = 0; r < h; r++) set(X(r), GET, TA, ...simd(T.loadSplat, ...mem(aOff + r * aR, T.align)));
    for (let q = 0; q < 2; q++) {
      if (bC === es) set(Y(q), GET, TB, ...simd(V.load, ...mem(bOff + q * 16)));
      else {
        set(Y(q), GET, TB, T.load, ...mem(bOff + lanes * q * bC, T.align), ...simd(T.splat));
        for (let l = 1; l < lanes; l++) set(Y(q), GET, Y(q), GET, TB, T.load, ...mem(bOff + (lanes * q + l) * bC, T.align), ...simd(T.replace, l));
      }
    }
    for (let r = 0; r < h; r++) for (let q = 0; q < 2; q++) set(ACC(r, q), GET, ACC(r, q), GET, X(r), GET, Y(q), ...simd(T.mul), ...simd(T.add));
    set(TA, GET, TA, I32, ...s32(aP), ADD);
    set(TB, GET, TB, I32, ...s32(bP), ADD);
    set(P, GET, P, I32, 1, ADD);
    c.push(GET, P, GET, PE, LTS, BRIF, 0, END);
    for (let r = 0; r < h; r++) for (let q = 0; q < 2; q++) c.push(GET, TC, GET, ACC(r, q), ...simd(V.store, ...mem(cOff + r * nb + q * 16)));
  };
  set(P0, I32, 0);
  c.push(LOOP, VOID);
  // pe = min(p0 + kc, k)
  set(PE, I32, ...s32(s.k), GET, P0, I32, ...s32(s.kc), ADD, GET, P0, I32, ...s32(s.kc), ADD, I32, ...s32(s.k), GTS, SELECT);
  if (split) set(J, GET, 0);
  else set(J, I32, 0);
  c.push(LOOP, VOID);
  if (s.m4 > 0) {
    set(I, I32, 0);
    c.push(LOOP, VOID);
    tileAt(4);
    set(I, GET, I, I32, 4, ADD);
    c.push(GET, I, I32, ...s32(s.m4), LTS, BRIF, 0, END);
  }
  // the last m % 4 rows: one tile of fewer rows
  if (s.m > s.m4) {
    set(I, I32, ...s32(s.m4));
    tileAt(s.m - s.m4);
  }
  set(J, GET, J, I32, ...s32(cols), ADD);
  if (split) c.push(GET, J, GET, 1, LTS, BRIF, 0, END);
  else c.push(GET, J, I32, ...s32(s.n4), LTS, BRIF, 0, END);
  set(P0, GET, P0, I32, ...s32(s.kc), ADD);
  c.push(GET, P0, I32, ...s32(s.k), LTS, BRIF, 0, END);
  c.push(END);
  const locals = vec([
    [8, 0x7f],
    [14, 0x7b],
  ]);
  return [...locals, ...c];
}

const bytesPer = (s: WasmMatmulSpec) => (s.dtype === "f32" ? 4 : 8);

const pagesOf = (s: WasmMatmulSpec) => {
  const pk = packing(s);
  return Math.max(1, Math.ceil(((pk.aLen + pk.bLen + s.m * s.n4 + pk.rawA) * bytesPer(s)) / 65536));
};

/** The module's bytes. */
export function wasmMatmulBytes(s: WasmMatmulSpec): Uint8Array<ArrayBuffer> {
  return packing(s).rawA ? moduleBytes(pagesOf(s), [body(s), packBody(s)], ["mm", "pack"]) : moduleBytes(pagesOf(s), [body(s)], ["mm"]);
}

let supported: boolean | undefined;
/** Whether this engine runs WebAssembly SIMD (Node 16.4+ does). */
export function wasmSimdSupported(): boolean {
  if (supported === undefined) {
    try {
      const probe = wasmMatmulBytes({ dtype: "f32", m: 4, k: 1, n: 8, m4: 4, n4: 8, kc: 1, sa: [1, 1], sb: [8, 1], aSize: 4, bSize: 8 });
      supported = typeof WebAssembly === "object" && WebAssembly.validate(probe);
    } catch {
      supported = false;
    }
  }
  return supported;
}

/** A module of one function (j0, j1) -> () over an imported shared memory of `pages` pages. */
function splitModuleBytes(s: WasmMatmulSpec, pages: number): Uint8Array<ArrayBuffer> {
  const bodies = packing(s).rawA ? [body(s, true), packBody(s)] : [body(s, true)];
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(
      1,
      vec([
        [0x60, 2, 0x7f, 0x7f, 0],
        [0x60, 0, 0],
      ]),
    ),
    // import env.mem: shared (flags 3), minimum = maximum = pages
    ...section(2, vec([[...name("env"), ...name("mem"), 0x02, 0x03, ...u32(pages), ...u32(pages)]])),
    ...section(3, vec(bodies.map((_, i) => [i]))),
    ...section(7, vec(bodies.map((_, i) => [...name(i ? "pack" : "mm"), 0x00, i]))),
    ...section(10, vec(bodies.map((code) => [...u32(code.length), ...code]))),
  ]);
}

/** Instantiate a kernel (synchronously: modules this small compile in well under a millisecond). */
export function wasmMatmul(s: WasmMatmulSpec, helper?: Helper): WasmMatmul {
  const tiles = s.n4 / tileCols(s.dtype);
  if (helper && tiles >= 2) {
    const pk = packing(s);
    const pages = pagesOf(s);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const module = new WebAssembly.Module(splitModuleBytes(s, pages));
    const exports = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
    const fn = exports.mm as (j0: number, j1: number) => void;
    const job = helper.load(module, memory);
    const mid = Math.ceil(tiles / 2) * tileCols(s.dtype);
    const Ctor = s.dtype === "f32" ? Float32Array : Float64Array;
    const es = bytesPer(s);
    return {
      a: new Ctor(memory.buffer, 0, pk.aLen),
      b: new Ctor(memory.buffer, pk.aLen * es, pk.bLen),
      c: new Ctor(memory.buffer, (pk.aLen + pk.bLen) * es, s.m * s.n4),
      ...(pk.rawA ? { raw: new Ctor(memory.buffer, (pk.aLen + pk.bLen + s.m * s.n4) * es, pk.rawA), pack: exports.pack as () => void } : {}),
      threaded: true,
      run: () => {
        // the helper thread takes the right-hand columns, this thread the left-hand ones
        const ticket = helper.start(job, mid, s.n4);
        fn(0, mid);
        helper.wait(ticket);
      },
    };
  }
  return wasmMatmulSingle(s);
}

function wasmMatmulSingle(s: WasmMatmulSpec): WasmMatmul {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmMatmulBytes(s)));
  const buf = (inst.exports.mem as WebAssembly.Memory).buffer;
  const pk = packing(s);
  const Ctor = s.dtype === "f32" ? Float32Array : Float64Array;
  const es = bytesPer(s);
  return {
    a: new Ctor(buf, 0, pk.aLen),
    b: new Ctor(buf, pk.aLen * es, pk.bLen),
    c: new Ctor(buf, (pk.aLen + pk.bLen) * es, s.m * s.n4),
    ...(pk.rawA ? { raw: new Ctor(buf, (pk.aLen + pk.bLen + s.m * s.n4) * es, pk.rawA), pack: inst.exports.pack as () => void } : {}),
    run: inst.exports.mm as () => void,
    threaded: false,
  };
}
