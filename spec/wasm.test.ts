// The WebAssembly SIMD kernels, as specifications: each lowering in the table computes what its
// op's scalar function computes (and a look-alike op is refused); float32 matrix products stay
// within the summation bound of the interpreter's; the kernels' memory never grows (no view of
// it is ever detached); the batchnorm backward's sweeps run in SIMD at the benchmark's sizes.

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { allOps, lookup } from "../core/registry.js";
import type { OpDef } from "../core/registry.js";
import { Tensor } from "../core/tensor.js";
import { defineOp, removeOp } from "../ops/define.js";
import { compile } from "../compile/codegen/compile.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { wasmLowering } from "../compile/codegen/wasm/ops.js";
import { helperThread } from "../compile/codegen/worker-pool.js";
import { zooGraph } from "../ops/zoo.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";

describe("the records' SIMD lowerings", () => {
  test("every registered op's simd lowering computes its scalar function on signed zeros, infinities, NaN and subnormals, in each lane type it lists", () => {
    const lowered = allOps().filter((def) => def.simd);
    assert.ok(lowered.length >= 18, `${lowered.length} ops with a simd lowering`);
    for (const def of lowered) {
      for (const dtype of ["f64", "f32"] as const) {
        if (!def.simd![dtype]) continue;
        assert.ok(wasmLowering(def, dtype), `${def.name} in ${dtype}: its simd lowering disagrees with its scalar function`);
      }
    }
  });
  test("a record whose simd lowering disagrees with its scalar function is refused (its stage stays in JavaScript)", () => {
    const real = lookup("maximum");
    // a > c ? a : c differs from Math.max on NaN and on (-0, +0)
    const lookalike: OpDef = { ...real, scalar: (a: number, c: number) => (a > c ? a : c) };
    assert.equal(wasmLowering(lookalike, "f64"), undefined);
    assert.equal(wasmLowering(lookalike, "f32"), undefined);
  });
  test("a user op brings its simd lowering on its record: checked, then its stages run in SIMD; a wrong one keeps them in JavaScript", () => {
    const clip01 = defineOp({
      name: "clip01",
      arity: 1,
      scalar: (x) => Math.min(Math.max(x, 0), 1),
      expr: ([x]) => `Math.min(Math.max(${x}, 0), 1)`,
      vjp: "none",
      simd: { f64: (e, [x]) => e.min(e.max(x, e.constant(0)), e.constant(1)) },
    });
    const wrong = defineOp({
      name: "clipWrong",
      arity: 1,
      scalar: (x) => Math.min(Math.max(x, 0), 1),
      expr: ([x]) => `Math.min(Math.max(${x}, 0), 1)`,
      vjp: "none",
      simd: { f64: (e, [x]) => e.max(x, e.constant(0)) },
    });
    try {
      const x = randomTensor(seededRandom(5), [8, 64], -3, 3);
      for (const [op, simdOk] of [
        [clip01, true],
        [wrong, false],
      ] as const) {
        const g = trace({ x: [8, 64] }, ({ x }) => ({ y: op(x) }));
        const exe = compile(g, { simdMin: 1 });
        assert.equal(/WebAssembly SIMD/.test(exe.source), simdOk, op.opName);
        assert.deepEqual([...exe.run({ x }).y.data], [...evaluate(g, { x }).y.data]);
      }
      assert.throws(
        () => defineOp({ name: "badSimd", arity: 1, scalar: (x) => x, expr: ([x]) => x, vjp: "none", simd: { f16: () => 0 } as never }),
        /simd must be/,
      );
    } finally {
      removeOp("clip01");
      removeOp("clipWrong");
    }
  });
  test("rsqrt has no float32 entry: 1 / sqrt(x) rounds twice in f32 lanes, once in the interpreter", () => {
    assert.equal(wasmLowering(lookup("rsqrt"), "f32"), undefined);
  });
});

describe("float32 matrix products in WebAssembly", () => {
  test("for all shapes and transposes, each entry is within k * 2^-23 * sum |a||b| of the interpreter's", () => {
    const dims = fc.tuple(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 8, max: 70 }));
    fc.assert(
      fc.property(dims, fc.integer({ min: 0, max: 3 }), arbSeed(), ([m, k, n], form, seed) => {
        const ta = form & 1,
          tb = form & 2;
        const g = trace({ a: { shape: ta ? [k, m] : [m, k], dtype: "f32" }, c: { shape: tb ? [n, k] : [k, n], dtype: "f32" } }, ({ a, c }) => ({
          out: (ta ? a.T : a).matmul(tb ? c.T : c),
          bound: (ta ? a.T : a).abs().matmul((tb ? c.T : c).abs()),
        }));
        const rand = seededRandom(seed);
        const x = { a: randomTensor(rand, g.inputs[0].shape, -2, 2, "f32"), c: randomTensor(rand, g.inputs[1].shape, -2, 2, "f32") };
        // the WebAssembly kernel itself (the native kernels, which reproduce its bits, are spec/native.test.ts's)
        const exe = compile(g, { native: false });
        assert.ok(m * n * k < 16384 || exe.source.includes("WebAssembly SIMD kernel"), "large products run in WebAssembly");
        const got = exe.run(x).out,
          want = evaluate(g, x);
        for (let i = 0; i < got.size; i++) {
          const tol = (k + 2) * 2 ** -23 * want.bound.data[i] + 1e-30;
          assert.ok(Math.abs(got.data[i] - want.out.data[i]) <= tol, `[${i}] of ${m}x${k} @ ${k}x${n} (form ${form}): ${got.data[i]} vs ${want.out.data[i]}`);
        }
      }),
      runs(60),
    );
  });
});

