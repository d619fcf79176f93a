// The native matrix-product kernels (compile/codegen/native/), as specifications:
// float64 products equal `evaluate` bit for bit for every shape, transpose and stride; float32
// products equal the WebAssembly kernel's bits (and so stay within the summation bound of the
// interpreter's); a wrong call is a JavaScript error, never a crash; with the addon turned off
// (GRADC_NATIVE=0) gradc runs its WebAssembly and JavaScript kernels. Skipped where the addon
// is not built (the fallback is then what every other test runs).

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { trace } from "../core/trace.js";
import { Graph } from "../core/graph.js";
import { matrixTranspose } from "../core/builder.js";
import { evaluate } from "../core/evaluate.js";
import { compile } from "../compile/codegen/compile.js";
import { Tensor } from "../core/tensor.js";
import { nativeKernels } from "../compile/codegen/native/addon.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";
import { FullyConnectedNet } from "../nn/net.js";
import { RandomState } from "../nn/random.js";

const nk = nativeKernels();
const skip = nk ? false : "the native addon is not built (gradc uses its WebAssembly kernels)";

/**
 * A product of strided operands: form bit 1 transposes A (x.T), bit 2 transposes B (W.T), bit 4
 * takes B as a broadcast row (stride 0 along k), bit 8 takes A as every other column of a wider
 * array (a reshape-and-index view is not a view in gradc, so: a transposed reshape, strides k and 1).
 */
function product(m: number, k: number, n: number, form: number, dtype: "f64" | "f32") {
  const ta = form & 1,
    tb = form & 2,
    bcast = form & 4;
  const g = trace({ a: { shape: ta ? [k, m] : [m, k], dtype }, c: { shape: bcast ? [1, n] : tb ? [n, k] : [k, n], dtype } }, ({ a, c }) => {
    const A = ta ? a.T : a;
    const B = bcast ? c.broadcastTo([k, n]) : tb ? c.T : c;
    return { out: A.matmul(B), bound: A.abs().matmul(B.abs()) };
  });
  return g;
}

const dims = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 70 }));

describe("native float64 products", { skip }, () => {
  test("for all shapes (edge sizes 1, odd, not a multiple of the vector width) and strided operands, compiled equals evaluate bit for bit", () => {
    fc.assert(
      fc.property(dims, fc.integer({ min: 0, max: 7 }), arbSeed(), ([m, k, n], form, seed) => {
        const g = product(m, k, n, form, "f64");
        const rand = seededRandom(seed);
        const x = { a: randomTensor(rand, g.inputs[0].shape), c: randomTensor(rand, g.inputs[1].shape) };
        const exe = compile(g);
        assert.match(exe.source, /native kernel/);
        const got = exe.run(x).out,
          want = evaluate(g, x).out;
        assert.deepEqual(Array.from(got.data), Array.from(want.data), `${m}x${k} @ ${k}x${n} (form ${form})`);
      }),
      runs(120),
    );
  });
  test("the notebook's products (50x3072 @ 3072x100, x.T @ da, da @ W.T) equal evaluate and the WebAssembly kernel bit for bit", () => {
    const cases: [number, number, number, number][] = [
      [50, 3072, 100, 0],
      [3072, 50, 100, 1],
      [50, 100, 100, 2],
    ];
    for (const [m, k, n, form] of cases) {
      const g = product(m, k, n, form, "f64");
      const rand = seededRandom(m + k + n);
      const x = { a: randomTensor(rand, g.inputs[0].shape), c: randomTensor(rand, g.inputs[1].shape) };
      const got = compile(g).run(x).out,
        off = compile(g, { native: false }).run(x).out,
        want = evaluate(g, x).out;
      assert.deepEqual(Array.from(got.data), Array.from(want.data));
      assert.deepEqual(Array.from(off.data), Array.from(want.data));
    }
  });
  test("signed zeros, infinities and NaN go through as the interpreter's sums (0 + -0 = +0; inf - inf = NaN)", () => {
    const g = product(3, 4, 17, 0, "f64");
    const a = randomTensor(seededRandom(3), [3, 4]),
      c = randomTensor(seededRandom(4), [4, 17]);
    a.data.set([-0, -0, -0, -0], 0);
    a.data[4] = Infinity;
    c.data[5 * 1] = -Infinity;
    c.data[17 + 2] = NaN;
    const got = compile(g).run({ a, c }).out.data,
      want = evaluate(g, { a, c }).out.data;
    for (let i = 0; i < want.length; i++) assert.ok(Object.is(got[i], want[i]), `[${i}]: ${got[i]} vs ${want[i]}`);
  });
});

