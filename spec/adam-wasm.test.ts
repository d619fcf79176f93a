// Adam on a large parameter runs as a hand-emitted WebAssembly SIMD loop (nn/adam-wasm.ts) that
// keeps the moments in its memory. It must compute, bit for bit, what the update formula
// computes as a graph run by the interpreter (each op rounded to the dtype), step after step.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { Graph } from "../core/graph.js";
import { evaluate } from "../core/evaluate.js";
import { RandomState } from "../nn/random.js";
import { Tensor, type DType } from "../core/tensor.js";
import { adam, ADAM_SIMD_MIN as SIMD_MIN, type OptimConfig } from "../nn/optim.js";

/** Adam's update as a graph, the formula written op by op. */
function adamGraph(shape: number[], dtype: DType, b1: number, b2: number, eps: number): Graph {
  const [w, g, m, v] = ["w", "dw", "m", "v"].map((name) => b.input(name, shape, dtype));
  const [lr, c1, c2] = ["lr", "c1", "c2"].map((name) => b.input(name, [1], dtype));
  const mi = b.add(b.mul(m, b1), b.mul(g, 1 - b1));
  const vi = b.add(b.mul(v, b2), b.mul(b.mul(g, g), 1 - b2));
  const step = b.div(b.mul(b.div(mi, c1), lr), b.add(b.sqrt(b.div(vi, c2)), eps));
  return new Graph([w, g, m, v, lr, c1, c2], { w: b.sub(w, step), m: mi, v: vi });
}

const sameBits = (a: ArrayLike<number>, e: ArrayLike<number>, what: string) => {
  assert.equal(a.length, e.length, what);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], e[i])) assert.fail(`${what}[${i}]: ${a[i]}, reference ${e[i]}`);
};

for (const dtype of ["f64", "f32"] as const) {
  // SIMD_MIN + 3 elements: the last vector is partial (3 of 4 lanes in f32, 1 of 2 in f64)
  test(`adam on a ${dtype} parameter of ${SIMD_MIN + 3} elements equals the update graph bit for bit, step after step`, () => {
    const rs = new RandomState(7);
    const shape = [SIMD_MIN + 3];
    const make = (scale: number) => {
      const t = new Tensor(dtype === "f32" ? new Float32Array(shape[0]) : new Float64Array(shape[0]), shape);
      t.data.set(rs.randn(shape[0]).map((x) => x * scale));
      return t;
    };
    const w = make(1);
    let held = w;
    const config: OptimConfig = { learningRate: 1e-2 };
    const g = adamGraph(shape, dtype, 0.9, 0.999, 1e-8);
    let ref = {
      w: new Tensor(w.data.slice(), shape),
      m: new Tensor(
        w.data.map(() => 0),
        shape,
      ),
      v: new Tensor(
        w.data.map(() => 0),
        shape,
      ),
    };
    for (let t = 1; t <= 5; t++) {
      const dw = make(t === 3 ? 1e-20 : 0.5); // one step with tiny gradients: eps dominates
      const lr = 1e-2 * 0.9 ** (t - 1);
      config.learningRate = lr;
      const out = evaluate(g, { ...ref, dw, lr: [lr], c1: [1 - 0.9 ** t], c2: [1 - 0.999 ** t] });
      ref = { w: out.w, m: out.m, v: out.v };
      // odd steps hand in the original tensor (updated in place), even ones the returned one
      const next = adam(t % 2 ? w : held, dw, config);
      held = next;
      sameBits((t % 2 ? w : next).data, ref.w.data, `step ${t}: w`);
      sameBits(next.data, ref.w.data, `step ${t}: the returned parameter`);
      if (t % 2 === 0) w.data.set(next.data); // the original follows along for the odd steps
      sameBits(config.m!.data, ref.m.data, `step ${t}: m`);
      sameBits(config.v!.data, ref.v.data, `step ${t}: v`);
    }
  });
}

test("adam takes moments handed in by the caller on a large parameter", () => {
  const n = SIMD_MIN;
  const w = new Tensor(new Float64Array(n).fill(1), [n]);
  const dw = new Tensor(new Float64Array(n).fill(0.5), [n]);
  const m = new Tensor(new Float64Array(n).fill(0.25), [n]);
  const v = new Tensor(new Float64Array(n).fill(0.125), [n]);
  const config: OptimConfig = { learningRate: 1e-3, m, v, t: 4 };
  adam(w, dw, config);
  const mi = 0.9 * 0.25 + (1 - 0.9) * 0.5;
  const vi = 0.999 * 0.125 + (1 - 0.999) * 0.25;
  const wi = 1 - (1e-3 * (mi / (1 - 0.9 ** 5))) / (Math.sqrt(vi / (1 - 0.999 ** 5)) + 1e-8);
  assert.equal(config.t, 5);
  assert.equal(config.m!.data[n - 1], mi);
  assert.equal(config.v!.data[0], vi);
  assert.equal(w.data[7], wi);
});

test(`adam on a float32 parameter below ${SIMD_MIN} values (the plain loop) equals the update graph bit for bit, as the SIMD kernel does`, () => {
  const n = 1000;
  const rs = new RandomState(9);
  const shape = [n];
  const w = new Tensor(Float32Array.from(rs.randn(n)), shape);
  const g = adamGraph(shape, "f32", 0.9, 0.999, 1e-8);
  let ref = { w: new Tensor(w.data.slice(), shape), m: new Tensor(new Float32Array(n), shape), v: new Tensor(new Float32Array(n), shape) };
  const config: OptimConfig = { learningRate: 1e-3 };
  for (let t = 1; t <= 4; t++) {
    const dw = new Tensor(
      Float32Array.from(rs.randn(n), (x) => x * (t === 2 ? 1e-20 : 0.5)),
      shape,
    );
    const out = evaluate(g, { ...ref, dw, lr: [1e-3], c1: [1 - 0.9 ** t], c2: [1 - 0.999 ** t] });
    ref = { w: out.w, m: out.m, v: out.v };
    adam(w, dw, config);
    sameBits(w.data, ref.w.data, `step ${t}: w`);
    sameBits(config.m!.data, ref.m.data, `step ${t}: m`);
    sameBits(config.v!.data, ref.v.data, `step ${t}: v`);
  }
});
