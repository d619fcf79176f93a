// exp over a run of float64 values in WebAssembly SIMD (f64x2), bit for bit what the engine's
// Math.exp returns: V8's exp is fdlibm's (reduce x = k ln2 + r with ln2 split in a high and a low
// part, a degree-5 rational approximation on r, then scale by 2^k), and that algorithm is a fixed
// sequence of IEEE operations, so the same sequence in f64x2 lanes gives the same bits. Lanes in
// the primary path (2^-28 <= |x| < 708, x != 1) are computed in vectors; |x| < 2^-28 gives 1 + x,
// as fdlibm does; every other lane (NaN, infinities, overflow and underflow ranges, and exp(1),
// which V8 special-cases to the constant E) calls the engine's own Math.exp. `expKernel` checks
// the kernel against Math.exp on special and random values before anyone uses it, and returns
// null on an engine where they differ (or without SIMD): callers then keep Math.exp.
//
// A row-wise loop stage whose row phase stores exp (softmax's exp(x - max)) writes the
// arguments into the kernel's memory, calls it once per group of rows, and reads the values back
// (js/loops.ts): Math.exp costs about 10 ns a call here, the vectors about a tenth of that.

import { ADD, BLOCK, BRIF, END, GET, I32, I32T, LOOP, LTS, section, SET, simd, TEE, u32, V, V128T, VOID, vec, name, WASM_HEADER } from "./emit.js";
import { wasmSimdSupported } from "./matmul.js";

/** A kernel over its own memory: fill `a[0..n)`, call `run(n)`, read `a[0..n)` (the memory holds a whole vector more). */
export interface ExpKernel {
  readonly a: Float64Array;
  run(n: number): void;
}

/** The double with these bits. */
const bits = (b: bigint): number => new Float64Array(new BigUint64Array([b]).buffer)[0];

// fdlibm's constants (e_exp.c), by their bits as V8 carries them
const HALF = 0.5;
const LN2_HI = bits(0x3fe62e42fee00000n);
const LN2_LO = bits(0x3dea39ef35793c76n);
const INV_LN2 = bits(0x3ff71547652b82fen);
const P = [bits(0x3fc555555555553en), bits(0xbf66c16c16bebd93n), bits(0x3f11566aaf25de2cn), bits(0xbebbbd41c5d26bf1n), bits(0x3e66376972bea4d0n)];
/** |x| from which fdlibm reduces by k != 0: the double whose high word is 0x3fd62e43 (just above ln2 / 2). */
const REDUCE_FROM = bits(0x3fd62e4300000000n);
const TINY = 2 ** -28;
/** Below this |x| every lane takes the primary path with k in [-1021, 1021] (no overflow, no subnormal result). */
const BIG = 708;

// opcodes beyond emit.ts's table (SIMD sub-opcodes)
const F64X2 = { abs: 0xec, trunc: 0x7a, ge: 0x4c, eq: 0x47 } as const;
const ANY_TRUE = 0x53,
  I32X4_TRUNC_SAT_F64X2_S_ZERO = 0xfc,
  I64X2_EXTEND_LOW_I32X4_S = 0xc7,
  I64X2_SHL = 0xcb,
  I64X2_ADD = 0xce;
const IF = 0x04,
  CALL = 0x10,
  F64T = 0x7c;

const constant = (v: number): number[] => simd(V.const, ...new Uint8Array(new Float64Array([v, v]).buffer));
const constantI64 = (v: bigint): number[] => simd(V.const, ...new Uint8Array(new BigInt64Array([v, v]).buffer));

/**
 * The function `(n: i32) -> ()`: in place over bytes [0, 8n) in vectors of two. Locals: 0 n (then
 * the byte end), 1 the byte offset; v128s from 2.
 */