describe("a training iteration", { skip }, () => {
  test("the notebook's net with batchnorm gives the same loss and gradients, bit for bit, with the native kernels on and off (f64 and f32)", () => {
    for (const dtype of ["f64", "f32"] as const) {
      const rs = new RandomState(5);
      const x = rs.randn(12, 300) as Float64Array;
      const X = new Tensor(dtype === "f32" ? Float32Array.from(x) : x, [12, 300]);
      const y = rs.randint(10, undefined, [12]);
      const make = (native: boolean) =>
        new FullyConnectedNet([40, 30], { inputDim: 300, normalization: "batchnorm", weightScale: 5e-2, seed: 3, dtype, native });
      const on = make(true).loss(X, y),
        off = make(false).loss(X, y);
      assert.equal(on.loss, off.loss, dtype);
      for (const k of Object.keys(off.grads)) assert.deepEqual(Array.from(on.grads[k].data), Array.from(off.grads[k].data), `${dtype} ${k}`);
    }
  });
});

/**
 * A batched product of strided operands: form bit 1 transposes A's last two axes, bit 2 B's, bit 4
 * broadcasts B from one matrix over the whole batch (batch stride 0), bit 8 broadcasts A along the
 * batch's first axis only (a partial broadcast: its batch axes do not collapse, so it is copied).
 */
function batched(batch: number[], m: number, k: number, n: number, form: number, dtype: "f64" | "f32") {
  const ta = form & 1,
    tb = form & 2,
    bcastB = form & 4,
    partA = form & 8 && batch.length === 2;
  const aBatch = partA ? [1, batch[1]] : batch;
  const g = trace(
    { a: { shape: [...aBatch, ...(ta ? [k, m] : [m, k])], dtype }, c: { shape: [...(bcastB ? [] : batch), ...(tb ? [n, k] : [k, n])], dtype } },
    ({ a, c }) => {
      const A0 = ta ? matrixTranspose(a) : a;
      const A = partA ? A0.broadcastTo([...batch, m, k]) : A0;
      const B0 = tb ? matrixTranspose(c) : c;
      const B = bcastB ? B0.broadcastTo([...batch, k, n]) : B0;
      return { out: A.matmul(B), bound: A.abs().matmul(B.abs()) };
    },
  );
  return g;
}

describe("native batched products", { skip }, () => {
  test("for all batch shapes and strided operands (transposed, broadcast), float64 equals evaluate bit for bit; float32 goes native under the plain product's rule, within the summation bound", () => {
    const shapes = fc.tuple(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 1, max: 30 }),
    );
    fc.assert(
      fc.property(shapes, fc.integer({ min: 0, max: 15 }), arbSeed(), ([batch, m, k, n], form, seed) => {
        for (const dtype of ["f64", "f32"] as const) {
          const g = batched(batch, m, k, n, form, dtype);
          const rand = seededRandom(seed);
          const x = { a: randomTensor(rand, g.inputs[0].shape, -2, 2, dtype), c: randomTensor(rand, g.inputs[1].shape, -2, 2, dtype) };
          const exe = compile(g);
          const fast = dtype === "f64" || (n >= 8 && m * k * n >= 16384);
          assert.equal(/batched matmul \S+: native kernel/.test(exe.source), fast, exe.source);
          const got = exe.run(x),
            off = compile(g, { native: false }).run(x),
            want = evaluate(g, x);
          const what = `${dtype} [${batch}] ${m}x${k} @ ${k}x${n} (form ${form})`;
          // with the addon off, the reference kernel over gathered operands: the interpreter's bits
          assert.deepEqual(Array.from(off.out.data), Array.from(want.out.data), what);
          if (!fast || dtype === "f64") assert.deepEqual(Array.from(got.out.data), Array.from(want.out.data), what);
          else {
            for (let i = 0; i < got.out.size; i++) {
              const tol = (k + 2) * 2 ** -23 * want.bound.data[i] + 1e-30;
              assert.ok(Math.abs(got.out.data[i] - want.out.data[i]) <= tol, `${what} [${i}]: ${got.out.data[i]} vs ${want.out.data[i]}`);
            }
          }
        }
      }),
      runs(40),
    );
  });
  test("a transposed or broadcast operand of a batched product is read in place, not copied", () => {
    for (const form of [1, 2, 3, 4, 7]) {
      const full = batched([3, 2], 9, 17, 33, form, "f64");
      const g = new Graph(full.inputs, { out: full.output("out") });
      const exe = compile(g);
      assert.equal(exe.kernels.length, 1, exe.source);
      assert.match(exe.source, /batched matmul \S+: native kernel/);
    }
    // a partial broadcast of the batch does not collapse to one step: copied first
    const full = batched([3, 2], 9, 17, 33, 8, "f64");
    assert.equal(compile(new Graph(full.inputs, { out: full.output("out") })).kernels.length, 2);
  });
});

