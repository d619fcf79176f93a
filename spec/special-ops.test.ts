// erf, gelu, the trigonometric ops and round as docs/ops.md specifies them, beyond the registry loops:
//   - erf within 2 ulps of values computed by mpmath at 40 digits (erf's own measured bound: 1 ulp);
//   - gelu (exact and tanh forms) against mpmath, and their gradients against central differences;
//   - round sends halves to even (NumPy's np.round on the same inputs), in evaluate, in compiled
//     JavaScript and in WebAssembly SIMD lanes;
//   - each op compiles into a fused loop equal to the interpreter, f64 and f32;
//   - the float64 ONNX compositions (ONNX Runtime runs Tan, Asin, Acos, Atan and Erf in float only)
//     agree with evaluate across the whole domain, poles, ends and pieces included.

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { gelu, geluTanh } from "../ops/composites.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { tensor, type DType } from "../core/tensor.js";
import { compile } from "../compile/codegen/compile.js";
import { grad } from "../compile/autodiff/reverse.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { checkCompiled, checkGradients } from "./support/graph-checks.js";
import { mismatch, runOnOrt } from "./support/ort.js";
import type { Node } from "../core/node.js";

const EPS = 2 ** -52;
const ulps = (got: number, want: number) => (got === want ? 0 : Math.abs(got - want) / (Math.max(Math.abs(want), 2 ** -1022) * EPS));

/** erf(x) from mpmath 1.3 (mp.dps = 40), rounded to float64. */
const ERF_REF: [number, number][] = [
  [1e-300, 1.1283791670955126e-300],
  [1e-8, 1.1283791670955126e-8],
  [0.001, 0.0011283787909692365],
  [0.1, 0.1124629160182849],
  [0.5, 0.5204998778130465],
  [0.9, 0.7969082124228322],
  [0.99, 0.8385080695553698],
  [1, 0.8427007929497149],
  [1.3, 0.9340079449406524],
  [1.75, 0.9866716712191824],
  [1.999, 0.9953015566513705],
  [2, 0.9953222650189527],
  [2.5, 0.999593047982555],
  [3, 0.9999779095030014],
  [3.49, 0.9999992009745795],
  [3.5, 0.9999992569016276],
  [4, 0.9999999845827421],
  [4.5, 0.9999999998033839],
  [5, 0.9999999999984626],
  [5.5, 0.9999999999999927],
  [5.99, 1],
];

const apply1 = (f: (x: Node) => Node, xs: number[], dtype: DType = "f64") => {
  const g = trace({ x: { shape: [xs.length], dtype } }, ({ x }) => f(x));
  const feed = { x: tensor(xs, [xs.length], dtype) };
  return { g, feed, out: Array.from(evaluate(g, feed).out.data), compiled: Array.from(compile(g).run(feed).out.data) };
};

describe("erf", () => {
  test("within 2 ulps of mpmath's values, odd, at every piece boundary; compiled code bit for bit", () => {
    const xs = ERF_REF.flatMap(([x]) => [x, -x]);
    const { out, compiled } = apply1(b.erf, xs);
    ERF_REF.forEach(([x, want], i) => {
      assert.ok(ulps(out[2 * i], want) <= 2, `erf(${x}) = ${out[2 * i]}, mpmath ${want}: ${ulps(out[2 * i], want)} ulps`);
      assert.equal(out[2 * i + 1], -out[2 * i], `erf(-${x}) = -erf(${x})`);
    });
    assert.deepEqual(compiled, out);
  });
  test("special values: +-Infinity give +-1, NaN stays NaN, -0 stays -0, |x| >= 6 is +-1", () => {
    const { out, compiled } = apply1(b.erf, [Infinity, -Infinity, NaN, -0, 6, -30]);
    assert.deepEqual(out, [1, -1, NaN, -0, 1, -1]);
    assert.deepEqual(compiled, out);
  });
  test("gelu and geluTanh against mpmath; their gradients against central differences", () => {
    const xs = [-3, -1, -0.5, 0.3, 1, 2.5];
    const exact = [-0.0040496940948902835, -0.15865525393145705, -0.15426876936299344, 0.1853734266566858, 0.8413447460685429, 2.4844758366855597];
    const tanhForm = [-0.003637392081773019, -0.1588080093917233, -0.15428599017485609, 0.18537092354275925, 0.8411919906082767, 2.484915733910001];
    // 1 + erf(x / sqrt 2) cancels for negative x (as in PyTorch's formula): relative 1e-13 at -3
    apply1(gelu, xs).out.forEach((v, i) =>
      assert.ok(Math.abs(v - exact[i]) <= 1e-13 * Math.abs(exact[i]) + 1e-16, `gelu(${xs[i]}) = ${v}, mpmath ${exact[i]}`),
    );
    apply1(geluTanh, xs).out.forEach((v, i) =>
      assert.ok(Math.abs(v - tanhForm[i]) <= 1e-13 * Math.abs(tanhForm[i]) + 1e-16, `geluTanh(${xs[i]}) = ${v}, mpmath ${tanhForm[i]}`),
    );
    const rand = seededRandom(24);
    for (const f of [gelu, geluTanh]) {
      const g = trace({ x: [4, 5] }, ({ x }) => f(x).mul(x).sum());
      checkGradients(g, { x: randomTensor(rand, [4, 5], -3, 3) }, rand, { tol: 1e-7 });
    }
  });
});