function body(): number[] {
  const [N, I] = [0, 1];
  let next = 2;
  const X = next++,
    AX = next++,
    BIGM = next++,
    T = next++,
    HI = next++,
    LO = next++,
    R = next++,
    TT = next++,
    C = next++,
    Q = next++,
    Y = next++,
    BAD = next++;
  const get = (l: number) => [GET, ...u32(l)];
  const set = (l: number) => [SET, ...u32(l)];
  const op = (o: number) => simd(o);
  const code: number[] = [2, 1, I32T, ...u32(next - 2), V128T];
  // n -> byte end; nothing to do for n <= 0
  code.push(...get(N), I32, 3, 0x74 /* i32.shl */, ...set(N));
  code.push(BLOCK, VOID, ...get(N), I32, 0, 0x4c /* i32.le_s */, BRIF, 0);
  code.push(LOOP, VOID);
  code.push(...get(I), ...simd(V.load, 4, 0), ...set(X));
  code.push(...get(X), ...op(F64X2.abs), ...set(AX));
  // lanes for Math.exp: not (TINY <= |x| < BIG), NaN included (both comparisons false), and x == 1
  code.push(...get(AX), ...constant(BIG), ...op(V.f64x2Lt), ...get(AX), ...constant(TINY), ...op(F64X2.ge), ...op(V.and), ...op(V.not));
  code.push(...get(X), ...constant(1), ...op(F64X2.eq), ...op(V.or), ...set(BAD));
  // k = trunc(x / ln2 + copysign(1/2, x)) where |x| > ln2 / 2, else 0 (t: k as a double)
  code.push(...get(AX), ...constant(REDUCE_FROM), ...op(F64X2.ge), ...set(BIGM));
  code.push(
    ...get(X),
    ...constant(INV_LN2),
    ...op(V.f64x2Mul),
    ...get(X),
    ...constantI64(-0x8000000000000000n),
    ...op(V.and),
    ...constant(HALF),
    ...op(V.or),
    ...op(V.f64x2Add),
  );
  code.push(...op(F64X2.trunc), ...get(BIGM), ...op(V.and), ...set(T));
  // hi = x - t ln2_hi (exact), lo = t ln2_lo, r = hi - lo
  code.push(...get(X), ...get(T), ...constant(LN2_HI), ...op(V.f64x2Mul), ...op(V.f64x2Sub), ...set(HI));
  code.push(...get(T), ...constant(LN2_LO), ...op(V.f64x2Mul), ...set(LO));
  code.push(...get(HI), ...get(LO), ...op(V.f64x2Sub), ...set(R));
  // c = r - tt (P1 + tt (P2 + tt (P3 + tt (P4 + tt P5)))), tt = r r
  code.push(...get(R), ...get(R), ...op(V.f64x2Mul), ...set(TT));
  code.push(...get(R), ...get(TT));
  code.push(...constant(P[0]), ...get(TT), ...constant(P[1]), ...get(TT), ...constant(P[2]), ...get(TT), ...constant(P[3]), ...get(TT), ...constant(P[4]));
  for (let j = 0; j < 4; j++) code.push(...op(V.f64x2Mul), ...op(V.f64x2Add));
  code.push(...op(V.f64x2Mul), ...op(V.f64x2Sub), ...set(C));
  // k != 0: y = (1 - ((lo - q) - hi)) * 2^k with q = (r c) / (2 - c); k == 0 needs (r c) / (c - 2),
  // which is -q exactly (IEEE division and subtraction are symmetric in sign): one division
  code.push(...get(R), ...get(C), ...op(V.f64x2Mul), ...constant(2), ...get(C), ...op(V.f64x2Sub), ...op(V.f64x2Div), ...set(Q));
  code.push(...constant(1), ...get(LO), ...get(Q), ...op(V.f64x2Sub));
  code.push(...get(HI), ...op(V.f64x2Sub), ...op(V.f64x2Sub));
  code.push(
    ...get(T),
    ...simd(I32X4_TRUNC_SAT_F64X2_S_ZERO),
    ...simd(I64X2_EXTEND_LOW_I32X4_S),
    ...constantI64(1023n),
    ...simd(I64X2_ADD),
    I32,
    52,
    ...simd(I64X2_SHL),
  );
  code.push(...op(V.f64x2Mul));
  // k == 0: y = 1 - ((r c) / (c - 2) - r)
  code.push(...constant(1), ...get(Q), ...op(V.f64x2Neg), ...get(R), ...op(V.f64x2Sub), ...op(V.f64x2Sub));
  code.push(...get(BIGM), ...op(V.bitselect));
  // |x| < 2^-28: 1 + x
  code.push(...constant(1), ...get(X), ...op(V.f64x2Add), ...get(AX), ...constant(TINY), ...op(F64X2.ge), ...op(V.bitselect), ...set(Y));
  // any lane left to Math.exp: both lanes through the import (rare: special values, exp(1))
  code.push(...get(BAD), ...op(ANY_TRUE), IF, VOID);
  for (const lane of [0, 1]) {
    code.push(...get(BAD), ...simd(0x1d /* i64x2.extract_lane */, lane), 0x50 /* i64.eqz */, 0x45 /* i32.eqz */, IF, VOID);
    code.push(...get(Y), ...get(X), ...simd(V.f64x2Extract, lane), CALL, 0, ...simd(V.f64x2Replace, lane), ...set(Y), END);
  }
  code.push(END);
  code.push(...get(I), ...get(Y), ...simd(V.store, 4, 0));
  code.push(...get(I), I32, 16, ADD, TEE, ...u32(I), ...get(N), LTS, BRIF, 0, END, END, END);
  return code;
}

