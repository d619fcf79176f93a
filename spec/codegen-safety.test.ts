// Safe code generation: no user-supplied string reaches generated JavaScript except as a
// validated identifier or a number literal. Hostile input names, labels, op names and attributes
// never appear in `source`, and the compiled code still computes what the interpreter does.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { apply } from "../core/node.js";
import { Graph } from "../core/graph.js";
import { evaluate } from "../core/evaluate.js";
import { register, unregister } from "../core/registry.js";
import { elementwise } from "../ops/elementwise.js";
import { compile } from "../compile/codegen/compile.js";
import { literal } from "../compile/codegen/js/loops.js";
import { grad } from "../compile/autodiff/reverse.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import type { Tensor } from "../core/tensor.js";
import { GradcError } from "../core/errors.js";

const hostile = ["x; process.exit(1)//", "</script>", "constructor", "__proto__", "a\nb", "*/ throw 1 /*", "in0", "b0", "${1}", "`"];

function feed(g: Graph, seed = 1): Record<string, Tensor> {
  const rand = seededRandom(seed);
  // Object.fromEntries makes "__proto__" an own key, as a user passing it must
  return Object.fromEntries(g.inputs.map((x) => [x.name, randomTensor(rand, x.shape, -2, 2, x.dtype)]));
}

function assertSameRun(g: Graph): void {
  const x = feed(g);
  const want = evaluate(g, x);
  const got = compile(g).run(x);
  for (const k of Object.keys(want)) assert.deepEqual(Array.from(got[k].data), Array.from(want[k].data), k);
}

const mentions = (source: string, s: string) => s.length > 2 && source.includes(s);

describe("generated source", () => {
  test("never contains hostile input names, and running works", () => {
    const inputs = hostile.map((name, i) => b.input(name, i % 2 ? [2, 3] : [1, 3]));
    let acc = inputs[0];
    for (const x of inputs.slice(1)) acc = b.add(b.mul(acc, x), b.sum(x, 0, true));
    const g = new Graph(inputs, { out: acc, s: b.sum(acc) });
    const exe = compile(g);
    for (const name of hostile) assert.ok(!mentions(exe.source, name) || /^(in0|b0)$/.test(name), `source mentions ${JSON.stringify(name)}`);
    assert.ok(!exe.source.includes("process"));
    assertSameRun(g);
  });

  test("never contains hostile labels or output names", () => {
    const x = b.input("x", [3, 4]);
    const y = b.exp(x).named("*/ process.exit(1) /*\nalert(1)");
    const g = new Graph([x], { ["</script><script>alert(1)</script>"]: b.sum(y, 1, true), ["__proto__"]: y });
    const exe = compile(g);
    assert.ok(!exe.source.includes("alert") && !exe.source.includes("process") && !exe.source.includes("script"));
    assertSameRun(g);
  });

  test("a user op with a hostile name fuses through its template, and its name stays out", () => {
    const name = `evil"); process.exit(1); ("`;
    register(elementwise({ name, arity: 1, scalar: (a) => 3 * a + 1, expr: ([a]) => `(3 * ${a} + 1)` }));
    try {
      const x = b.input("x", [4, 5]);
      const g = new Graph([x], { out: b.sum(apply(name, [x]), 0, true) });
      const exe = compile(g);
      assert.ok(!exe.source.includes("evil") && !exe.source.includes("process"), exe.source);
      assert.equal(exe.stats.kernels, 1, "the user op fuses into the reduction");
      assertSameRun(g);
    } finally {
      unregister(name);
    }
  });

  test("a user op without a template runs its reference kernel; its name stays out", () => {
    const name = "opaque</script>";
    register({ ...elementwise({ name, arity: 1, scalar: (a) => a * a - 1, expr: () => "" }), expr: undefined });
    try {
      const x = b.input("x", [3, 2]);
      const g = new Graph([x], { out: b.add(apply(name, [b.exp(x)]), x) });
      const exe = compile(g);
      assert.ok(!exe.source.includes("opaque") && !exe.source.includes("script"), exe.source);
      assertSameRun(g);
    } finally {
      unregister(name);
    }
  });

  test("a constant whose value is not a number is rejected by its shape rule, before codegen", () => {
    for (const value of ["1); process.exit(1); (", { toString: () => "1" }, null, [1]]) {
      assert.throws(() => apply("const", [], { value: value as never, dtype: "f64", shape: [] }), GradcError);
    }
  });

  test("attributes that are not sizes are rejected by the shape rules", () => {
    const x = b.input("x", [2, 3]);
    assert.throws(() => apply("reshape", [x], { shape: ["3); process.exit(1); (" as never, 2] }), GradcError);
    assert.throws(() => apply("sum", [x], { axes: ["0]; process.exit(1); [" as never] }), GradcError);
    assert.throws(() => apply("transpose", [x], { perm: [1, "0" as never] }), GradcError);
  });

  test("number literals: finite numbers print exactly, NaN and infinities by name, anything else is refused", () => {
    assert.equal(literal(0.1), "0.1");
    assert.equal(literal(-2.5e-300), "(-2.5e-300)");
    assert.equal(literal(-0), "(-0)");
    assert.equal(literal(NaN), "NaN");
    assert.equal(literal(Infinity), "Infinity");
    assert.equal(literal(-Infinity), "(-Infinity)");
    for (const v of ["1", { valueOf: () => 1 }, 1n, undefined]) assert.throws(() => literal(v), GradcError);
    const x = b.input("x", [2]);
    const g = new Graph([x], { out: b.add(b.mul(x, -1), b.maximum(x, -Infinity)), nan: b.add(x, NaN) });
    assertSameRun(g);
  });

  test("the gradient of a graph with hostile names compiles clean", () => {
    const x = b.input("constructor", [3, 2]),
      w = b.input("x; process.exit(1)//", [2, 2]);
    const g = grad(new Graph([x, w], { out: b.sum(b.tanh(b.matmul(x, w))) }));
    const exe = compile(g);
    assert.ok(!exe.source.includes("process") && !exe.source.includes("constructor"), exe.source);
    const inputs = feed(g);
    const want = evaluate(g, inputs),
      got = exe.run(inputs);
    for (const k of Object.keys(want)) got[k].data.forEach((v, i) => assert.ok(Math.abs(v - want[k].data[i]) < 1e-12, k));
  });
});
