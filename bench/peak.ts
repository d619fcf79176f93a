// The machine's arithmetic peak for WebAssembly's 128-bit lanes, measured: a loop of
// independent multiply-then-add chains (acc = acc * m + a, no fused multiply-add: wasm has
// none outside relaxed SIMD), twelve accumulators so the chains' latency is hidden. Matrix
// products are reported as a fraction of this figure; the native kernels' against the same loop in
// their own vectors (measureNativePeak).
//
//   node dist/bench/peak.js   # f64x2 and f32x4 GFLOP/s

import { pathToFileURL } from "node:url";
import { nativeKernels } from "../compile/codegen/native/addon.js";
import { ADD, BRIF, END, GET, I32, LOOP, LTS, SET, VOID, moduleBytes, s32, simd, V, vec } from "../compile/codegen/wasm/emit.js";

const CHAINS = 12;
const STEPS = 1 << 20;

/** A function that runs STEPS iterations of CHAINS multiply-adds in one lane type. */
function peakModule(dtype: "f64" | "f32"): () => void {
  const [mul, add, splat] = dtype === "f32" ? [V.f32x4Mul, V.f32x4Add, V.f32x4Splat] : [V.f64x2Mul, V.f64x2Add, V.f64x2Splat];
  // locals: 0 = counter (i32); 1..CHAINS = accumulators, CHAINS+1 = m, CHAINS+2 = a (v128)
  const M = CHAINS + 1,
    A = CHAINS + 2;
  const c: number[] = [];
  const constant = (v: number) =>
    dtype === "f32" ? [0x43, ...new Uint8Array(new Float32Array([v]).buffer)] : [0x44, ...new Uint8Array(new Float64Array([v]).buffer)];
  c.push(...constant(0.999999), ...simd(splat), SET, M, ...constant(1e-7), ...simd(splat), SET, A);
  for (let k = 1; k <= CHAINS; k++) c.push(...constant(k), ...simd(splat), SET, k);
  c.push(LOOP, VOID);
  for (let k = 1; k <= CHAINS; k++) c.push(GET, k, GET, M, ...simd(mul), GET, A, ...simd(add), SET, k);
  c.push(GET, 0, I32, 1, ADD, SET, 0, GET, 0, I32, ...s32(STEPS), LTS, BRIF, 0, END);
  // keep the chains live: store their sum at address 0
  c.push(I32, 0, GET, 1);
  for (let k = 2; k <= CHAINS; k++) c.push(GET, k, ...simd(add));
  c.push(...simd(V.store, 4, 0), END);
  const body = [
    ...vec([
      [1, 0x7f],
      [CHAINS + 2, 0x7b],
    ]),
    ...c,
  ];
  const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(1, [body], ["run"])));
  return inst.exports.run as () => void;
}

/** Best GFLOP/s over a few runs, wall clock (the best run is the one least disturbed by other processes). */
export function measurePeak(dtype: "f64" | "f32", runs = 15): number {
  const run = peakModule(dtype);
  const lanes = dtype === "f32" ? 4 : 2;
  const flops = STEPS * CHAINS * lanes * 2;
  run();
  let best = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    run();
    best = Math.max(best, flops / ((performance.now() - t) / 1e3) / 1e9);
  }
  return best;
}

/**
 * The same measure in the native kernels' vectors (compile/codegen/native/addon.ts: 512-bit with
 * AVX-512), twenty-four chains in C++ (its compiler keeps mul and add apart): best GFLOP/s of a
 * few runs, or null when the addon is not built.
 */
export function measureNativePeak(dtype: "f64" | "f32", runs = 15): { gflops: number; bits: number } | null {
  const nk = nativeKernels();
  if (!nk) return null;
  let best = 0;
  nk.peak(dtype === "f32", 1 << 18);
  for (let r = 0; r < runs; r++) best = Math.max(best, nk.peak(dtype === "f32", 1 << 20));
  return { gflops: best, bits: nk.info().vectorBytes * 8 };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const dtype of ["f64", "f32"] as const) console.log(`${dtype}: ${measurePeak(dtype).toFixed(1)} GFLOP/s (128-bit lanes, mul + add)`);
  for (const dtype of ["f64", "f32"] as const) {
    const p = measureNativePeak(dtype);
    console.log(p ? `${dtype}: ${p.gflops.toFixed(1)} GFLOP/s (native ${p.bits}-bit vectors, mul + add)` : `${dtype}: native kernels not built`);
  }
}
