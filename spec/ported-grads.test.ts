// Gradient cases ported from TensorFlow.js's op tests (spec/ported-cases.ts), each checked three
// ways: the derived gradient graph interpreted (evaluate(grad(...))), compiled
// (compile(grad(...))) and optimized then compiled (compile(optimize(grad(...)))). The graph
// differentiated is sum(f(inputs) * dy), whose gradient is the vector-Jacobian product with dy.

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { tensor, type Tensor } from "../core/tensor.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { logSoftmax, softmax } from "../ops/softmax.js";
import { tfjsCases, type PortedCase } from "./ported-cases.js";

type Attrs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Each case's op as a gradc user writes it. */
const programs: Record<string, (x: Record<string, Node>, attrs: Attrs) => Node> = {
  abs: ({ a }) => b.abs(a),
  sign: ({ a }) => b.sign(a),
  expm1: ({ a }) => b.expm1(a),
  log1p: ({ a }) => b.log1p(a),
  sigmoid: ({ a }) => b.sigmoid(a),
  pow: ({ a, b: e }) => b.pow(a, e),
  clip: ({ x }, { min, max }) => b.clip(x, min, max),
  softmax: ({ x }) => softmax(x),
  logSoftmax: ({ x }) => logSoftmax(x),
  max: ({ x }, { axes, keepdims }) => b.max(x, axes, keepdims),
  concat: ({ x1, x2 }, { axis }) => b.concat([x1, x2], axis),
  take: ({ t, indices }, { axis }) => b.take(t, indices, axis),
  takeAlongAxis: ({ t, indices }, { axis }) => b.takeAlongAxis(t, indices, axis),
  matmul: ({ a, b: c }, { transposeA, transposeB }) => b.matmul(a, c, transposeA, transposeB),
};

function caseGraph(c: PortedCase): { g: Graph; feed: Record<string, Tensor> } {
  const all = { ...c.inputs, ...(c.consts ?? {}), dy: c.dy };
  const g = trace(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.shape])), (xs) => {
    const program = programs[c.op];
    assert.ok(program, `no program for op ${c.op}`);
    return b.sum(b.mul(program(xs, c.attrs ?? {}), xs.dy));
  });
  const feed = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, tensor(v.data, v.shape)]));
  return { g, feed };
}

/** Equal to `tol` relative (1e-9: most expected values are float64 evaluations); NaN and ±Infinity exactly. */
function close(got: Tensor, want: number[], what: string, tol = 1e-9): void {
  assert.equal(got.size, want.length, `${what}: ${got.size} values, expected ${want.length}`);
  want.forEach((w, i) => {
    const v = got.data[i];
    const ok = Number.isFinite(w) ? Math.abs(v - w) <= tol * Math.max(1, Math.abs(w)) : Object.is(v, w) || (Number.isNaN(w) && Number.isNaN(v));
    assert.ok(ok, `${what}[${i}] = ${v}, expected ${w}\n  got      ${Array.from(got.data)}\n  expected ${want}`);
  });
}

describe("gradients ported from TensorFlow.js's op tests (tfjs-core/src/ops/*_test.ts)", () => {
  for (const c of tfjsCases) {
    test(`${c.from}${c.note ? ` (${c.note})` : ""}`, () => {
      const { g, feed } = caseGraph(c);
      const dg = grad(g, { wrt: Object.keys(c.inputs) });
      const runs: [string, Record<string, Tensor>][] = [
        ["evaluate(grad(...))", evaluate(dg, feed)],
        ["compile(grad(...))", compile(dg).run(feed)],
        ["compile(optimize(grad(...)))", compile(optimize(dg)).run(feed)],
      ];
      for (const [how, out] of runs) {
        for (const [name, want] of Object.entries(c.expect)) close(out[`d${name}`], want, `${how}: d${name}`, c.tol);
      }
    });
  }
});
