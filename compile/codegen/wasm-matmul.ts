// A float64 matmul kernel in WebAssembly SIMD, generated as bytes with the sizes and strides as
// constants: 4x4 tiles of C held in eight f64x2 accumulators, K cut into chunks as in the
// JavaScript kernel. Each C[i,j] is still summed over p in increasing order from zero (f64x2.add
// of f64x2.mul: no fused multiply-add), so results equal the interpreter's bit for bit.
// The module owns its memory: A's and B's buffers are copied in, C is copied out.

/** Sizes, strides (in elements) and the K-chunk of one matmul. */
export interface WasmMatmulSpec {
  m: number;
  k: number;
  n: number;
  /** Only columns [0, n4) are computed here (a multiple of 4); rows [0, m4) in 4-row tiles, the rest in one smaller tile. */
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
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  run: () => void;
}

const u32 = (v: number): number[] => {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
};
const s32 = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(byte & 0x40)) || (v === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body];
const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()];
const name = (s: string): number[] => [...u32(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// opcodes
const GET = 0x20, SET = 0x21, I32 = 0x41, ADD = 0x6a, MUL = 0x6c, LTS = 0x48, GTS = 0x4a, SELECT = 0x1b;
const F64LOAD = 0x2b, LOOP = 0x03, BRIF = 0x0d, END = 0x0b, VOID = 0x40;
const simd = (op: number, ...imm: number[]) => [0xfd, ...u32(op), ...imm];
const V128LOAD = 0x00, V128STORE = 0x0b, V128CONST = 0x0c, SPLAT = 0x14, REPLACE = 0x22, VADD = 0xf0, VMUL = 0xf2;
const mem = (offset: number, align = 3) => [...u32(align), ...u32(offset)];

/**
 * Whether an operand is packed on the way in rather than copied as is: an operand not contiguous
 * along p (A = x.T, B = W.T) is rearranged by the caller into panels of 4 rows of A (4 columns
 * of B), each p's 4 values adjacent: `[block][p][4]`. Unpacked, x.T's four values per p sat one
 * row of x apart (24 KB at 3072 features: every load in the same L1 set), and W.T's needed four
 * scalar loads per p.
 */
export function packing(s: WasmMatmulSpec): { a: boolean; b: boolean; aLen: number; bLen: number } {
  const a = s.sa[1] !== 1, b = s.sb[1] !== 1;
  return { a, b, aLen: a ? Math.ceil(s.m / 4) * 4 * s.k : s.aSize, bLen: b ? s.k * s.n4 : s.bSize };
}

/** The function body: locals i j p p0 pe ta tb tc (i32), 8 accumulators, 4 x, 2 y (v128). */
function body(s: WasmMatmulSpec): number[] {
  const [I, J, P, P0, PE, TA, TB, TC] = [0, 1, 2, 3, 4, 5, 6, 7];
  const ACC = (r: number, c: number) => 8 + r * 2 + c;
  const X = (r: number) => 16 + r;
  const Y = (c: number) => 20 + c;
  const pk = packing(s);
  const aOff = 0, bOff = pk.aLen * 8, cOff = (pk.aLen + pk.bLen) * 8;
  // byte strides: per unit of i (a multiple of 4), per p, per row r of the tile; same for B
  const [aI, aP, aR] = pk.a ? [s.k * 8, 32, 8] : [s.sa[0] * 8, s.sa[1] * 8, s.sa[0] * 8];
  const [bJ, bP, bC] = pk.b ? [s.k * 8, 32, 8] : [s.sb[1] * 8, s.sb[0] * 8, s.sb[1] * 8];
  const n8 = s.n * 8;
  const c: number[] = [];
  const set = (l: number, ...e: number[]) => c.push(...e, SET, l);
  const mulAdd = (l1: number, k1: number, l2: number, k2: number) => [GET, l1, I32, ...s32(k1), MUL, GET, l2, I32, ...s32(k2), MUL, ADD];
  // one chunk: accumulators start at zero (C is not read, nor zeroed by the caller)
  const chunked = s.kc < s.k;
  // rows [i0, i1) in tiles of h rows (h = 4; the last m % 4 rows: one tile of fewer rows)
  const nest = (i0: number, i1: number, h: number) => {
    set(I, I32, ...s32(i0));
    c.push(LOOP, VOID);
    set(J, I32, 0);
    c.push(LOOP, VOID);
    set(TC, ...mulAdd(I, n8, J, 8));
    set(P0, I32, 0);
    c.push(LOOP, VOID);
    for (let r = 0; r < h; r++) for (let q = 0; q < 2; q++) set(ACC(r, q), ...(chunked ? [GET, TC, ...simd(V128LOAD, ...mem(cOff + r * n8 + q * 16))] : simd(V128CONST, ...new Array(16).fill(0))));
    // pe = min(p0 + kc, k)
    set(PE, I32, ...s32(s.k), GET, P0, I32, ...s32(s.kc), ADD, GET, P0, I32, ...s32(s.kc), ADD, I32, ...s32(s.k), GTS, SELECT);
    set(P, GET, P0);
    // operand addresses advance by a stride per step of p (no multiplies in the inner loop)
    set(TA, ...mulAdd(I, aI, P0, aP));
    set(TB, ...mulAdd(P0, bP, J, bJ));
    c.push(LOOP, VOID);
    for (let r = 0; r < h; r++) set(X(r), GET, TA, F64LOAD, ...mem(aOff + r * aR), ...simd(SPLAT));
    for (let q = 0; q < 2; q++) {
      if (bC === 8) set(Y(q), GET, TB, ...simd(V128LOAD, ...mem(bOff + q * 16)));
      else {
        set(Y(q), GET, TB, F64LOAD, ...mem(bOff + 2 * q * bC), ...simd(SPLAT));
        set(Y(q), GET, Y(q), GET, TB, F64LOAD, ...mem(bOff + (2 * q + 1) * bC), ...simd(REPLACE, 1));
      }
    }
    for (let r = 0; r < h; r++) for (let q = 0; q < 2; q++) set(ACC(r, q), GET, ACC(r, q), GET, X(r), GET, Y(q), ...simd(VMUL), ...simd(VADD));
    set(TA, GET, TA, I32, ...s32(aP), ADD);
    set(TB, GET, TB, I32, ...s32(bP), ADD);
    set(P, GET, P, I32, 1, ADD);
    c.push(GET, P, GET, PE, LTS, BRIF, 0, END);
    for (let r = 0; r < h; r++) for (let q = 0; q < 2; q++) c.push(GET, TC, GET, ACC(r, q), ...simd(V128STORE, ...mem(cOff + r * n8 + q * 16)));
    set(P0, GET, P0, I32, ...s32(s.kc), ADD);
    c.push(GET, P0, I32, ...s32(s.k), LTS, BRIF, 0, END);
    set(J, GET, J, I32, 4, ADD);
    c.push(GET, J, I32, ...s32(s.n4), LTS, BRIF, 0, END);
    set(I, GET, I, I32, 4, ADD);
    c.push(GET, I, I32, ...s32(i1), LTS, BRIF, 0, END);
  };
  nest(0, s.m4, 4);
  if (s.m > s.m4) nest(s.m4, s.m, s.m - s.m4);
  c.push(END);
  const locals = vec([[8, 0x7f], [14, 0x7b]]);
  return [...locals, ...c];
}

/** The module's bytes. */
export function wasmMatmulBytes(s: WasmMatmulSpec): Uint8Array<ArrayBuffer> {
  const pk = packing(s);
  const bytes = (pk.aLen + pk.bLen + s.m * s.n) * 8;
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  const code = body(s);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 0, 0]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...u32(pages)]])),
    ...section(7, vec([[...name("mem"), 0x02, 0], [...name("mm"), 0x00, 0]])),
    ...section(10, vec([[...u32(code.length), ...code]])),
  ]);
}

let supported: boolean | undefined;
/** Whether this engine runs WebAssembly SIMD (Node 16.4+ does). */
export function wasmSimdSupported(): boolean {
  if (supported === undefined) {
    try {
      const probe = wasmMatmulBytes({ m: 4, k: 1, n: 4, m4: 4, n4: 4, kc: 1, sa: [1, 1], sb: [4, 1], aSize: 4, bSize: 4 });
      supported = typeof WebAssembly === "object" && WebAssembly.validate(probe);
    } catch {
      supported = false;
    }
  }
  return supported;
}

/** Instantiate a kernel (synchronously: modules this small compile in well under a millisecond). */
export function wasmMatmul(s: WasmMatmulSpec): WasmMatmul {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmMatmulBytes(s)));
  const buf = (inst.exports.mem as WebAssembly.Memory).buffer;
  const pk = packing(s);
  return {
    a: new Float64Array(buf, 0, pk.aLen),
    b: new Float64Array(buf, pk.aLen * 8, pk.bLen),
    c: new Float64Array(buf, (pk.aLen + pk.bLen) * 8, s.m * s.n),
    run: inst.exports.mm as () => void,
  };
}
