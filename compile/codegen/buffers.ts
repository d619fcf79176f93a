// The executable's buffers: one typed array per slot, shared by values whose lives do not overlap,
// planned from the lowered stages. Backends bind into the plan: WebAssembly moves every buffer
// into its one memory (`arrays` become views of it), pins the slots its stages touch and places
// the inputs its stages read.

import { GradcError } from "../../core/errors.js";
import type { Node } from "../../core/node.js";
import { allocate, type Data } from "../../core/tensor.js";
import { loadsOf, viewOf, type IsBuffer } from "./layout.js";
import type { PlannedStage } from "./plan.js";
import type { Schedule } from "./schedule.js";

export interface Buffers {
  readonly isBuffer: IsBuffer;
  arrays: Data[];
  readonly slot: Map<Node, number>;
  /** The values each slot holds over the run, in order. */
  readonly holders: Node[][];
  /** Slots holding graph outputs (not aliases of inputs). */
  readonly outputSlots: number[];
  /** Slots a backend reads or writes in memory of its own: never swapped for a fresh output array. */
  readonly pinned: Set<number>;
  /** Inputs a backend reads from memory of its own: the caller's array is copied in at each run. */
  readonly placedInputs: Map<Node, Data>;
}

/**
 * Buffers by liveness: a buffer whose last reader ran in an earlier kernel is reused. With
 * `ownOutputs`, an output never takes over a freed buffer (it gets a fresh array each run, which
 * an earlier intermediate in the same slot would have to share).
 */
export function planBuffers(sch: Schedule, kernels: readonly (readonly PlannedStage[])[], isBuffer: IsBuffer, ownOutputs: boolean): Buffers {
  const producedIn = new Map<Node, number>();
  const lastUse = new Map<Node, number>();
  kernels.forEach((stages, k) => {
    for (const ps of stages) {
      if (ps.kind === "loop") {
        for (const s of ps.st.stores) producedIn.set(s.node, k);
        for (const l of loadsOf([...ps.terms.values()])) lastUse.set(l.base, k);
      } else {
        producedIn.set(ps.node, k);
        for (const x of ps.node.inputs) lastUse.set(viewOf(x, isBuffer)!.base, k);
      }
    }
  });
  const outs = new Set(Object.values(sch.graph.outputs).map((out) => sch.aliases.get(out) ?? out));
  for (const out of outs) lastUse.set(out, Infinity);
  const arrays: Data[] = [];
  const holders: Node[][] = [];
  const slot = new Map<Node, number>();
  const free: number[] = [];
  const live: { node: Node; slot: number }[] = [];
  const producedBy = kernels.map((): Node[] => []);
  for (const [n, pk] of producedIn) producedBy[pk].push(n);
  kernels.forEach((_, k) => {
    for (let i = live.length - 1; i >= 0; i--) {
      if ((lastUse.get(live[i].node) ?? producedIn.get(live[i].node)!) < k) {
        free.push(live[i].slot);
        live.splice(i, 1);
      }
    }
    for (const n of producedBy[k]) {
      let j = ownOutputs && outs.has(n) ? -1 : free.findIndex((s) => arrays[s].length === n.size && arrays[s] instanceof Float32Array === (n.dtype === "f32"));
      if (j >= 0) j = free.splice(j, 1)[0];
      else {
        j = arrays.length;
        arrays.push(named([n], () => allocate(n.size, n.dtype)));
        holders.push([]);
      }
      slot.set(n, j);
      holders[j].push(n);
      live.push({ node: n, slot: j });
    }
  });
  const outputSlots = [...new Set([...outs].filter((n) => slot.has(n)).map((n) => slot.get(n)!))];
  return { isBuffer, arrays, slot, holders, outputSlots, pinned: new Set(), placedInputs: new Map() };
}

/** An allocation failure names the node(s) the buffer holds, not only its size. */
export function named<T>(nodes: readonly Node[], make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof GradcError)) throw e;
    throw new GradcError(`${e.message}\n  for the buffer of ${nodes.map(String).join(", ")}`);
  }
}
