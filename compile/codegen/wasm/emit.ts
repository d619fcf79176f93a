// A small WebAssembly binary emitter: LEB128 numbers, sections, and the opcodes gradc's kernels
// use. Hand-emitting these few opcodes keeps gradc free of a toolchain (binaryen is megabytes);
// every module is validated by the engine when it is instantiated.

export const u32 = (v: number): number[] => {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
};

export const s32 = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(byte & 0x40)) || (v === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
};

export const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body];
export const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()];
export const name = (s: string): number[] => [...u32(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// core opcodes
export const GET = 0x20,
  SET = 0x21,
  TEE = 0x22,
  I32 = 0x41,
  ADD = 0x6a,
  SUB = 0x6b,
  MUL = 0x6c,
  LTS = 0x48,
  GTS = 0x4a,
  SELECT = 0x1b;
export const F32LOAD = 0x2a,
  F64LOAD = 0x2b,
  F32STORE = 0x38,
  F64STORE = 0x39;
export const LOOP = 0x03,
  BLOCK = 0x02,
  BRIF = 0x0d,
  END = 0x0b,
  VOID = 0x40;
export const I32T = 0x7f,
  V128T = 0x7b;

/** A SIMD instruction (0xfd prefix) with its immediates. */
export const simd = (op: number, ...imm: number[]) => [0xfd, ...u32(op), ...imm];
/** A memory immediate: alignment exponent and constant offset. */
export const mem = (offset: number, align = 3) => [...u32(align), ...u32(offset)];

// SIMD opcodes (the 0xfd sub-opcodes)
export const V = {
  load: 0x00,
  load32Splat: 0x09,
  load64Splat: 0x0a,
  store: 0x0b,
  const: 0x0c,
  f32x4Splat: 0x13,
  f64x2Splat: 0x14,
  f32x4Extract: 0x1f,
  f32x4Replace: 0x20,
  f64x2Extract: 0x21,
  f64x2Replace: 0x22,
  f32x4Eq: 0x41,
  f32x4Ne: 0x42,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f64x2Eq: 0x47,
  f64x2Ne: 0x48,
  f64x2Lt: 0x49,
  f64x2Gt: 0x4a,
  not: 0x4d,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f64x2Neg: 0xed,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  f64x2Min: 0xf4,
  f64x2Max: 0xf5,
} as const;

/** A WebAssembly binary's first 8 bytes: the magic "\0asm" and version 1. */
export const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A module of functions `() -> ()` over one memory of `pages` 64 KiB pages, exported as "mem". */
export function moduleBytes(pages: number, bodies: number[][], exportNames: string[]): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, vec([[0x60, 0, 0]])),
    ...section(3, vec(bodies.map(() => [0]))),
    // maximum = initial: the memory can never grow (growing detaches every view of it)
    ...section(5, vec([[0x01, ...u32(pages), ...u32(pages)]])),
    ...section(7, vec([[...name("mem"), 0x02, 0], ...exportNames.map((e, i) => [...name(e), 0x00, ...u32(i)])])),
    ...section(10, vec(bodies.map((code) => [...u32(code.length), ...code]))),
  ]);
}
