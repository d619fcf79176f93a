// The backend seam. A backend says which planned stages it takes, binds the buffers they share,
// and lowers each one into the kernel being generated; it never decides stages, lanes or
// unrolling (plan.ts and the schedule do). compile tries the table's backends in order: the
// first that accepts a stage, and binds it, lowers it. JavaScript takes every stage, so it is last.
// Adding a backend: one folder with a `Backend`, one line in BACKENDS (docs/compiler.md).

import type { Node } from "../../core/node.js";
import type { Data } from "../../core/tensor.js";
import type { Buffers } from "./buffers.js";
import type { KernelNames, Names } from "./js/loops.js";
import type { CompileConfig } from "./options.js";
import type { PlannedStage } from "./plan.js";
import { jsBackend } from "./js/backend.js";
import { nativeBackend } from "./native/backend.js";
import { wasmBackend } from "./wasm/backend.js";

/** A kernel run in place of generated code (a call stage): it reads the run's input arrays. */
export type Run = (arrays: readonly Data[]) => void;

/** What a backend's lowering is handed: the kernel under construction. */
export interface KernelBuilder {
  readonly config: CompileConfig;
  readonly buffers: Buffers;
  readonly names: Names;
  /** Generated names unique within the kernel (t0, o1, a2). */
  readonly ids: KernelNames;
  /**
   * Values the kernel's closure holds (a WebAssembly kernel, a native plan), named by prefix with
   * one shared index: closeOver(["g", gemm], ["q", plan]) -> ["g3", "q3"].
   */
  closeOver(...values: [prefix: string, value: unknown][]): string[];
  /** The array of a slot as the kernels see it (an output's fresh array during a run). */
  arrayOf(slot: number): Data;
  /** The position of an input among the run's arrays. */
  inputIndex(n: Node): number;
  /** The node in the graph's text form, for run-time messages. */
  text(n: Node): string;
  /** A call stage's kernel: a function run instead of generated code. */
  setRun(run: Run): void;
}

export interface Backend {
  readonly name: string;
  /** Whether it can run this stage under these options (engine support, sizes, dtypes). */
  accepts(stage: PlannedStage, config: CompileConfig): boolean;
  /**
   * Allocate and bind what the stages it accepted share (WebAssembly: one memory for them and
   * every buffer), and say how it lowers them.
   */
  bind(stages: readonly PlannedStage[], buffers: Buffers, config: CompileConfig): Binding;
}

export interface Binding {
  lower: Lower;
  /** Accepted stages it could not bind after all (a memory too large): they go on to the next backend. */
  declined?: ReadonlySet<PlannedStage>;
}

/**
 * One stage's source lines: a loop stage's statements (compile puts them in a block), a matmul's
 * statements, or a call stage's comment (its kernel given with setRun).
 */
export type Lower = (stage: PlannedStage, k: KernelBuilder) => string[];

/** The backends, in the order they are offered each stage. */
export const BACKENDS: readonly Backend[] = [nativeBackend, wasmBackend, jsBackend];

/** A loop stage over a domain with an empty axis, or a product with an empty result. */
export const hasNoWork = (ps: PlannedStage): boolean => (ps.kind === "loop" ? ps.size === 0 : ps.kind === "matmul" && ps.node.size === 0);

/** Which backend lowers each stage: offered in table order, taken by the first that accepts and binds it. */
export function assignBackends(
  kernels: readonly (readonly PlannedStage[])[],
  buffers: Buffers,
  config: CompileConfig,
  table: readonly Backend[] = BACKENDS,
): Map<PlannedStage, Lower> {
  const assigned = new Map<PlannedStage, Lower>();
  const all = kernels.flat();
  // a stage with no iterations (a loop over an empty axis) is only its fills: JavaScript writes them
  const empty = all.filter(hasNoWork);
  if (empty.length) {
    const { lower } = jsBackend.bind(empty, buffers, config);
    for (const ps of empty) assigned.set(ps, lower);
  }
  for (const backend of table) {
    const mine = all.filter((ps) => !assigned.has(ps) && backend.accepts(ps, config));
    if (!mine.length) continue;
    const { lower, declined } = backend.bind(mine, buffers, config);
    for (const ps of mine) if (!declined?.has(ps)) assigned.set(ps, lower);
  }
  return assigned;
}
