// Slicing, concatenation and take-along-axis, as specifications: values as NumPy gives them,
// gradients against central differences, compiled equals interpreted, and bad input (out of
// range, mismatched shapes) a GradcError naming the op, the node and the shapes, when the graph is
// built (or, for index values only known at run time, when it runs).

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { GradcError } from "../core/errors.js";
import { tensor, type Shape } from "../core/tensor.js";
import type { Node } from "../core/node.js";
import { compile } from "../compile/codegen/compile.js";
import { grad } from "../compile/autodiff/reverse.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { checkCompiled, checkGradients } from "./support/graph-checks.js";

const arange = (shape: Shape) =>
  tensor(
    Array.from({ length: shape.reduce((m, s) => m * s, 1) }, (_, i) => i),
    shape,
  );

const gradcError =
  (...parts: string[]) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof GradcError, `expected a GradcError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message should mention ${p}: ${e.message}`);
    return true;
  };

describe("slice: NumPy's basic indexing", () => {
  // expected values from numpy: x = np.arange(24).reshape(2, 3, 4); x[...]
  const cases: [string, b.SliceItem[], Shape, number[]][] = [
    ["1:, ::2, -1", [[1], [null, null, 2], -1], [1, 2], [15, 23]],
    ["..., 1:3", ["...", [1, 3]], [2, 3, 2], [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22]],
    ["::-1, 0", [[null, null, -1], 0], [2, 4], [12, 13, 14, 15, 0, 1, 2, 3]],
    [":, 2:0:-1, ::3", [null, [2, 0, -1], [null, null, 3]], [2, 2, 2], [8, 11, 4, 7, 20, 23, 16, 19]],
    ["-1", [-1], [3, 4], [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]],
    ["0, :, 3:1:-2", [0, null, [3, 1, -2]], [3, 1], [3, 7, 11]],
    [":, -2:", [null, [-2]], [2, 2, 4], [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23]],
  ];
  for (const [spec, items, shape, want] of cases) {
    test(`x[${spec}] of arange(24).reshape(2,3,4) is numpy's (string and list forms agree); gradient and compiled agree`, () => {
      const g = trace({ x: [2, 3, 4] }, ({ x }) => ({ s: x.slice(spec), l: x.slice(...items) }));
      const r = evaluate(g, { x: arange([2, 3, 4]) });
      assert.deepEqual(r.s.shape, shape);
      assert.deepEqual(Array.from(r.s.data), want);
      assert.equal(g.output("s"), g.output("l"), "both forms record the same node");
      const rand = seededRandom(spec.length);
      const feed = { x: randomTensor(rand, [2, 3, 4]) };
      checkGradients(g, feed, rand, { of: "s" });
      checkCompiled(g, feed);
      // the gradient is a pad (slice's transpose): compiled too
      checkCompiled(grad(g, { of: "s" }), { ...feed, ds: randomTensor(rand, shape) });
    });
  }
  test("x.slice(':') and x.slice() are x itself: no node", () => {
    const x = b.input("x", [2, 3]);
    assert.equal(x.slice(":"), x);
    assert.equal(x.slice(), x);
    assert.equal(x.slice("..."), x);
  });
  const bad: [Shape, string, string[]][] = [
    [[2, 3], "0:5", ["stop 5 is out of range for axis 0 of size 2", "gradc does not clamp", "%x: f64[2,3]", "[0:5]"]],
    [[2, 3], ":, -4:", ["start -4 is out of range for axis 1 of size 3"]],
    [[2, 3], "2", ["index 2 is out of range for axis 0 of size 2"]],
    [[2, 3], "0, 0, 0", ["3 items for 2 axes of [2,3]"]],
    [[2, 3], "::0", ["step 0 on axis 0"]],
    [[2, 3], "..., ...", ["more than one ..."]],
    [[2, 3], "a:b", ['"a" in "a:b" is not an integer']],
  ];
  for (const [shape, spec, parts] of bad) {
    test(`x[${spec}] on [${shape}] is a GradcError naming slice, the operand and its shape`, () => {
      assert.throws(
        () => trace({ x: shape }, ({ x }) => x.slice(spec)),
        (e: unknown) => gradcError("slice:", ...parts)(e) && (e as Error).message.startsWith("slice:"),
      );
    });
  }
});

describe("concat", () => {
  test("joins along an axis as numpy.concatenate; gradients are the slices; compiled agrees", () => {
    const g = trace({ a: [2, 3], c: [2, 1], d: [2, 2] }, ({ a, c, d }) => b.concat([a, c, d], -1));
    const r = evaluate(g, {
      a: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      c: [[7], [8]],
      d: [
        [9, 10],
        [11, 12],
      ],
    });
    assert.deepEqual(r.out.toArray(), [
      [1, 2, 3, 7, 9, 10],
      [4, 5, 6, 8, 11, 12],
    ]);
    const rand = seededRandom(3);
    const feed = { a: randomTensor(rand, [2, 3]), c: randomTensor(rand, [2, 1]), d: randomTensor(rand, [2, 2]) };
    checkGradients(g, feed, rand);
    checkCompiled(g, feed);
  });
  const bad: [Shape[], number, string[]][] = [
    [
      [
        [2, 3],
        [3, 3],
      ],
      1,
      ["concat:", "shapes [2,3], [3,3] differ off axis 1", "%x0: f64[2,3]", "%x1: f64[3,3]"],
    ],
    [
      [
        [2, 3],
        [2, 3, 1],
      ],
      0,
      ["concat:", "shapes [2,3], [2,3,1] differ off axis 0"],
    ],
    [
      [
        [2, 3],
        [2, 3],
      ],
      2,
      ["concat:", "axis 2 is out of range for rank 2"],
    ],
  ];
  for (const [shapes, axis, parts] of bad) {
    test(`concat of ${shapes.map((s) => `[${s}]`).join(", ")} on axis ${axis} is a GradcError naming concat, the nodes and shapes`, () => {
      assert.throws(
        () =>
          trace(Object.fromEntries(shapes.map((s, k) => [`x${k}`, s])), (xs) =>
            b.concat(
              shapes.map((_, k) => xs[`x${k}`]),
              axis,
            ),
          ),
        gradcError(...parts),
      );
    });
  }
  test("an empty list or a number is a GradcError", () => {
    assert.throws(() => b.concat([]), gradcError("concat: expects a non-empty list"));
    assert.throws(() => b.concat([b.input("x", [2]), 3 as unknown as Node]), gradcError("concat: operand 1 is not a graph node"));
  });
});

