// A rowwise stage runs in row phases (softmax: the row max, then the row sum of exp, then the
// output). A costly value (ops tagged "costly": exp, log, tanh, ...) that two phases would each
// compute is stored by the first and read back by the later ones, at the same element, so it is
// computed once; results stay the interpreter's bit for bit.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as b from "../core/builder.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import type { Node } from "../core/node.js";
import { compile } from "../compile/codegen/compile.js";
import { logSoftmax, softmax } from "../ops/softmax.js";
import { zooGraph } from "../ops/zoo.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";

const calls = (source: string, fn: string) => source.split(fn).length - 1;

test("softmax's exp is computed once per element: stored in the row-sum phase, read by the output phase", () => {
  for (const dtype of ["f64", "f32"] as const) {
    const g = trace({ x: { shape: [32, 48], dtype } }, ({ x }) => softmax(x));
    const exe = compile(g);
    // one row phase computes exp (in each unrolled copy of the row loop, and in the rows left
    // over): by Math.exp, or by the WebAssembly exp kernel (compile/codegen/wasm/exp.ts)
    const phases = exe.source.split("// row phase").slice(1);
    const withExp = phases.filter((ph) => calls(ph, "Math.exp(") + calls(ph, "exp, from the kernel") > 0).map((ph) => ph.trim()[0]);
    assert.deepEqual([...new Set(withExp)], ["1"], exe.source);
    assert.match(exe.source, /3 row phases/);
    const x = randomTensor(seededRandom(3), [32, 48], -4, 4, dtype);
    assert.deepEqual(Array.from(exe.run({ x }).out.data), Array.from(evaluate(g, { x }).out.data));
  }
});

test("rowwise stages with costly ops in several phases equal the interpreter bit for bit (f64, f32)", () => {
  const forms: ((x: Node) => Node)[] = [
    (x) => softmax(x),
    (x) => logSoftmax(x),
    // tanh in every phase: a row max of tanh, then sum of tanh - max, then tanh / sum
    (x) => {
      const t = b.tanh(x);
      const m = b.max(t, [1], true);
      const s = b.sum(b.exp(b.sub(t, m)), [1], true);
      return b.div(b.mul(t, b.exp(b.sub(t, m))), s);
    },
    // a costly value read at another index (transposed) must not be read from a row it did not write
    (x) => b.div(b.exp(x), b.sum(b.exp(b.transpose(x, [1, 0])), [1], true)),
  ];
  fc.assert(
    fc.property(arbSeed(), fc.constantFrom("f64" as const, "f32" as const), fc.integer({ min: 0, max: forms.length - 1 }), (seed, dtype, k) => {
      const rand = seededRandom(seed);
      const n = 1 + Math.floor(rand() * 9);
      const g = trace({ x: { shape: [n, n], dtype } }, ({ x }) => forms[k](x));
      const x = randomTensor(rand, [n, n], -3, 3, dtype);
      const got = compile(g).run({ x }).out,
        want = evaluate(g, { x }).out;
      assert.deepEqual(Array.from(got.data), Array.from(want.data), compile(g).source);
    }),
    runs(200),
  );
});

test("row-wise stages run four rows per iteration (their own accumulators, the rows left over one by one), bit for bit the interpreter's", () => {
  // layernorm's and rmsnorm's forward and backward: row sums in phases, column sums (dgamma,
  // dbeta) over the rows in the same stage; row counts with and without a remainder
  fc.assert(
    fc.property(arbSeed(), fc.constantFrom("f64" as const, "f32" as const), fc.constantFrom("layernorm", "rmsnorm"), (seed, dtype, name) => {
      const rand = seededRandom(seed);
      const shape = [1 + Math.floor(rand() * 11), 2 + Math.floor(rand() * 9)];
      const pair = optimize(vjp(zooGraph(name, shape, dtype)));
      for (const g of [pair.forward, pair.backward]) {
        const feed = Object.fromEntries(g.inputs.map((x) => [x.name, randomTensor(rand, x.shape, 0.5, 2, dtype)]));
        const got = compile(g).run(feed),
          want = evaluate(g, feed);
        for (const k of g.outputNames) assert.deepEqual(Array.from(got[k].data), Array.from(want[k].data), `${name} ${shape} ${k}\n${compile(g).source}`);
      }
    }),
    runs(150),
  );
  const g = optimize(vjp(zooGraph("layernorm", [10, 64], "f32"))).backward;
  assert.match(compile(g).source, /i0 < 8; i0 \+= 4\) \{[\s\S]*i0 = 8; i0 < 10; i0\+\+\) \{/);
});
