// Adam's update of one large parameter as a WebAssembly SIMD loop (f64x2, f32x4) over a memory
// that keeps the moments m and v between steps: a step copies w and dw in and w out, nothing
// else. The compiled Adam graph it replaces also copied m and v in and w, m, v out every step
// (seven passes over the parameter's size around one pass of arithmetic): in float64 that was a
// sixth of `experiment deep`. A parameter kept in the kernel's memory (adam returns it there) is
// not copied at all.
//
// The loop computes Adam op for op as the graph did, each op one SIMD instruction rounding to the
// lane type (float32 lanes round each op to float32, as numpy's float32 Adam does):
//   m = m*b1 + g*(1-b1);  v = v*b2 + (g*g)*(1-b2);  w = w - ((m/c1)*lr) / (sqrt(v/c2) + eps)
// The arrays are padded to whole vectors with zeros; the padding's results are never read.

import type { DType, Data } from "../core/tensor.js";
import {
  ADD,
  BRIF,
  END,
  F32LOAD,
  F64LOAD,
  GET,
  I32,
  I32T,
  LOOP,
  LTS,
  SET,
  V,
  V128T,
  VOID,
  mem,
  moduleBytes,
  s32,
  simd,
  u32,
  vec,
} from "../compile/codegen/wasm/emit.js";
import { F32X4, F64X2 } from "../compile/codegen/wasm/ops.js";

export interface AdamKernel {
  /** The moments, as views of the kernel's memory (they persist between steps). */
  readonly m: Data;
  readonly v: Data;
  /** The kernel's copy of the parameter: a caller that keeps its parameter here saves two copies a step. */
  readonly w: Data;
  /** w = adam(w, dw) in place, with m and v updated in the kernel's memory (and its copy of w). */
  step(w: Data, dw: Data, lr: number, c1: number, c2: number): void;
}

/**
 * A kernel for a parameter of n elements, with Adam's fixed hyperparameters baked in. Null when
 * the engine has no WebAssembly SIMD or the memory cannot be allocated (the caller loops in JS).
 *
 *   const k = adamKernel(w.size, "f32", 0.9, 0.999, 1e-8);
 *   k.step(w.data, dw.data, 1e-3, 1 - 0.9 ** t, 1 - 0.999 ** t);
 */
export function adamKernel(n: number, dtype: DType, b1: number, b2: number, eps: number): AdamKernel | null {
  const t = dtype === "f32" ? F32X4 : F64X2;
  const padded = Math.ceil(n / t.lanes) * t.lanes;
  const bytes = padded * t.es;
  // scalars lr, c1, c2 at 0, 16, 32; then w, dw, m, v
  const [W, G, M, Vv] = [0, 1, 2, 3].map((i) => 48 + i * bytes);
  const top = 48 + 4 * bytes;
  if (top > 2 ** 31 - 65536) return null;
  let inst: WebAssembly.Instance;
  try {
    inst = new WebAssembly.Instance(
      new WebAssembly.Module(moduleBytes(Math.max(1, Math.ceil(top / 65536)), [body(t, bytes, W, G, M, Vv, b1, b2, eps)], ["adam"])),
    );
  } catch (e) {
    if (e instanceof RangeError || e instanceof WebAssembly.CompileError) return null;
    throw e;
  }
  const buf = (inst.exports.mem as WebAssembly.Memory).buffer;
  const view = (at: number, len: number): Data => (dtype === "f32" ? new Float32Array(buf, at, len) : new Float64Array(buf, at, len));
  const [w, g, m, v] = [W, G, M, Vv].map((at) => view(at, n));
  const scalars = view(0, 48 / t.es);
  const run = inst.exports.adam as () => void;
  return {
    m,
    v,
    w,
    step(wd, dw, lr, c1, c2) {
      if (wd !== w) w.set(wd);
      g.set(dw);
      scalars[0] = lr;
      scalars[16 / t.es] = c1;
      scalars[32 / t.es] = c2;
      run();
      if (wd !== w) wd.set(w);
    },
  };
}

function body(t: typeof F32X4, bytes: number, W: number, G: number, M: number, Vv: number, b1: number, b2: number, eps: number): number[] {
  // locals: i32 i (byte offset); v128 lr, c1, c2, g, m, v
  const I = 0,
    LR = 1,
    C1 = 2,
    C2 = 3,
    Gv = 4,
    Mv = 5,
    VV = 6;
  const get = (l: number) => [GET, ...u32(l)];
  const set = (l: number) => [SET, ...u32(l)];
  const op = (code: number) => simd(code);
  const load = (base: number) => [...get(I), ...simd(V.load, ...mem(base, 0))];
  const store = (base: number, value: number[]) => [...get(I), ...value, ...simd(V.store, ...mem(base, 0))];
  const splat = (at: number) => [I32, 0, ...(t.dtype === "f32" ? [F32LOAD, ...mem(at, 2)] : [F64LOAD, ...mem(at, 3)]), ...simd(t.splat)];
  const c: number[] = [
    ...splat(0),
    ...set(LR),
    ...splat(16),
    ...set(C1),
    ...splat(32),
    ...set(C2),
    I32,
    0,
    ...set(I),
    LOOP,
    VOID,
    ...load(G),
    ...set(Gv),
    // m*b1 + g*(1-b1)
    ...load(M),
    ...t.constant(b1),
    ...op(t.mul),
    ...get(Gv),
    ...t.constant(1 - b1),
    ...op(t.mul),
    ...op(t.add),
    ...set(Mv),
    // v*b2 + (g*g)*(1-b2)
    ...load(Vv),
    ...t.constant(b2),
    ...op(t.mul),
    ...get(Gv),
    ...get(Gv),
    ...op(t.mul),
    ...t.constant(1 - b2),
    ...op(t.mul),
    ...op(t.add),
    ...set(VV),
    ...store(M, get(Mv)),
    ...store(Vv, get(VV)),
    // w - ((m/c1)*lr) / (sqrt(v/c2) + eps)
    ...store(W, [
      ...load(W),
      ...get(Mv),
      ...get(C1),
      ...op(t.div),
      ...get(LR),
      ...op(t.mul),
      ...get(VV),
      ...get(C2),
      ...op(t.div),
      ...op(t.sqrt),
      ...t.constant(eps),
      ...op(t.add),
      ...op(t.div),
      ...op(t.sub),
    ]),
    ...get(I),
    I32,
    16,
    ADD,
    ...set(I),
    ...get(I),
    I32,
    ...s32(bytes),
    LTS,
    BRIF,
    0,
    END,
    END,
  ];
  return [
    ...vec([
      [...u32(1), I32T],
      [...u32(6), V128T],
    ]),
    ...c,
  ];
}