describe("native float32 products", { skip }, () => {
  test("for all shapes and strides, the same bits as the WebAssembly f32x4 kernel, within k * 2^-23 * sum |a||b| of the interpreter's", () => {
    const dims32 = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 8, max: 70 }));
    fc.assert(
      fc.property(dims32, fc.integer({ min: 0, max: 7 }), arbSeed(), ([m, k, n], form, seed) => {
        const g = product(m, k, n, form, "f32");
        const rand = seededRandom(seed);
        const x = { a: randomTensor(rand, g.inputs[0].shape, -2, 2, "f32"), c: randomTensor(rand, g.inputs[1].shape, -2, 2, "f32") };
        const exe = compile(g);
        // below the WebAssembly threshold both run the interpreter's JavaScript rounding
        assert.equal(/native kernel/.test(exe.source), m * k * n >= 16384, exe.source);
        const got = exe.run(x),
          wasm = compile(g, { native: false }).run(x).out,
          want = evaluate(g, x);
        assert.deepEqual(Array.from(got.out.data), Array.from(wasm.data), `${m}x${k} @ ${k}x${n} (form ${form})`);
        for (let i = 0; i < got.out.size; i++) {
          const tol = (k + 2) * 2 ** -23 * want.bound.data[i] + 1e-30;
          assert.ok(Math.abs(got.out.data[i] - want.out.data[i]) <= tol, `[${i}]: ${got.out.data[i]} vs ${want.out.data[i]}`);
        }
      }),
      runs(60),
    );
  });
  test("with WebAssembly off (wasm: false) a float32 product keeps the interpreter's rounding: JavaScript, equal to evaluate bit for bit", () => {
    const g = product(20, 300, 30, 1, "f32");
    const rand = seededRandom(9);
    const x = { a: randomTensor(rand, g.inputs[0].shape, -2, 2, "f32"), c: randomTensor(rand, g.inputs[1].shape, -2, 2, "f32") };
    const exe = compile(g, { wasm: false });
    assert.doesNotMatch(exe.source, /native kernel/);
    assert.deepEqual(Array.from(exe.run(x).out.data), Array.from(evaluate(g, x).out.data));
  });
});

describe("two threads", { skip }, () => {
  test("a product split with the addon's helper thread (rows, or columns when C has few rows) equals the one-thread product bit for bit, f64 and f32", () => {
    for (const dtype of ["f64", "f32"] as const) {
      for (const [m, k, n, form] of [
        [50, 3072, 100, 0],
        [3072, 50, 100, 1],
        [4, 5000, 70, 2],
        [7, 300, 20, 3],
      ] as const) {
        const g = product(m, k, n, form, dtype);
        const rand = seededRandom(m * n + k);
        const x = { a: randomTensor(rand, g.inputs[0].shape, -1, 1, dtype), c: randomTensor(rand, g.inputs[1].shape, -1, 1, dtype) };
        // compile's threads option asks for a helper; the native kernels use their own
        const helper = { load: () => 0, start: () => 0, wait: () => {} };
        const one = compile(g).run(x).out,
          two = compile(g, { threads: helper }).run(x).out;
        assert.deepEqual(Array.from(two.data), Array.from(one.data), `${dtype} ${m}x${k} @ ${k}x${n}`);
      }
    }
    // directly, including shapes below compile's threshold
    const rand = seededRandom(2);
    for (const [m, k, n] of [
      [8, 1, 1],
      [9, 33, 17],
      [1, 40, 100],
      [2, 7, 16],
      [3, 0, 40],
    ]) {
      const A = Float64Array.from({ length: m * k }, () => rand() - 0.5),
        B = Float64Array.from({ length: k * n }, () => rand() - 0.5);
      const [c1, c2] = [new Float64Array(m * n), new Float64Array(m * n).fill(NaN)];
      nk!.gemm(nk!.plan(false, m, k, n, k, 1, n, 1, false, 1, 0, 0), A, B, c1);
      nk!.gemm(nk!.plan(false, m, k, n, k, 1, n, 1, true, 1, 0, 0), A, B, c2);
      assert.deepEqual(Array.from(c2), Array.from(c1), `${m}x${k} @ ${k}x${n}`);
    }
  });
});

