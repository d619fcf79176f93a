// ONNX's backend node-test cases (spec/support/onnx-node-cases.json: source, license and what was
// left out are in its header), decoded to tensors. Integer inputs become float64 tensors (gradc
// stores integers as floats); an op's tests pick their cases by ONNX op type.

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor, type DType } from "../../core/tensor.js";

interface Encoded {
  dtype: string;
  shape: number[];
  data: (number | null)[];
}
interface RawCase {
  name: string;
  op: string;
  attrs: Record<string, unknown>;
  inputs: Encoded[];
  outputs: Encoded[];
}

export interface OnnxNodeCase {
  /** ONNX's test name, e.g. test_cumsum_1d_reverse. */
  name: string;
  /** ONNX op type, e.g. CumSum. */
  op: string;
  attrs: Record<string, unknown>;
  inputs: Tensor[];
  outputs: Tensor[];
  /** The ONNX element type of each input as published (float32, float64, int32, int64, ...). */
  inputTypes: string[];
}

// tests run from dist/spec/support; the fixture sits in the sources, beside dist/
const FILE = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "spec", "support", "onnx-node-cases.json");

const decode = (t: Encoded): Tensor => {
  const dtype: DType = t.dtype === "float32" ? "f32" : "f64";
  const data = t.data.map((v) => (v === null ? Number.NaN : v));
  return new Tensor(dtype === "f32" ? Float32Array.from(data) : Float64Array.from(data), t.shape);
};

let cache: OnnxNodeCase[] | undefined;

/** Every case, or those of one ONNX op type. */
export function onnxNodeCases(op?: string): OnnxNodeCase[] {
  cache ??= (JSON.parse(readFileSync(FILE, "utf8")).cases as RawCase[]).map((c) => ({
    name: c.name,
    op: c.op,
    attrs: c.attrs,
    inputs: c.inputs.map(decode),
    outputs: c.outputs.map(decode),
    inputTypes: c.inputs.map((t) => t.dtype),
  }));
  return op === undefined ? cache : cache.filter((c) => c.op === op);
}
