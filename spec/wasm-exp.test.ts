// exp in WebAssembly SIMD (compile/codegen/wasm/exp.ts), as specifications: the kernel returns
// Math.exp's bits on every input (the primary range, the ranges it hands to Math.exp, special
// values); a row-wise stage that stores exp along its rows (softmax) runs it through the kernel
// and equals evaluate bit for bit in float64 and float32, for rows of any width and any count;
// with WebAssembly off, the stage keeps Math.exp with the same bits.

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { compile } from "../compile/codegen/compile.js";
import { expKernel } from "../compile/codegen/wasm/exp.js";
import { softmax } from "../ops/softmax.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";

const kernel = expKernel(4096);
const skip = kernel ? false : "no WebAssembly SIMD, or this engine's Math.exp is not fdlibm's (the stages keep Math.exp)";

const sameBits = (got: number, want: number) => Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want));

describe("the exp kernel", { skip }, () => {
  test("for all x (the primary range, overflow and underflow, tiny, special values), the kernel's exp is Math.exp bit for bit", () => {
    const k = kernel!;
    const specials = [
      0,
      -0,
      1,
      -1,
      2 ** -28,
      -(2 ** -28),
      2 ** -29,
      0.34657359027997264,
      0.3465735902799727,
      1.0397207708399179,
      707.99,
      708,
      -708,
      709.78,
      709.79,
      -745.13,
      -745.14,
      Infinity,
      -Infinity,
      NaN,
      5e-324,
      -5e-324,
    ];
    const rand = seededRandom(7);
    const xs = [...specials];
    for (let i = 0; i < 200_000; i++) {
      const u = rand();
      if (u < 0.4)
        xs.push(-30 * rand()); // softmax's arguments: x - max <= 0
      else if (u < 0.7) xs.push(1500 * (rand() - 0.5));
      else xs.push((rand() - 0.5) * 2 ** (-40 + 50 * rand()));
    }
    for (let at = 0; at < xs.length; at += 4096) {
      const part = xs.slice(at, at + 4096);
      k.a.set(part);
      k.run(part.length);
      for (let i = 0; i < part.length; i++)
        if (!sameBits(k.a[i], Math.exp(part[i]))) assert.fail(`exp(${part[i]}): kernel ${k.a[i]}, Math.exp ${Math.exp(part[i])}`);
    }
  });
  test("an odd count computes only what it is given (the last vector's extra lane is scratch)", () => {
    const k = kernel!;
    k.a.fill(0.25, 0, 8);
    k.a.set([1.5, -2, 3]);
    k.run(3);
    assert.deepEqual(Array.from(k.a.subarray(0, 3)), [Math.exp(1.5), Math.exp(-2), Math.exp(3)]);
    assert.equal(k.a[5], 0.25);
  });
});

describe("row-wise stages with exp", { skip }, () => {
  test("for all row counts and widths, a compiled softmax (exp through the kernel) equals evaluate bit for bit, float64 and float32, and with WebAssembly off", () => {
    const shapes = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 70 }));
    fc.assert(
      fc.property(shapes, arbSeed(), ([h, rows, width], seed) => {
        for (const dtype of ["f64", "f32"] as const) {
          const g = trace({ x: { shape: [h, rows, width], dtype } }, ({ x }) => ({ y: softmax(x.mul(3)) }));
          const x = { x: randomTensor(seededRandom(seed), [h, rows, width], -4, 4, dtype) };
          const exe = compile(g);
          assert.equal(/exp in WebAssembly SIMD/.test(exe.source), width >= 8, exe.source);
          const want = evaluate(g, x).y.data;
          for (const got of [exe.run(x).y.data, compile(g, { wasm: false }).run(x).y.data]) {
            for (let i = 0; i < want.length; i++)
              if (!sameBits(got[i], want[i])) assert.fail(`${dtype} [${h},${rows},${width}] [${i}]: ${got[i]} vs ${want[i]}`);
          }
        }
      }),
      runs(40),
    );
  });
  test("a row holding infinities and NaN gives the interpreter's values (exp(-inf) = 0, NaN through)", () => {
    const g = trace({ x: { shape: [3, 9] } }, ({ x }) => ({ y: softmax(x) }));
    const data = Array.from({ length: 27 }, (_, i) => (i % 5) - 2);
    data[2] = -Infinity;
    data[10] = Infinity;
    data[20] = NaN;
    const x = { x: randomTensor(seededRandom(1), [3, 9]) };
    x.x.data.set(data);
    const got = compile(g).run(x).y.data,
      want = evaluate(g, x).y.data;
    for (let i = 0; i < want.length; i++) assert.ok(sameBits(got[i], want[i]), `[${i}]: ${got[i]} vs ${want[i]}`);
  });
});
