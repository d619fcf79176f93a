// Where `run` gets its fresh output arrays (docs/compiler.md, "Fresh outputs"). Large ones come
// from the native addon's pool (compile/codegen/native/pool.h): typed arrays over memory that stays
// mapped and faulted in, handed back to the pool when V8 frees the array, so a training loop that
// drops each step's outputs reuses the same few blocks. Small ones, and all of them without the
// addon, are ordinary new arrays.
//
// A pooled array holds stale values: the run that takes one writes every element of it (a kernel
// store over the whole slot, or a copy out of a pinned slot).

import { allocate, type Data, type DType } from "../../core/tensor.js";
import { nativeKernels } from "./native/addon.js";

/**
 * Outputs below this many bytes are plain new arrays: V8 serves them from its own heap or malloc's
 * small bins, cheaper than the call into the addon.
 */
export const POOL_MIN_BYTES = 256 * 1024;

export type Allocator = (size: number, dtype: DType) => Data;

/** Fresh output arrays: pooled when `native` and the addon is loaded, else plain new arrays. */
export function outputAllocator(native: boolean): Allocator {
  const nk = native ? nativeKernels() : null;
  if (!nk) return allocate;
  return (size, dtype) => {
    if (size * (dtype === "f32" ? 4 : 8) < POOL_MIN_BYTES) return allocate(size, dtype);
    try {
      return nk.output(dtype === "f32", size);
    } catch {
      return allocate(size, dtype); // the pool could not map a block: the ordinary path says why, if it fails too
    }
  };
}

/** A fresh array holding a copy of `data`. */
export function copyOf(data: Data, alloc: Allocator): Data {
  const out = alloc(data.length, data instanceof Float32Array ? "f32" : "f64");
  out.set(data);
  return out;
}
