// Peer conformance: ONNX's own backend node-test cases (inputs and expected outputs as ONNX
// publishes them, spec/support/onnx-node-cases.json) for CumSum, Round, Sin, Cos, Tan, Asin, Acos
// and Atan, run on evaluate and on compiled code. Float32 cases run in float32 (ONNX computed its
// expected values with numpy in float32: within 2 float32 ulps of gradc's correctly rounded ones).
// The fixture also holds Conv, ConvTranspose, MaxPool, AveragePool and Resize cases: spec/onnx-node-conv.test.ts.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { cumsum } from "../ops/composites.js";
import { Graph } from "../core/graph.js";
import { evaluate } from "../core/evaluate.js";
import type { Node } from "../core/node.js";
import type { Tensor } from "../core/tensor.js";
import { compile } from "../compile/codegen/compile.js";
import { onnxNodeCases, type OnnxNodeCase } from "./support/onnx-node-cases.js";

/** How each ONNX op type is written with gradc's ops: (operand, the case) -> node. */
const AS_GRADC: Record<string, (x: Node, c: OnnxNodeCase) => Node> = {
  CumSum: (x, c) => cumsum(x, c.inputs[1].data[0], { reverse: c.attrs.reverse === 1, exclusive: c.attrs.exclusive === 1 }),
  Round: (x) => b.round(x),
  Sin: (x) => b.sin(x),
  Cos: (x) => b.cos(x),
  Tan: (x) => b.tan(x),
  Asin: (x) => b.asin(x),
  Acos: (x) => b.acos(x),
  Atan: (x) => b.atan(x),
};

function agree(got: Tensor, want: Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const ulp = want.dtype === "f32" ? 2 ** -23 : 2 ** -52;
  for (let i = 0; i < want.size; i++) {
    const [g, w] = [got.data[i], want.data[i]];
    assert.ok(Object.is(g, w) || Math.abs(g - w) <= 2 * ulp * Math.abs(w), `${what}: [${i}] is ${g}, ONNX expects ${w}`);
  }
}

test("ONNX's node tests for CumSum, Round and the trigonometric ops pass on evaluate and compiled code", () => {
  const ran: string[] = [];
  for (const c of onnxNodeCases().filter((k) => Object.hasOwn(AS_GRADC, k.op))) {
    const x0 = c.inputs[0];
    const x = b.input("x", x0.shape, x0.dtype);
    const g = new Graph([x], { y: AS_GRADC[c.op](x, c) });
    agree(evaluate(g, { x: x0 }).y, c.outputs[0], `${c.name} (evaluate)`);
    agree(compile(g).run({ x: x0 }).y, c.outputs[0], `${c.name} (compiled)`);
    ran.push(c.name);
  }
  // every deterministic case ONNX has for these ops: 9 CumSum, Round, and an example per trigonometric op
  assert.equal(ran.length, 16, ran.join(", "));
});