describe("round: halves to even", () => {
  const xs = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, -0.4, 4503599627370497, 7.3, -7.7, Infinity, NaN];
  // np.round(xs).tolist() with numpy 1.26
  const numpy = [0, 2, 2, -0, -2, -2, 0, -0, 4503599627370497, 7, -8, Infinity, NaN];
  for (const dtype of ["f64", "f32"] as DType[]) {
    test(`evaluate, compiled JavaScript and WebAssembly lanes give NumPy's values (${dtype})`, () => {
      const want = dtype === "f32" ? numpy.map(Math.fround) : numpy;
      const { out, compiled } = apply1(b.round, xs, dtype);
      assert.deepEqual(out, want);
      assert.deepEqual(compiled, want);
      // a long row runs in WebAssembly SIMD lanes (nearest), each value repeated
      const long = Array.from({ length: 64 * xs.length }, (_, i) => xs[i % xs.length]);
      const big = apply1(b.round, long, dtype);
      assert.ok(compile(big.g).source.includes("WebAssembly SIMD"), "round should lower to WebAssembly");
      assert.deepEqual(big.compiled, big.out);
    });
  }
});

describe("trigonometric ops: fused and compiled equal to the interpreter", () => {
  const cases: [string, (x: Node) => Node, number, number][] = [
    ["sin", b.sin, -10, 10],
    ["cos", b.cos, -10, 10],
    ["tan", b.tan, -1.5, 1.5],
    ["asin", b.asin, -1, 1],
    ["acos", b.acos, -1, 1],
    ["atan", b.atan, -50, 50],
    ["erf", b.erf, -7, 7],
    ["round", b.round, -5, 5],
  ];
  for (const [name, f, lo, hi] of cases) {
    for (const dtype of ["f64", "f32"] as DType[]) {
      test(`${name} (${dtype}) in one loop stage with its neighbours`, () => {
        const rand = seededRandom(name.length + (dtype === "f32" ? 7 : 0));
        const g = trace({ x: { shape: [6, 9], dtype } }, ({ x }) => f(x).mul(1.5).add(x).sum(1));
        checkCompiled(g, { x: randomTensor(rand, [6, 9], lo, hi, dtype) }, dtype === "f32" ? 1e-6 : 1e-12);
        assert.equal(compile(g).stats.stages, 1);
      });
    }
  }
  test("boundary conventions: asin, acos outside [-1, 1] are NaN; at +-1 their gradients are infinite", () => {
    assert.deepEqual(apply1(b.asin, [1.5, -1, 1]).out, [NaN, -Math.PI / 2, Math.PI / 2]);
    const g = trace({ x: [2] }, ({ x }) => b.acos(x).sum());
    const dx = evaluate(grad(g), { x: tensor([1, -1], [2]) }).dx;
    assert.deepEqual(Array.from(dx.data), [-Infinity, -Infinity]);
  });
});

test("float64 ONNX compositions (tan, asin, acos, atan, erf) agree with evaluate on ONNX Runtime over their domains", async () => {
  const grids: [string, (x: Node) => Node, number[]][] = [
    ["tan", b.tan, [-1.5, -0.7, 0, 1e-9, 0.3, 1.2, 1.57, 3, -20]],
    ["asin", b.asin, [-1, -0.999999, -0.5, 0, 1e-12, 0.3, 0.9, 1, 1.5]],
    ["acos", b.acos, [-1, -0.999999, -0.5, 0, 1e-12, 0.3, 0.9, 0.999999, 1]],
    ["atan", b.atan, [-1e300, -50, -1, -0.41, 0, 1e-12, 0.2, 0.99, 1, 1.01, 7, 1e20, Infinity, -Infinity]],
    ["erf", b.erf, [...ERF_REF.map(([x]) => x), -0.3, -2.2, -4.1, -5.8, 6, 9, Infinity, -Infinity]],
  ];
  for (const [name, f, xs] of grids) {
    const { g, feed, out } = apply1(f, xs);
    const got = (await runOnOrt(g, feed)).out;
    const e = mismatch(got, evaluate(g, feed).out);
    assert.ok(e <= 1e-13, `${name}: ONNX Runtime gives ${Array.from(got.data)}, evaluate ${out} (mismatch ${e})`);
  }
});
