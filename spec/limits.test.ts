// Sizes bounded the same way in compile as in evaluate (issue 27): a loop over an empty axis runs
// no iterations however long its other axes, an empty result needs no kernel, and a node larger
// than a tensor can hold is refused at compile time rather than looped over.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { compile } from "../compile/codegen/compile.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { concat } from "../core/indexing.js";
import { tensor } from "../core/tensor.js";
import { apply } from "../core/node.js";
import { viewData } from "../viz/data.js";
import { gradcError } from "./support/graph-checks.js";

type Fn = (xs: Record<string, Node>) => Node;
const zerosFor = (g: Graph) => Object.fromEntries(g.inputs.map((x) => [x.name, new Float64Array(x.size)]));

describe("empty tensors: compile runs no iterations and agrees with evaluate", () => {
  const cases: [string, Record<string, number[]>, Fn][] = [
    ["a sum over [1e308, 0] (was: compile(...).run looped forever)", { x: [1e308, 0] }, ({ x }) => x.mul(x).sum(0)],
    ["a total over [1e308, 0]", { x: [1e308, 0] }, ({ x }) => x.exp().sum()],
    ["a total over [2, 1e308, 1e308, 0] (was: size NaN, 1e308 * 1e308 * 0; found by the JSON fuzzer)", { x: [2, 1e308, 1e308, 0] }, ({ x }) => x.exp().sum()],
    ["row sums over [4, 0]: zeros", { x: [4, 0] }, ({ x }) => x.mul(x).sum(1).add(1)],
    ["a product [3, 0] @ [0, 5]: zeros", { a: [3, 0], b: [0, 5] }, ({ a, b }) => a.matmul(b)],
    ["a product [1e308, 0] @ [0, 0] (was: evaluate looped over 1e308 rows)", { a: [1e308, 0], b: [0, 0] }, ({ a, b }) => a.matmul(b)],
  ];
  for (const [name, spec, fn] of cases) {
    test(name, { timeout: 10_000 }, () => {
      const g = trace(spec, fn);
      const inputs = zerosFor(g);
      const want = evaluate(g, inputs).out;
      for (const opts of [{}, { wasm: false, native: false }, { reuseOutputs: true }]) {
        const got = compile(g, opts).run(inputs).out;
        assert.deepEqual(got.shape, want.shape);
        assert.deepEqual(Array.from(got.data), Array.from(want.data), JSON.stringify(opts));
      }
    });
  }

  test("the gradient of a sum over [1e308, 0] compiles and runs", { timeout: 10_000 }, () => {
    const { backward } = vjp(trace({ x: [1e308, 0] }, ({ x }) => x.exp().sum(0).sum()));
    const inputs = zerosFor(backward);
    assert.deepEqual(compile(backward).run(inputs), evaluate(backward, inputs));
  });
});

describe("a node larger than a tensor can hold is refused when compiled", () => {
  test("broadcastTo([1e12]).sum() (was: a 1e12-iteration loop)", { timeout: 10_000 }, () => {
    const g = trace({ x: [] }, ({ x }) => x.broadcastTo([1e12]).sum());
    assert.throws(() => evaluate(g, { x: 1 }), gradcError("allocate:", "1000000000000"));
    assert.throws(() => compile(g), gradcError("compile:", "1000000000000 elements", "broadcastTo"));
  });
});

describe("what was a raw RangeError", () => {
  test("viewData of a graph with a [1e12] input: the page without values (was: RangeError from drawing random inputs)", { timeout: 10_000 }, () => {
    const d = viewData(trace({ x: [1e12] }, ({ x }) => x.sum()));
    assert.ok(d.nodes.length > 0);
    assert.ok(d.nodes.every((n) => n.values === undefined));
  });
});

describe("symbolic concats and their gradients", () => {
  test("concat of [N,3] and [N,3] is [2N,3]; its gradient (slices [0:N] and [N:2N]) runs at N=4 as the concrete one does", () => {
    const f = (x: Node, y: Node) =>
      concat([x, y], 0)
        .mul(concat([y, x], 0))
        .sum();
    const sym = trace({ x: ["N", 3], y: ["N", 3] }, ({ x, y }) => f(x, y));
    const con = trace({ x: [4, 3], y: [4, 3] }, ({ x, y }) => f(x, y));
    const inputs = {
      x: tensor(
        Array.from({ length: 12 }, (_, i) => i),
        [4, 3],
      ),
      y: tensor(
        Array.from({ length: 12 }, (_, i) => 2 * i + 1),
        [4, 3],
      ),
    };
    const want = evaluate(grad(con), inputs);
    assert.deepEqual(evaluate(grad(sym), inputs), want);
    assert.deepEqual(compile(grad(sym)).run(inputs), want);
  });
});

test("pooling's shape rule checks its padding windows in time independent of the output's length (the JSON fuzzer's seed 99387 hung on [1, 2, 1e308])", () => {
  // before: the rule walked every one of 1e308 windows looking for one that covers only padding
  const g = trace({ x: [1, 2, 2 ** 40] }, ({ x }) => ({ out: apply("maxPoolIndex", [x], { kernel: [3], stride: [1], dilation: [2], pads: [1, 0] }) }));
  assert.deepEqual(g.outputs.out.shape, [1, 2, 2 ** 40 - 3]);
  // a middle window can fall between two taps that straddle a short input: still refused
  assert.throws(
    () => trace({ x: [1, 1, 1] }, ({ x }) => ({ out: apply("maxPoolIndex", [x], { kernel: [2], stride: [1], dilation: [3], pads: [3, 3] }) })),
    /window 1 on spatial axis 0 covers only padding/,
  );
});
