// run's fresh outputs (compile/codegen/outputs.ts): outputs of at least POOL_MIN_BYTES come from
// the native addon's pool (compile/codegen/native/pool.h) when it is loaded, plain new arrays
// otherwise. Either way: every output holds the values `evaluate` gives, an output the caller
// holds is never written by a later run, and a synchronous loop that drops its outputs gets
// pooled blocks back (the pool stays bounded instead of growing with the calls).

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { Tensor, type DType } from "../core/tensor.js";
import { compile, type CompileOptions } from "../compile/codegen/compile.js";
import { nativeKernels } from "../compile/codegen/native/addon.js";
import { POOL_MIN_BYTES } from "../compile/codegen/outputs.js";

const nk = nativeKernels();
const noAddon = nk ? false : "the native addon is not built (outputs are plain new arrays)";

/** y = x * 2 + c (a large output) and s = sum over rows (a small one), [rows, 512]. */
function graph(rows: number, dtype: DType) {
  return trace({ x: { shape: [rows, 512], dtype }, c: { shape: [512], dtype } }, ({ x, c }) => ({ y: x.mul(2).add(c), s: x.sum(0) }));
}

function feeds(rows: number, dtype: DType, seed: number) {
  const make = (n: number, f: (i: number) => number) => {
    const a = dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = f(i);
    return a;
  };
  const x = make(rows * 512, (i) => ((i * 7919 + seed * 104729) % 1000) / 100 - 5);
  return {
    x: new Tensor(x, [rows, 512]),
    c: new Tensor(
      make(512, (i) => i + seed),
      [512],
    ),
  };
}

// 256 rows of 512 float64 values: 1 MB, four times the pooling threshold; float32: half of that
const ROWS = 256;
assert.ok(ROWS * 512 * 4 >= POOL_MIN_BYTES);

const modes: [string, CompileOptions][] = [
  ["default (SIMD stages, outputs copied out of WebAssembly memory)", {}],
  ["JavaScript stages (kernels write the fresh outputs)", { wasm: false }],
  ["native off (plain new arrays)", { native: false }],
];

describe("run's fresh outputs", () => {
  for (const [mode, opts] of modes) {
    for (const dtype of ["f64", "f32"] as const) {
      test(`${mode}, ${dtype}: each call's outputs equal evaluate's and survive later calls`, () => {
        const g = graph(ROWS, dtype);
        const exe = compile(g, opts);
        const held = [0, 1, 2, 3].map((seed) => ({ seed, out: exe.run(feeds(ROWS, dtype, seed)) }));
        for (const { seed, out } of held) {
          const want = evaluate(g, feeds(ROWS, dtype, seed));
          assert.deepEqual(out.y.data, want.y.data, `y of call ${seed}`);
          assert.deepEqual(out.s.data, want.s.data, `s of call ${seed}`);
        }
        const buffers = new Set(held.map(({ out }) => out.y.data.buffer));
        assert.equal(buffers.size, held.length, "two calls' outputs share memory");
      });
    }
  }

  test("a synchronous loop that drops its outputs reuses pooled blocks and stays bounded", { skip: noAddon }, () => {
    // 4 MB outputs, 150 calls: 600 MB handed out; V8's collections in the loop return the dropped ones
    const rows = 1024;
    const exe = compile(graph(rows, "f64"));
    const x = feeds(rows, "f64", 5);
    const want = evaluate(graph(rows, "f64"), x).y.data;
    nk!.trim();
    const before = nk!.pool();
    let last: Tensor | undefined;
    for (let i = 0; i < 150; i++) {
      last = exe.run(x).y;
      if (i % 30 === 0) assert.deepEqual(last.data, want, `call ${i}: a reused block was not overwritten whole`);
    }
    const after = nk!.pool();
    assert.ok(after.reused > before.reused, "no block came back to the pool within the loop");
    const grownMB = (after.mappedBytes - before.mappedBytes) / 2 ** 20;
    assert.ok(grownMB < 300, `the pool grew by ${grownMB.toFixed(0)} MB for 150 calls of 4 MB (it should recycle)`);
  });

  test("RSS stays bounded over many calls with fresh outputs", () => {
    const rows = 1024;
    const exe = compile(graph(rows, "f64"));
    const x = feeds(rows, "f64", 6);
    for (let i = 0; i < 20; i++) exe.run(x);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) exe.run(x);
    const grownMB = (process.memoryUsage().rss - before) / 2 ** 20;
    // 800 MB handed out in the loop; the pool keeps at most 512 MB idle (pool.h) and V8 frees plain arrays
    assert.ok(grownMB < 600, `RSS grew by ${grownMB.toFixed(0)} MB over 200 calls of 4 MB outputs`);
  });

  test("trim unmaps the idle blocks", { skip: noAddon }, () => {
    const exe = compile(graph(ROWS, "f64"));
    exe.run(feeds(ROWS, "f64", 1));
    nk!.trim();
    const s = nk!.pool();
    assert.equal(s.idleBytes, 0);
    assert.ok(s.mappedBytes >= 0);
  });

  test("output checks its arguments", { skip: noAddon }, () => {
    assert.throws(() => nk!.output(true, 0), RangeError);
    assert.throws(() => nk!.output(true, -1), RangeError);
    assert.throws(() => nk!.output(true, 1.5), RangeError);
    assert.throws(() => (nk!.output as (...a: unknown[]) => unknown)("f32", 4), RangeError);
    const a = nk!.output(false, 3);
    assert.ok(a instanceof Float64Array && a.length === 3);
  });
});
