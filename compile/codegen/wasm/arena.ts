// One WebAssembly memory per executable that runs SIMD loop stages: every buffer of the
// executable lives in it (JavaScript stages and matmuls use the same typed arrays, now views of
// it), and the inputs the SIMD stages read get a slot each, copied in at the start of a run.
// The memory is sized once (maximum = initial) and never grows: growing would detach the views.

import type { Node } from "../../../core/node.js";
import type { Data } from "../../../core/tensor.js";
import type { Term } from "../layout.js";
import type { LoopStage, Store } from "../schedule.js";
import { moduleBytes } from "./emit.js";
import { simdStageBody } from "./loops.js";
import type { Lanes } from "./ops.js";

export interface SimdStage {
  st: LoopStage;
  terms: ReadonlyMap<Store, Term>;
  lanes: Lanes;
}

export interface Arena {
  /** The executable's buffers, as views of the memory (same lengths and types). */
  arrays: Data[];
  /** Views for the inputs the SIMD stages read: copy the caller's array in before running. */
  inputs: Map<Node, Data>;
  /** One function per SIMD stage, in the order given. */
  fns: (() => void)[];
  bytes: number;
}

/** Arenas stay under 2 GiB: addresses are i32 constants in the generated code. */
const MAX_BYTES = 2 ** 31 - 65536;

/**
 * Lay out the buffers and inputs, generate one module with a function per stage, instantiate it.
 * Null when the memory would be too large or cannot be allocated (the caller stays in JavaScript).
 */
export function buildArena(arrays: readonly Data[], slotOf: (n: Node) => number, inputs: readonly Node[], stages: readonly SimdStage[]): Arena | null {
  let top = 0;
  const place = (bytes: number) => {
    const at = top;
    // 16-byte aligned, with 16 bytes of padding after: a row's last partial vector may read past its end
    top += Math.ceil(bytes / 16) * 16 + 16;
    return at;
  };
  const slotAt = arrays.map((a) => place(a.byteLength));
  const inputAt = new Map(inputs.map((x) => [x, place(x.size * (x.dtype === "f32" ? 4 : 8))]));
  if (top > MAX_BYTES) return null;
  const addr = (n: Node) => (n.isInput ? inputAt.get(n)! : slotAt[slotOf(n)]);
  const bodies = stages.map((s) => simdStageBody(s.st, s.terms, s.lanes, addr));
  const pages = Math.max(1, Math.ceil(top / 65536));
  let inst: WebAssembly.Instance;
  try {
    inst = new WebAssembly.Instance(
      new WebAssembly.Module(
        moduleBytes(
          pages,
          bodies,
          bodies.map((_, i) => `s${i}`),
        ),
      ),
    );
  } catch (e) {
    if (e instanceof RangeError) return null; // out of memory for the arena
    throw e;
  }
  const buf = (inst.exports.mem as WebAssembly.Memory).buffer;
  const view = (like: { f32: boolean; length: number }, at: number): Data =>
    like.f32 ? new Float32Array(buf, at, like.length) : new Float64Array(buf, at, like.length);
  return {
    arrays: arrays.map((a, j) => view({ f32: a instanceof Float32Array, length: a.length }, slotAt[j])),
    inputs: new Map(inputs.map((x) => [x, view({ f32: x.dtype === "f32", length: x.size }, inputAt.get(x)!)])),
    fns: stages.map((_, i) => inst.exports[`s${i}`] as () => void),
    bytes: top,
  };
}
