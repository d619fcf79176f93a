// Accuracy is part of soundness: for all zoo graphs, data scales 1e-150..1e150, mean/std ratios up
// to 1e8, constant channels, N in {1, 2, 16}, float64 and float32, the optimized gradient is never
// less accurate than the derived one beyond a small factor, measured against a double-double
// reference (spec/precise.ts). Named regressions: the one-pass sums and std^3 of issue 13.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { evaluate } from "../core/evaluate.js";
import { Tensor, type DType } from "../core/tensor.js";
import type { Node } from "../core/node.js";
import * as b from "../core/builder.js";
import { trace } from "../core/trace.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { zoo } from "../ops/zoo.js";
import { zooGradientErrors, type DataShape, type ErrorPair } from "./support/accuracy.js";
import { randomCase } from "../compile/check/random-graphs.js";
import { evaluatePrecise, normwiseError } from "./support/precise.js";

/**
 * The stated bound: optimized error <= FACTOR * derived error + ULPS units of roundoff. Measured
 * worst: about 4x in most rows, 20x for layernorm over 3 features at mean/std 1e8 in float64 (the
 * canonical form computes x - mean(x) as (3x - sum(x)) / 3, where 3x rounds); the one-pass forms
 * this test exists to refuse were 1e3..1e15 times worse.
 */
const FACTOR = 32,
  ULPS = 16;
const unit = (dtype: DType) => (dtype === "f32" ? 2 ** -24 : 2 ** -53);
const within = (naive: number, optimized: number, dtype: DType) => optimized <= FACTOR * naive + ULPS * unit(dtype);

const f64Data: DataShape[] = [
  { scale: 1e-150, ratio: 0 },
  { scale: 1, ratio: 0 },
  { scale: 1e150, ratio: 0 },
  { scale: 1e100, ratio: 1e3 },
  { scale: 1, ratio: 1e6 },
  { scale: 1, ratio: 1e8 },
  { scale: 1, ratio: 1e3, constantChannel: true },
];
const f32Data: DataShape[] = [
  { scale: 1e-15, ratio: 0 },
  { scale: 1, ratio: 0 },
  { scale: 1e15, ratio: 0 },
  { scale: 1, ratio: 1e3 },
  { scale: 1, ratio: 1e6 },
  { scale: 1, ratio: 1e3, constantChannel: true },
];

function worstOf(runs: Record<string, ErrorPair>[]): Record<string, ErrorPair> {
  const out: Record<string, ErrorPair> = {};
  for (const r of runs)
    for (const [k, e] of Object.entries(r)) out[k] = { naive: Math.max(out[k]?.naive ?? 0, e.naive), optimized: Math.max(out[k]?.optimized ?? 0, e.optimized) };
  return out;
}

/** A shape for a zoo entry with batch n (axis 0) and small other axes. */
const shapeFor = (name: string, n: number) => zoo[name].shape.map((s, i) => (i === 0 ? n : Math.min(s, i === 1 ? 4 : 3)));

for (const name of Object.keys(zoo)) {
  test(`${name}: optimize(grad) is as accurate as grad at every scale, offset and dtype (bound ${FACTOR}x + ${ULPS} ulps)`, () => {
    for (const [dtype, rows] of [
      ["f64", f64Data],
      ["f32", f32Data],
    ] as const) {
      for (const data of rows) {
        for (const n of [1, 2, 16]) {
          // the worst over three draws: one draw's error is noisy when few values cancel
          const errors = worstOf([1, 2, 3].map((seed) => zooGradientErrors(name, shapeFor(name, n), dtype, data, seed)));
          for (const [k, e] of Object.entries(errors)) {
            assert.ok(
              within(e.naive, e.optimized, dtype),
              `${name} n=${n} ${dtype} scale ${data.scale} ratio ${data.ratio}${data.constantChannel ? " constant channel" : ""} ${k}: derived ${e.naive}, optimized ${e.optimized}`,
            );
          }
        }
      }
    }
  });
}

test("batchnorm: no one-pass sums (mean/std 1e6, float32) and no std^3 (scale 1e150, float64; 1e15, float32)", () => {
  // before: dx 2.4e-2 vs 9.4e-3 derived, dgamma 0.29 vs 0.085; dx 0.12 at both large scales
  const cases: [DType, DataShape][] = [
    ["f32", { scale: 1, ratio: 1e6 }],
    ["f64", { scale: 1e150, ratio: 0 }],
    ["f32", { scale: 1e15, ratio: 0 }],
  ];
  for (const [dtype, data] of cases) {
    for (let seed = 1; seed <= 3; seed++) {
      const e = zooGradientErrors("batchnorm", [64, 4], dtype, data, seed);
      for (const k of ["dx", "dgamma"])
        assert.ok(
          e[k].optimized <= 1.5 * e[k].naive + 4 * unit(dtype),
          `${dtype} ${JSON.stringify(data)} seed ${seed} ${k}: ${e[k].naive} -> ${e[k].optimized}`,
        );
    }
  }
});

