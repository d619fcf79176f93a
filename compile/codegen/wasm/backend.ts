// The WebAssembly SIMD backend: loop stages whose every op has a lane lowering (f64x2, f32x4),
// in one module over one memory that holds every buffer of the executable (arena.ts), and the
// main blocks of matrix products (matmul.ts). Only where the engine has SIMD.

import type { Node } from "../../../core/node.js";
import type { Backend, KernelBuilder } from "../backend.js";
import type { Buffers } from "../buffers.js";
import { fillLine } from "../js/loops.js";
import { loadsOf } from "../layout.js";
import { matmulSource, wasmShare } from "../matmul.js";
import { THREAD_MIN_MACS, type CompileConfig } from "../options.js";
import type { PlannedLoop, PlannedStage } from "../plan.js";
import { buildArena, type Arena } from "./arena.js";
import { simdLanes } from "./loops.js";
import { wasmMatmul, wasmSimdSupported } from "./matmul.js";
import type { Lanes } from "./ops.js";

/** The lanes a loop stage was accepted with. */
const lanesOf = new WeakMap<PlannedStage, Lanes>();

export const wasmBackend: Backend = {
  name: "wasm",
  accepts(ps, config) {
    if (!config.wasm || ps.kind === "call" || !wasmSimdSupported()) return false;
    if (ps.kind === "matmul") return wasmShare(ps.node) !== null;
    if (ps.size < config.simdMin) return false;
    const lanes = simdLanes(ps.st, ps.terms);
    if (lanes) lanesOf.set(ps, lanes);
    return lanes !== null;
  },
  bind(stages, buffers, config) {
    const loops = stages.filter((ps): ps is PlannedLoop => ps.kind === "loop");
    const arena = loops.length ? bindArena(loops, buffers) : null;
    const index = new Map(loops.map((ps, i) => [ps, i]));
    const lower = (ps: PlannedStage, k: KernelBuilder): string[] => {
      if (ps.kind === "matmul") return lowerMatmul(ps, k, config);
      if (ps.kind !== "loop" || !arena) throw new Error("wasm backend: handed a stage it did not bind");
      const [fn] = k.closeOver(["s", arena.fns[index.get(ps)!]]);
      return [
        ...ps.st.stores.filter((s) => s.kind === "reduce").map((s) => fillLine(s, k.names)),
        `${fn}(); // WebAssembly SIMD, ${lanesOf.get(ps)!.dtype === "f32" ? "f32x4" : "f64x2"} lanes along the innermost axis`,
      ];
    };
    // a memory too large for the arena: the loop stages go on to JavaScript, the products stay
    return { lower, declined: loops.length && !arena ? new Set(loops) : undefined };
  },
};

/**
 * Put every buffer, and the inputs the SIMD stages read, into one memory: the buffers' arrays
 * become views of it, the slots the stages touch are pinned (an output among them is copied out
 * after the run), the inputs are placed (copied in at the start of a run).
 */
function bindArena(loops: readonly PlannedLoop[], buffers: Buffers): Arena | null {
  const inputs = [
    ...new Set(
      loops.flatMap((s) =>
        loadsOf([...s.terms.values()])
          .map((l) => l.base)
          .filter((n) => n.isInput),
      ),
    ),
  ];
  const arena = buildArena(
    buffers.arrays,
    (n) => buffers.slot.get(n)!,
    inputs,
    loops.map((ps) => ({ st: ps.st, terms: ps.terms, lanes: lanesOf.get(ps)! })),
  );
  if (!arena) return null;
  buffers.arrays = arena.arrays;
  for (const ps of loops) {
    const touched: Node[] = [...ps.st.stores.map((x) => x.node), ...loadsOf([...ps.terms.values()]).map((l) => l.base)];
    for (const n of touched) if (!n.isInput) buffers.pinned.add(buffers.slot.get(n)!);
  }
  for (const [x, view] of arena.inputs) buffers.placedInputs.set(x, view);
  return arena;
}

function lowerMatmul(ps: PlannedStage & { kind: "matmul" }, k: KernelBuilder, config: CompileConfig): string[] {
  const { node, a, b } = ps;
  const share = wasmShare(node)!;
  const spec = { ...share, sa: a.strides as [number, number], sb: b.strides as [number, number], aSize: a.base.size, bSize: b.base.size };
  const [name] = k.closeOver(["w", wasmMatmul(spec, ps.macs >= THREAD_MIN_MACS ? config.threads : undefined)]);
  const { names } = k;
  return matmulSource(node, { a, b, aName: names.buffer(a.base), bName: names.buffer(b.base), cName: names.buffer(node) }, { name, spec });
}
