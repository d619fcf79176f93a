// The optional native matrix-product kernels (gemm.h and addon.cc beside this file, an N-API addon built by node-gyp at
// install into build/Release/gradc_native.node): found and loaded lazily, the first time a matmul
// is compiled. No static import of Node's modules (compile.ts bundles for the browser): the addon
// is required through `process.getBuiltinModule` (Node 20.16+), so a browser, a Node without it,
// an install whose build failed, or `GRADC_NATIVE=0` in the environment all fall back to the
// WebAssembly and JavaScript kernels. `compile(g, { native: false })` turns it off per executable.
//
// Contract (the kernel's header says how): each C[i,j] summed over p in increasing order from
// zero, a multiply then a separate add per step. float64 equals `evaluate` bit for bit; float32
// rounds the product then the sum, as the WebAssembly f32x4 kernel does (the same bits as it).

import type { Data } from "../../../core/tensor.js";

/** A checked, sized product: sizes, strides, scratch (an N-API external). */
export type NativePlan = object & { readonly __nativePlan: unique symbol };

export interface NativeKernels {
  /**
   * Plan C[m,n] = A[m,k] @ B[k,n] with A's strides (sa0, sa1) and B's (sb0, sb1), in elements.
   * With `split`, each call computes half of C's rows (or columns) on the addon's helper thread.
   * `batch` products (1 for a plain product): the t-th reads A from t*sab and B from t*sbb and
   * writes C from t*m*n.
   */
  plan(
    f32: boolean,
    m: number,
    k: number,
    n: number,
    sa0: number,
    sa1: number,
    sb0: number,
    sb1: number,
    split: boolean,
    batch: number,
    sab: number,
    sbb: number,
  ): NativePlan;
  /** Run a plan on arrays of its dtype (checked: type, and every index of each view inside its array). */
  gemm(plan: NativePlan, a: Data, b: Data, c: Data): void;
  /** Bytes per vector register the addon was built for (64: AVX-512). */
  info(): { vectorBytes: number; fpContract: boolean };
  /** GFLOP/s of `steps` rounds of 24 independent mul-then-add chains in native vectors (bench/peak.ts's measure). */
  peak(f32: boolean, steps: number): number;
  /**
   * A typed array of `length` (>= 1) values over a block of the output pool (pool.h beside this
   * file): its values are whatever the block last held, so the caller overwrites every one. The
   * block goes back to the pool when V8 frees the array.
   */
  output(f32: boolean, length: number): Data;
  /** The pool's blocks: bytes mapped (in use or idle), bytes idle, blocks ever mapped, blocks handed out again. */
  pool(): PoolStats;
  /** Unmap the pool's idle blocks. */
  trim(): void;
}

export interface PoolStats {
  mappedBytes: number;
  idleBytes: number;
  mapped: number;
  reused: number;
}

let loaded: NativeKernels | null | undefined;
let why = "";

/** The addon, or null when it is absent, disabled or unloadable (`nativeStatus()` says which). */
export function nativeKernels(): NativeKernels | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } }).process;
  if (!proc || typeof proc.getBuiltinModule !== "function") {
    why = "not Node 20.16+ (no process.getBuiltinModule)";
    return loaded;
  }
  if (proc.env?.GRADC_NATIVE === "0") {
    why = "turned off by GRADC_NATIVE=0";
    return loaded;
  }
  try {
    const { createRequire } = proc.getBuiltinModule("node:module") as typeof import("node:module");
    // dist/compile/codegen/native/addon.js -> <package>/build/Release/gradc_native.node
    const require = createRequire(import.meta.url);
    // built with -march=native: on another CPU model it could stop the process on an instruction
    // that CPU lacks (SIGILL, not an exception), so it loads only where it was built
    const os = proc.getBuiltinModule("node:os") as typeof import("node:os");
    const here = { cpu: os.cpus()[0]?.model ?? "unknown", arch: os.arch() };
    const built = require("../../../../build/Release/built-for.json") as { cpu: string; arch: string; files?: string[]; sources?: string };
    if (built.cpu !== here.cpu || built.arch !== here.arch) {
      why = `built for ${built.cpu} (${built.arch}), this is ${here.cpu} (${here.arch}): rebuild with \`npm rebuild gradc\` (or node compile/codegen/native/install.mjs)`;
      return loaded;
    }
    // an addon built from other sources (a pull since the build) may take other arguments
    const { readFileSync } = proc.getBuiltinModule("node:fs") as typeof import("node:fs");
    const { createHash } = proc.getBuiltinModule("node:crypto") as typeof import("node:crypto");
    const sources = createHash("sha256");
    // the files the install hashed (its list: compile/codegen/native/install.mjs)
    for (const f of built.files ?? []) sources.update(readFileSync(new URL(`../../../../compile/codegen/native/${f}`, import.meta.url)));
    if (built.sources !== sources.digest("hex")) {
      why = "built from other sources than compile/codegen/native/ holds now: rebuild with `npm rebuild gradc` (or node compile/codegen/native/install.mjs)";
      return loaded;
    }
    loaded = require("../../../../build/Release/gradc_native.node") as NativeKernels;
    why = `loaded (${loaded.info().vectorBytes * 8}-bit vectors)`;
  } catch (e) {
    if (/built-for\.json/.test((e as Error).message ?? ""))
      why = "built without a record of its CPU (an older install): rebuild with `npm rebuild gradc` (or node compile/codegen/native/install.mjs)";
    else why = `not built or not loadable (${((e as Error).message ?? String(e)).split("\n")[0]})`;
    loaded = null;
  }
  return loaded;
}

/** Whether the native kernels are in use, and if not, why (for benchmarks and `gradc` output). */
export function nativeStatus(): string {
  nativeKernels();
  return why;
}
