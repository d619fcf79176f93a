// compile's options: what a caller passes (CompileOptions), the one typed record compile works
// from with every default filled in (CompileConfig), and the cache key derived from that record
// field by field, so an option added to the record is in the key without anyone editing it.

import { GradcError } from "../../core/errors.js";
import type { Helper } from "./threads.js";

export interface CompileOptions {
  /**
   * Return outputs as views of the executable's own buffers, overwritten by the next `run`
   * (no copy). Default false: every run returns fresh tensors.
   */
  reuseOutputs?: boolean;
  /** Use WebAssembly SIMD for matmuls and loop stages when the engine supports it (default true). */
  wasm?: boolean;
  /**
   * Run matrix products with the native kernels when the addon is built and loaded (default true;
   * `GRADC_NATIVE=0` in the environment turns them off for the process). See compile/codegen/native/addon.ts.
   */
  native?: boolean;
  /**
   * Loop stages over at least this many elements run as WebAssembly SIMD (default SIMD_MIN,
   * 256). Tests set 1 so that small random graphs exercise the SIMD kernels.
   */
  simdMin?: number;
  /**
   * A helper thread (`helperThread()` from compile/codegen/worker-pool.js, Node only): matrix
   * products of at least THREAD_MIN_MACS multiply-adds split C's columns with it (the native
   * kernels split C with their own helper thread instead). Default none.
   */
  threads?: Helper;
}

/**
 * Loop stages smaller than this stay JavaScript: a call into WebAssembly and the input copies
 * cost more than the lanes save. Measured on the batchnorm backward's default run (fresh
 * outputs, inputs copied in), SIMD time / JavaScript time at N*D = 64, 256, 1024, 4096: float32
 * 0.67, 0.71, 0.69, 0.35 (JavaScript rounds every op with Math.fround); float64 0.91, 0.87, 0.77,
 * 0.67. It was 4096, which left float32 1.3x slower than float64 below it.
 */
export const SIMD_MIN = 256;

/** Products smaller than this stay on one thread: the hand-off costs tens of microseconds. */
export const THREAD_MIN_MACS = 1 << 20;

/** The options as compile uses them: every field present, defaults filled in. */
export interface CompileConfig {
  readonly reuseOutputs: boolean;
  readonly wasm: boolean;
  readonly native: boolean;
  readonly simdMin: number;
  readonly threads: Helper | undefined;
}

export function resolveOptions(opts: CompileOptions): CompileConfig {
  for (const k of ["reuseOutputs", "wasm", "native"] as const) {
    if (opts[k] !== undefined && typeof opts[k] !== "boolean") throw new GradcError(`compile: option ${k} must be true or false, got ${describe(opts[k])}`);
  }
  const { simdMin, threads } = opts;
  if (simdMin !== undefined && !(typeof simdMin === "number" && Number.isInteger(simdMin) && simdMin >= 1))
    throw new GradcError(`compile: option simdMin must be an integer >= 1, got ${describe(simdMin)}`);
  if (threads !== undefined && !isHelper(threads)) {
    throw new GradcError(
      `compile: option threads must be a helper thread (helperThread() from gradc's compile/codegen/worker-pool.js, with load, start and wait), got ${describe(threads)}`,
    );
  }
  return {
    reuseOutputs: opts.reuseOutputs === true,
    wasm: opts.wasm !== false,
    native: opts.native !== false,
    simdMin: opts.simdMin ?? SIMD_MIN,
    threads: opts.threads,
  };
}

const isHelper = (h: unknown): h is Helper =>
  typeof h === "object" && h !== null && ["load", "start", "wait"].every((f) => typeof (h as Record<string, unknown>)[f] === "function");

const describe = (v: unknown): string => (v === null ? "null" : typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`);

/**
 * The options' part of compile's cache key, one `name=value` per field of the record. A helper
 * thread counts by its presence (executables with one share an entry, as before the record).
 */
export function configKey(c: CompileConfig): string {
  return Object.entries(c)
    .map(([k, v]) => `${k}=${keyPart(k, v)}`)
    .join(";");
}

function keyPart(name: string, v: unknown): string {
  if (v === undefined) return "-";
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  if (typeof v === "object") return "set";
  throw new GradcError(`compile: option ${name} has no cache key form (${typeof v})`);
}
