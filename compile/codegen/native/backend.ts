// The native backend: matrix products, plain and batched, in the addon's kernels, when
// it is built and loaded. It takes no loop stages.

import type { Node } from "../../../core/node.js";
import type { Data } from "../../../core/tensor.js";
import type { Backend, KernelBuilder, Run } from "../backend.js";
import type { View } from "../layout.js";
import { nativeBatched, nativeMatmul } from "../matmul.js";
import { THREAD_MIN_MACS, type CompileConfig } from "../options.js";
import type { PlannedStage } from "../plan.js";
import { wasmSimdSupported } from "../wasm/matmul.js";
import type { NativeKernels, NativePlan } from "./addon.js";

type Gemm = { gemm: NativeKernels["gemm"]; plan: NativePlan };
/** The plan made when a stage was accepted, used when it is lowered (one plan per stage). */
const plans = new WeakMap<PlannedStage, Gemm>();

function planOf(ps: PlannedStage, config: CompileConfig): Gemm | null {
  if (!config.native) return null;
  if (ps.kind === "matmul") {
    const wasmOn = config.wasm && wasmSimdSupported();
    const big = ps.macs >= THREAD_MIN_MACS;
    return nativeMatmul(ps.node, ps.a, ps.b, wasmOn, big && config.threads !== undefined);
  }
  return ps.kind === "call" && ps.node.op === "matmul" ? nativeBatched(ps.node, ps.views, config.wasm && wasmSimdSupported()) : null;
}

export const nativeBackend: Backend = {
  name: "native",
  accepts(ps, config) {
    const plan = planOf(ps, config);
    if (plan) plans.set(ps, plan);
    return plan !== null;
  },
  bind: () => ({ lower }),
};

function lower(ps: PlannedStage, k: KernelBuilder): string[] {
  const native = plans.get(ps)!;
  const { names } = k;
  if (ps.kind === "call") {
    k.setRun(batchedKernel(ps.node, ps.views, native, k));
    return [`// (batched matmul ${names.label(ps.node)}: native kernel, compile/codegen/native/addon.ts)`];
  }
  if (ps.kind !== "matmul") throw new Error("native backend: handed a loop stage");
  const [fn, plan] = k.closeOver(["g", native.gemm], ["q", native.plan]);
  return [
    `${fn}(${plan}, ${names.buffer(ps.a.base)}, ${names.buffer(ps.b.base)}, ${names.buffer(ps.node)}); // native kernel (compile/codegen/native/addon.ts)`,
  ];
}

/** A batched matmul's native kernel over its operands' buffers, read through their views (the plan holds the strides). */
function batchedKernel(node: Node, views: readonly View[], g: Gemm, k: KernelBuilder): Run {
  const { slot } = k.buffers;
  const [a, b] = views.map((v) => v.base);
  const at = (base: Node, arrays: readonly Data[]) => (base.isInput ? arrays[k.inputIndex(base)] : k.arrayOf(slot.get(base)!));
  return (arrays) => g.gemm(g.plan, at(a, arrays), at(b, arrays), k.arrayOf(slot.get(node)!));
}