/** The module: imports m.exp (f64) -> f64, exports memory "mem" of `pages` and function "f" (i32) -> (). */
function moduleOf(pages: number): Uint8Array<ArrayBuffer> {
  const code = body();
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(
      1,
      vec([
        [0x60, 1, F64T, 1, F64T],
        [0x60, 1, I32T, 0],
      ]),
    ),
    ...section(2, vec([[...name("m"), ...name("exp"), 0x00, 0]])),
    ...section(3, vec([[1]])),
    ...section(5, vec([[0x01, ...u32(pages), ...u32(pages)]])),
    ...section(
      7,
      vec([
        [...name("mem"), 0x02, 0],
        [...name("f"), 0x00, 1],
      ]),
    ),
    ...section(10, vec([[...u32(code.length), ...code]])),
  ]);
}

const SPECIALS = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  TINY,
  -TINY,
  TINY * 0.999,
  REDUCE_FROM,
  -REDUCE_FROM,
  REDUCE_FROM * 0.9999999,
  1.0397,
  -1.0397,
  707.9,
  -707.9,
  708,
  -708,
  709.7,
  -745.2,
  800,
  -800,
  Infinity,
  -Infinity,
  NaN,
  1e-300,
  -1e-300,
  5e-324,
  2 ** -1022,
  Math.LN2,
  -Math.LN2,
  2,
  -2,
  10,
  -10,
  100,
  -100,
  700,
  -700,
];

let verified: boolean | undefined;

/** Whether the vectors equal Math.exp on special values and 20,000 random ones across the primary range (checked once). */
function agrees(k: ExpKernel): boolean {
  let s = 0x9e3779b9;
  const random = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  const xs = [...SPECIALS];
  while (xs.length < 20000) {
    const u = random();
    xs.push(u < 0.5 ? -40 * random() : (random() - 0.5) * 2 * 2 ** (-30 + 40 * random()));
  }
  for (let at = 0; at < xs.length; at += k.a.length - 2) {
    const part = xs.slice(at, at + k.a.length - 2);
    k.a.set(part);
    k.run(part.length);
    for (let i = 0; i < part.length; i++) if (!Object.is(k.a[i], Math.exp(part[i])) && !(Number.isNaN(k.a[i]) && Number.isNaN(part[i]))) return false;
  }
  return true;
}

/** A kernel for up to `size` values, or null where WebAssembly SIMD is missing or the vectors would not equal Math.exp. */
export function expKernel(size: number): ExpKernel | null {
  if (!wasmSimdSupported() || verified === false) return null;
  const bytes = Math.max(size, 4096) * 8 + 16;
  let kernel: ExpKernel;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleOf(Math.ceil(bytes / 65536))), { m: { exp: Math.exp } });
    const a = new Float64Array((inst.exports.mem as WebAssembly.Memory).buffer);
    kernel = { a, run: inst.exports.f as (n: number) => void };
  } catch {
    verified = false;
    return null;
  }
  verified ??= agrees(kernel);
  return verified ? kernel : null;
}