describe("two threads", () => {
  test("a product split with the helper thread equals the one-thread product bit for bit, f64 and f32, plain and transposed", () => {
    for (const dtype of ["f64", "f32"] as const) {
      const g = trace({ a: { shape: [40, 700], dtype }, c: { shape: [700, 90], dtype }, d: { shape: [40, 90], dtype } }, ({ a, c, d }) => ({
        ac: a.matmul(c),
        atd: a.T.matmul(d),
      }));
      const rand = seededRandom(11);
      const x = Object.fromEntries(g.inputs.map((i) => [i.name, randomTensor(rand, i.shape, -1, 1, dtype)]));
      const one = compile(g, { native: false }).run(x),
        two = compile(g, { threads: helperThread(), native: false }).run(x);
      for (const k of ["ac", "atd"]) assert.deepEqual(Array.from(two[k].data), Array.from(one[k].data), `${k} ${dtype}`);
    }
  });
});

describe("memory", () => {
  test("an executable's SIMD memory never grows: after runs, every buffer view is still attached", () => {
    const bwd = optimize(vjp(zooGraph("batchnorm", [64, 96], "f32"), { of: "out" }).backward);
    const exe = compile(bwd, { reuseOutputs: true });
    assert.match(exe.source, /WebAssembly SIMD, f32x4/);
    const rand = seededRandom(5);
    const x = Object.fromEntries(bwd.inputs.map((i) => [i.name, randomTensor(rand, i.shape, 0.5, 2, "f32")]));
    const first = exe.run(x).dx;
    for (let r = 0; r < 5; r++) exe.run(x);
    assert.ok(first.data.byteLength > 0, "the output view was detached");
    const want = evaluate(bwd, x).dx;
    assert.deepEqual(Array.from(exe.run(x).dx.data), Array.from(want.data));
  });
  test("the default run returns fresh arrays, not views of the kernels' memory", () => {
    const g = trace({ x: { shape: [64, 128], dtype: "f32" } }, ({ x }) => ({ y: x.mul(x).add(1) }));
    const exe = compile(g);
    const x = new Tensor(
      Float32Array.from({ length: 64 * 128 }, (_, i) => i / 100),
      [64, 128],
    );
    const a = exe.run({ x }).y,
      b = exe.run({ x }).y;
    assert.notEqual(a.data.buffer, b.data.buffer);
    assert.ok(!(a.data.buffer instanceof WebAssembly.Memory));
    assert.deepEqual(Array.from(a.data), Array.from(evaluate(g, { x }).y.data));
  });
  test("inputArray: an input filled in place is read without a copy, gives the same results, and stays the same array", () => {
    const bwd = optimize(vjp(zooGraph("batchnorm", [64, 96]), { of: "out" }).backward);
    const exe = compile(bwd);
    const rand = seededRandom(11);
    const x = Object.fromEntries(bwd.inputs.map((i) => [i.name, randomTensor(rand, i.shape, 0.5, 2)]));
    const want = evaluate(bwd, x);
    const placed: Record<string, Tensor> = {};
    let copies = 0;
    for (const i of bwd.inputs) {
      const a = exe.inputArray(i.name);
      assert.equal(a, exe.inputArray(i.name), `${i.name}: one array per input`);
      a.set(x[i.name].data);
      // a copy into the executable's memory would go through this array's set
      a.set = (...args: Parameters<Float64Array["set"]>) => (copies++, Float64Array.prototype.set.apply(a, args));
      placed[i.name] = new Tensor(a, i.shape);
    }
    const got = exe.run(placed);
    assert.equal(copies, 0, "run copied an input that was already in place");
    for (const k of Object.keys(want)) assert.deepEqual(Array.from(got[k].data), Array.from(want[k].data), k);
    // another array for the input is copied over the placed one
    const dout = randomTensor(rand, bwd.inputs.find((i) => i.name === "dout")!.shape, 0.5, 2);
    exe.run({ ...placed, dout });
    assert.ok(copies > 0 || !/SIMD/.test(exe.source));
    assert.throws(() => exe.inputArray("nope"), /inputArray: no input "nope": the graph takes gamma/);
  });
});

describe("named fixtures", () => {
  test("the batchnorm backward at 100x500 runs both sweeps in SIMD, in f64 and f32, and equals evaluate bit for bit", () => {
    for (const dtype of ["f64", "f32"] as const) {
      const bwd = optimize(vjp(zooGraph("batchnorm", [100, 500], dtype), { of: "out" }).backward);
      const exe = compile(bwd);
      const sweeps = exe.source.split("// stage over").filter((st) => /^ \S+ \(sweep\)/.test(st));
      assert.equal(sweeps.length, 2, exe.source);
      for (const st of sweeps) assert.match(st, /WebAssembly SIMD/, exe.source);
      const rand = seededRandom(7);
      const x = Object.fromEntries(bwd.inputs.map((i) => [i.name, randomTensor(rand, i.shape, 0.5, 2, dtype)]));
      const got = exe.run(x),
        want = evaluate(bwd, x);
      for (const k of Object.keys(want)) assert.deepEqual(Array.from(got[k].data), Array.from(want[k].data), k);
    }
  });
});
