// What counts as a sweep in a compiled schedule (docs/stats.md). Each kernel walks its data in its
// largest stages: a matrix product, a call, or the loop stages over the kernel's largest domain.
// Its smaller stages are prologues computing per-feature values from reductions already done.
// Measured against the kernel's own data, not the graph's largest input, so a network whose
// hidden layers are smaller than its input still shows a sweep per pass over a hidden layer.

import { sizeOf } from "../../core/tensor.js";
import type { Stage } from "./schedule.js";

/** Elements a stage walks: its loop domain, or the largest operand or result of a matmul or call. */
export function stageSize(st: Stage): number {
  if (st.kind === "loop") return sizeOf(st.domain);
  return Math.max(st.node.size, ...st.node.inputs.map((x) => x.size));
}

/** Which of a kernel's stages are sweeps. */
export function sweepsOf(stages: readonly Stage[]): boolean[] {
  const largest = Math.max(...stages.map(stageSize));
  return stages.map((st) => st.kind !== "loop" || stageSize(st) >= largest);
}
