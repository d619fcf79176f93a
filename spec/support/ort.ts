// Running exported graphs on ONNX Runtime (onnxruntime-node, a devDependency) for the export tests
// and the benchmark: one place that turns gradc tensors into ORT feeds and back.

import ort from "onnxruntime-node";
import type { Graph } from "../../core/graph.js";
import { Tensor } from "../../core/tensor.js";
import { exportOnnx, onnxOutputNames } from "../../compile/export/onnx.js";

const ORT_TYPE = { f64: "float64", f32: "float32" } as const;

/** One ORT session on one thread (the tests share two cores with other work). */
export async function ortSession(bytes: Uint8Array, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential" });
}

export function feeds(inputs: Readonly<Record<string, Tensor>>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(inputs)) out[k] = new ort.Tensor(ORT_TYPE[t.dtype], t.data, [...t.shape]);
  return out;
}

/** Export `g`, run it once on ORT with `inputs`, return its outputs as gradc tensors. */
export async function runOnOrt(g: Graph, inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
  const session = await ortSession(exportOnnx(g));
  try {
    const result = await session.run(feeds(inputs));
    const out: Record<string, Tensor> = {};
    const names = onnxOutputNames(g);
    for (const [i, k] of g.outputNames.entries()) {
      const v = result[names[i]];
      out[k] = new Tensor(v.data as Float64Array | Float32Array, v.dims.map(Number));
    }
    return out;
  } finally {
    await session.release();
  }
}

/**
 * How far `got` is from `want`: the largest difference relative to the larger of 1 and want's
 * largest magnitude. Infinity when a NaN meets a number, or shapes differ.
 */
export function mismatch(got: Tensor, want: Tensor): number {
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) return Infinity;
  let scale = 1;
  for (const v of want.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.size; i++) {
    const a = got.data[i],
      b = want.data[i];
    if (Number.isNaN(a) || Number.isNaN(b) || !Number.isFinite(a) || !Number.isFinite(b)) {
      if (!Object.is(a, b)) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(a - b) / scale);
  }
  return worst;
}
