// The JavaScript backend: every stage. Loop stages as loop nests (loops.ts), products as tiled
// loops (../matmul.ts), call stages as the op's reference kernel. It is the table's last entry,
// so a stage no other backend takes runs here; it needs no buffers of its own.

import { GradcError } from "../../../core/errors.js";
import type { Node } from "../../../core/node.js";
import { checkKernelResult } from "../../../core/evaluate.js";
import { allocate, Tensor, type Data } from "../../../core/tensor.js";
import type { Backend, KernelBuilder, Run } from "../backend.js";
import { isContiguous, viewOf, type View } from "../layout.js";
import { matmulSource } from "../matmul.js";
import type { PlannedStage } from "../plan.js";
import { loopStageSource } from "./loops.js";
import { expKernel } from "../wasm/exp.js";
import { plannedGemm } from "../gemm.js";
import type { PlannedKernel } from "../../../core/registry.js";

export const jsBackend: Backend = {
  name: "js",
  accepts: () => true,
  bind: () => ({ lower }),
};

function lower(ps: PlannedStage, k: KernelBuilder): string[] {
  const { names } = k;
  if (ps.kind === "loop") return loopStageSource(ps, names, k.ids, (size) => vectorExp(size, k));
  if (ps.node.size === 0) return ["// an empty product: nothing to compute"];
  if (ps.kind === "matmul")
    return matmulSource(ps.node, { a: ps.a, b: ps.b, aName: names.buffer(ps.a.base), bName: names.buffer(ps.b.base), cName: names.buffer(ps.node) });
  if (ps.node.def.kernel) {
    k.setRun(plannedKernel(ps.node, k));
    return [`// (runs the planned kernel of op ${names.label(ps.node)}: OpDef.kernel, with the compiler's matrix product)`];
  }
  k.setRun(callKernel(ps.node, k));
  return [`// (runs the reference kernel of op ${names.label(ps.node)}: it has no codegen template)`];
}

/** A WebAssembly exp kernel the loop stage closes over (where wasm is on and the engine's exp is fdlibm's), by its generated name. */
function vectorExp(size: number, k: KernelBuilder): string | null {
  const kernel = k.config.wasm ? expKernel(size) : null;
  return kernel ? k.closeOver(["x", kernel])[0] : null;
}

/** An op's planned kernel (OpDef.kernel) over its operands' buffers, writing the node's buffer in place. */
function plannedKernel(node: Node, k: KernelBuilder): Run {
  const { isBuffer, slot } = k.buffers;
  const bases = node.inputs.map((x) => viewOf(x, isBuffer)!.base);
  const text = k.text(node);
  let kernel: PlannedKernel;
  try {
    kernel = node.def.kernel!(node.inputs, node.attrs, node, plannedGemm(k.config.native));
  } catch (e) {
    throw new GradcError(`compile: planning the kernel of ${node.op} failed: ${(e as Error).message}\n  at ${text}`);
  }
  return (arrays) => {
    try {
      kernel(
        bases.map((base) => (base.isInput ? arrays[k.inputIndex(base)] : k.arrayOf(slot.get(base)!))),
        k.arrayOf(slot.get(node)!),
      );
    } catch (e) {
      // a kernel's complaint about its data (an index out of range) names the node, as the reference kernel's does
      if (e instanceof GradcError) throw e;
      throw new GradcError(`compile(...).run: ${node.op} failed: ${(e as Error).message}\n  at ${text}`);
    }
  };
}

/**
 * A call stage: the op's reference kernel on tensors over the buffers, its result checked and
 * copied in. An operand read through strides (a batched matmul's transposed or broadcast one) is
 * gathered into a row-major scratch first.
 */
function callKernel(node: Node, k: KernelBuilder): Run {
  const { isBuffer, slot } = k.buffers;
  const views = node.inputs.map((x) => {
    const v = viewOf(x, isBuffer)!;
    return { x, base: v.base, read: isContiguous(v, x.shape) ? null : gatherer(x, v) };
  });
  const def = node.def;
  const text = k.text(node);
  if (node.size === 0) return () => {}; // an empty result needs no kernel, as in evaluate
  return (arrays) => {
    const out = k.arrayOf(slot.get(node)!);
    const ts = views.map(({ x, base, read }) => {
      const data = base.isInput ? arrays[k.inputIndex(base)] : k.arrayOf(slot.get(base)!);
      return new Tensor(read ? read(data) : data, x.shape);
    });
    let r: Tensor;
    try {
      r = def.impl(ts, node.attrs, node);
    } catch (e) {
      // a kernel's complaint about its data (an index out of range) names the node, as evaluate's does
      if (e instanceof GradcError) throw e.message.includes("\n  at ") ? e : new GradcError(`${e.message}\n  at ${text}`);
      throw new GradcError(`compile(...).run: ${node.op} failed: ${(e as Error).message}\n  at ${text}`);
    }
    checkKernelResult("compile(...).run", node, r);
    out.set(r.data);
  };
}

/** Copies a strided view of a buffer into a row-major scratch of the view's shape (the same scratch each call). */
function gatherer(x: Node, v: View): (data: Data) => Data {
  const scratch = allocate(x.size, x.dtype);
  const { shape } = x;
  const rank = shape.length;
  return (data) => {
    const index = new Array<number>(rank).fill(0);
    let at = 0;
    for (let i = 0; i < scratch.length; i++) {
      scratch[i] = data[at];
      // odometer over the view's axes, innermost first
      for (let d = rank - 1; d >= 0; d--) {
        at += v.strides[d];
        if (++index[d] < shape[d]) break;
        at -= v.strides[d] * shape[d];
        index[d] = 0;
      }
    }
    return scratch;
  };
}