test("batchnorm: a constant channel's dgamma (exactly 0) stays as small as the derived one (float32)", () => {
  // before: 8.6e-2 vs 2.6e-4 derived
  const e = zooGradientErrors("batchnorm", [64, 4], "f32", { scale: 1, ratio: 1e3, constantChannel: true }, 1);
  assert.ok(e.dgamma.optimized <= 1.5 * e.dgamma.naive, `${e.dgamma.naive} -> ${e.dgamma.optimized}`);
});

test("for all random graphs (float64, values up to 1e3 apart): optimize(g) is as accurate as g", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
      const c = randomCase(seed);
      const want = evaluatePrecise(c.graph, c.inputs);
      const naive = evaluate(c.graph, c.inputs),
        fast = evaluate(optimize(c.graph), c.inputs);
      for (const k of Object.keys(want)) {
        const en = normwiseError(naive[k].data, want[k]),
          eo = normwiseError(fast[k].data, want[k]);
        assert.ok(within(en, eo, "f64"), `seed ${seed} ${k}: derived ${en}, optimized ${eo}\n${c.graph}`);
      }
    }),
    // A fixed seed: the bound is relative to the derived graph's own error, which is exactly 0 on a
    // lucky draw, and fresh seeds then fail about one run in a thousand on a one-ulp difference
    // (randomCase(45075947)) or on a sum that cancels to its rounding noise (randomCase(1023294408)).
    // `npm run fuzz` draws fresh seeds.
    { numRuns: 300, seed: 1 },
  );
});

// Products of a value and a saturating function: where f saturates, the derived gradient's
// complement (1 - tanh^2, 1 - sigmoid) is exactly the small value it stands for; distributing the
// value over it (x - x tanh^2) makes two terms of size |x| that cancel and swamp the rest.
const saturating: Record<string, (x: Node) => Node> = {
  tanh: (x) => x.tanh(),
  sigmoid: (x) => b.sigmoid(x),
  "tanh^2": (x) => x.tanh().square(),
  "1 + tanh": (x) => x.tanh().add(1),
  "gelu (tanh form)": (x) =>
    x
      .add(x.mul(x).mul(x).mul(0.044715))
      .mul(Math.sqrt(2 / Math.PI))
      .tanh()
      .add(1)
      .mul(0.5),
};
const products: Record<string, (x: Node, f: Node) => Node> = {
  "x f(x)": (x, f) => x.mul(f),
  "x^2 f(x)": (x, f) => x.square().mul(f),
  "f(x) / x": (x, f) => f.div(x),
  "x f(x) + x": (x, f) => x.mul(f).add(x),
};

test("for all products of a value and a saturating function at large arguments: optimize(grad) is as accurate as grad", () => {
  const names = Object.keys(saturating),
    forms = Object.keys(products);
  fc.assert(
    fc.property(
      fc.constantFrom(...names),
      fc.constantFrom(...forms),
      fc.constantFrom<DType>("f32", "f64"),
      fc.integer({ min: 0, max: 16 }),
      fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
      (fname, form, dtype, power, unit01) => {
        const scale = 10 ** (dtype === "f32" ? Math.min(power, 9) : power);
        const g = (dt: DType) => grad(trace({ x: [4] }, ({ x }) => products[form](x, saturating[fname](x)).sum(), { dtype: dt }));
        const derived = g(dtype);
        // away from 0 (f(x)/x), both signs, spread over a decade
        const xs = unit01.map((u) => (u < 0 ? -1 : 1) * scale * (1 + 9 * Math.abs(u)));
        const x = new Tensor(dtype === "f32" ? Float32Array.from(xs) : Float64Array.from(xs), [4]);
        const want = evaluatePrecise(g("f64"), { x: new Tensor(Float64Array.from(x.data), [4]) }).dx;
        const en = normwiseError(evaluate(derived, { x }).dx.data, want);
        const eo = normwiseError(evaluate(optimize(derived), { x }).dx.data, want);
        assert.ok(within(en, eo, dtype), `${form} with f = ${fname}, ${dtype}, x = [${[...x.data]}]: derived ${en}, optimized ${eo}\n${optimize(derived)}`);
      },
    ),
    { numRuns: 300, seed: 231 },
  );
});