describe("a wrong call is a JavaScript error, not a crash", { skip }, () => {
  const k = nk!;
  test("plans refuse negative, fractional, NaN and huge sizes or strides, and a wrong argument count", () => {
    assert.throws(() => k.plan(false, -1, 2, 2, 2, 1, 2, 1, false, 1, 0, 0), RangeError);
    assert.throws(() => k.plan(false, 2, 2.5, 2, 2, 1, 2, 1, false, 1, 0, 0), RangeError);
    assert.throws(() => k.plan(false, 2, 2, NaN, 2, 1, 2, 1, false, 1, 0, 0), RangeError);
    assert.throws(() => k.plan(false, 2, 2, 2, -3, 1, 2, 1, false, 1, 0, 0), RangeError);
    assert.throws(() => k.plan(false, 2 ** 41, 2, 2, 2, 1, 2, 1, false, 1, 0, 0), RangeError);
    assert.throws(() => (k.plan as (...a: unknown[]) => unknown)(false, 2, 2), TypeError);
    assert.throws(() => (k.plan as (...a: unknown[]) => unknown)("f64", 2, 2, 2, 2, 1, 2, 1, false, 1, 0, 0), TypeError);
    assert.throws(() => (k.plan as (...a: unknown[]) => unknown)(false, 2, 2, 2, 2, 1, 2, 1, "yes", 1, 0, 0), TypeError);
  });
  test("gemm refuses arrays too short for the plan's views, of the other dtype, or not typed arrays, and a plan that is not one", () => {
    const p = k.plan(false, 4, 3, 5, 3, 1, 5, 1, false, 1, 0, 0);
    const [A, B, C] = [new Float64Array(12), new Float64Array(15), new Float64Array(20)];
    k.gemm(p, A, B, C);
    assert.throws(() => k.gemm(p, A.subarray(1), B, C), RangeError);
    assert.throws(() => k.gemm(p, A, B.subarray(0, 14), C), RangeError);
    assert.throws(() => k.gemm(p, A, B, C.subarray(0, 19)), RangeError);
    assert.throws(() => k.gemm(p, new Float32Array(12), B, C), TypeError);
    assert.throws(() => k.gemm(p, A, [0, 1] as unknown as Float64Array, C), TypeError);
    assert.throws(() => k.gemm({} as never, A, B, C), TypeError);
    assert.throws(() => (k.gemm as (...a: unknown[]) => unknown)(p, A, B), TypeError);
    // a strided view: A = x.T of a 3x4 x (strides 1, 4) reaches index 3*4-1 = 11
    const t = k.plan(false, 4, 3, 5, 1, 4, 5, 1, false, 1, 0, 0);
    k.gemm(t, A, B, C);
    assert.throws(() => k.gemm(t, A.subarray(0, 11), B, C), RangeError);
  });
  test("a batched plan checks the last product's views: (batch - 1) * stride + extent values", () => {
    // 3 products of 2x4 @ 4x5, A's t-th at 8t, B's at 20t, C's at 10t
    const p = k.plan(false, 2, 4, 5, 4, 1, 5, 1, false, 3, 8, 20);
    const [A, B, C] = [new Float64Array(24), new Float64Array(60), new Float64Array(30)];
    k.gemm(p, A, B, C);
    assert.throws(() => k.gemm(p, A.subarray(1), B, C), RangeError);
    assert.throws(() => k.gemm(p, A, B.subarray(1), C), RangeError);
    assert.throws(() => k.gemm(p, A, B, C.subarray(1)), RangeError);
    assert.throws(() => k.plan(false, 2, 4, 5, 4, 1, 5, 1, false, 2 ** 30, 2 ** 20, 0), RangeError);
  });
  test("a detached operand is refused", () => {
    const p = k.plan(false, 2, 2, 2, 2, 1, 2, 1, false, 1, 0, 0);
    const A = new Float64Array(4);
    structuredClone(A.buffer, { transfer: [A.buffer] });
    assert.throws(() => k.gemm(p, A, new Float64Array(4), new Float64Array(4)), /detached|Float64Array/);
  });
});

describe("turned off", () => {
  test("with GRADC_NATIVE=0 gradc compiles products to its WebAssembly / JavaScript kernels, equal to evaluate", () => {
    const script = `
      import "./ops/index.js";
      import { trace } from "./core/trace.js";
      import { evaluate } from "./core/evaluate.js";
      import { compile } from "./compile/codegen/compile.js";
      import { nativeStatus } from "./compile/codegen/native/addon.js";
      import { randomTensor, seededRandom } from "./compile/check/numeric.js";
      const g = trace({ a: { shape: [30, 200] }, c: { shape: [200, 20] } }, ({ a, c }) => ({ out: a.matmul(c) }));
      const r = seededRandom(1);
      const x = { a: randomTensor(r, [30, 200]), c: randomTensor(r, [200, 20]) };
      const exe = compile(g);
      const same = exe.run(x).out.data.every((v, i) => v === evaluate(g, x).out.data[i]);
      console.log(JSON.stringify({ status: nativeStatus(), native: /native kernel/.test(exe.source), same }));
    `;
    const dist = fileURLToPath(new URL("..", import.meta.url));
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: dist,
      env: { ...process.env, GRADC_NATIVE: "0" },
      encoding: "utf8",
    });
    const r = JSON.parse(out.trim().split("\n").pop()!);
    assert.deepEqual(r, { status: "turned off by GRADC_NATIVE=0", native: false, same: true });
  });
});