describe("takeAlongAxis and scatterAdd", () => {
  const x = tensor([
    [10, 11, 12],
    [20, 21, 22],
  ]);
  const idx = tensor([
    [2, 0, 2, -1],
    [1, 1, 0, -3],
  ]);
  test("picks x[i, idx[i, j]] as numpy.take_along_axis, negative indices from the end", () => {
    const g = trace({ x: [2, 3], i: [2, 4] }, ({ x, i }) => x.takeAlongAxis(i, 1));
    assert.deepEqual(evaluate(g, { x, i: idx }).out.toArray(), [
      [12, 10, 12, 12],
      [21, 21, 20, 20],
    ]);
  });
  test("the gradient scatter-adds: repeated indices accumulate; indices get none", () => {
    const g = trace({ x: [2, 3], i: [2, 4] }, ({ x, i }) => x.takeAlongAxis(i, 1).sum());
    const d = evaluate(grad(g, { wrt: ["x", "i"] }), { x, i: idx });
    assert.deepEqual(d.dx.toArray(), [
      [1, 0, 3],
      [2, 2, 0],
    ]);
    assert.deepEqual(Array.from(d.di.data), new Array(8).fill(0));
  });
  test("scatterAdd adds updates at the indices (jnp's x.at[...].add); gradients and compiled agree", () => {
    const g = trace({ x: [2, 3], i: [2, 4], u: [2, 4] }, ({ x, i, u }) => b.scatterAdd(x, i, u, 1));
    const r = evaluate(g, {
      x,
      i: idx,
      u: [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
    });
    assert.deepEqual(r.out.toArray(), [
      [12, 11, 20],
      [35, 32, 22],
    ]);
    const rand = seededRandom(9);
    const feed = { x: randomTensor(rand, [2, 3]), i: idx, u: randomTensor(rand, [2, 4]) };
    checkGradients(g, feed, rand, { wrt: ["x", "u"] });
    checkCompiled(g, feed);
    checkCompiled(
      trace({ x: [2, 3], i: [2, 4] }, ({ x, i }) => x.takeAlongAxis(i, 1).mul(2)),
      { x: feed.x, i: idx },
    );
  });
  test("a cross-entropy written with takeAlongAxis and logSoftmax has the usual gradient, compiled too", () => {
    const rand = seededRandom(11);
    const g = trace({ s: [4, 5], y: [4, 1] }, ({ s, y }) => b.mean(b.neg(b.takeAlongAxis(b.sub(s, b.log(b.sum(b.exp(s), 1, true))), y, 1))));
    const feed = { s: randomTensor(rand, [4, 5]), y: tensor([[0], [4], [2], [2]]) };
    checkGradients(g, feed, rand, { wrt: ["s"] });
    checkCompiled(grad(g, { wrt: ["s"] }), feed);
  });
  test("an index out of range is a GradcError naming the op, the node and the shapes, in evaluate and in compiled code", () => {
    const g = trace({ x: [2, 3], i: [2, 1] }, ({ x, i }) => x.takeAlongAxis(i, 1));
    const feed = { x, i: tensor([[0], [3]]) };
    const parts = ["takeAlongAxis: index 3 at [1,0] is out of range for axis 1 of size 3", "x [2,3], indices [2,1]", "takeAlongAxis[axis=1] %x %i"];
    assert.throws(() => evaluate(g, feed), gradcError("evaluate:", ...parts));
    assert.throws(() => compile(g).run(feed), gradcError("compile(...).run:", ...parts));
    assert.throws(() => evaluate(g, { x, i: tensor([[0], [0.5]]) }), gradcError("index 0.5 at [1,0] is not an integer"));
  });
  test("shapes that disagree, an axis out of range, a constant index out of range: GradcErrors when the graph is built", () => {
    assert.throws(
      () => trace({ x: [2, 3], i: [3, 1] }, ({ x, i }) => x.takeAlongAxis(i, 1)),
      gradcError("takeAlongAxis:", "indices [3,1] must match [2,3] on every axis but 1", "%x: f64[2,3]", "%i: f64[3,1]"),
    );
    assert.throws(
      () => trace({ x: [2, 3], i: [2, 1] }, ({ x, i }) => x.takeAlongAxis(i, 2)),
      gradcError("takeAlongAxis: axis 2 is out of range for rank 2", "%x: f64[2,3]"),
    );
    assert.throws(
      () => trace({ x: [2, 3] }, ({ x }) => x.takeAlongAxis(b.constant(3, "f64", [2, 1]), 1)),
      gradcError("takeAlongAxis: index 3 is out of range for axis 1 of size 3"),
    );
    assert.throws(
      () => trace({ x: [2, 3], i: [2, 1], u: [2, 2] }, ({ x, i, u }) => b.scatterAdd(x, i, u, 1)),
      gradcError("scatterAdd:", "updates [2,2] must have the shape of the indices [2,1]"),
    );
  });
});
