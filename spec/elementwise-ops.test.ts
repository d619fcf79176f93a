// The elementwise ops people write with, as specifications beyond the registry loops:
//   - each fuses in compiled code (its expr template) and equals the interpreter, f64 and f32;
//   - constant operands fold (the optimizer uses the op's scalar function);
//   - plain numbers are accepted wherever a node is;
//   - the tie conventions of maximum, minimum, max and clip, and the special points of pow, abs and
//     the comparisons (NaN), as docs/ops.md states them.

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import type { Node } from "../core/node.js";
import { lookup } from "../core/registry.js";
import type { DType } from "../core/tensor.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { checkCompiled } from "./support/graph-checks.js";

/** [name, how to apply it to inputs x, y in its domain, domain of x, domain of y]. */
const ops: [string, (x: Node, y: Node) => Node, [number, number], [number, number]][] = [
  ["minimum", (x, y) => b.minimum(x, y), [-2, 2], [-2, 2]],
  ["pow", (x, y) => b.pow(x, y), [0.1, 3], [-2, 2]],
  ["lessEqual", (x, y) => b.lessEqual(x, y), [-2, 2], [-2, 2]],
  ["notEqual", (x, y) => b.notEqual(x, y), [-2, 2], [-2, 2]],
  ["greater", (x, y) => b.greater(x, y), [-2, 2], [-2, 2]],
  ["greaterEqual", (x, y) => b.greaterEqual(x, y), [-2, 2], [-2, 2]],
  ["abs", (x) => b.abs(x), [-2, 2], [0, 1]],
  ["sign", (x) => b.sign(x), [-2, 2], [0, 1]],
  ["sigmoid", (x) => b.sigmoid(x), [-30, 30], [0, 1]],
  ["log1p", (x) => b.log1p(x), [-0.9, 3], [0, 1]],
  ["expm1", (x) => b.expm1(x), [-3, 3], [0, 1]],
  ["clip", (x, y) => b.clip(x, b.neg(b.abs(y)), 0.5), [-2, 2], [-1, 1]],
];

describe("new elementwise ops: compiled, folded, fused", () => {
  for (const [name, f, dx, dy] of ops) {
    for (const dtype of ["f64", "f32"] as DType[]) {
      test(`${name} (${dtype}): compiled equals interpreted, fused into one loop with its neighbours`, () => {
        const rand = seededRandom(name.length * 13 + (dtype === "f32" ? 1 : 0));
        const g = trace({ x: { shape: [5, 7], dtype }, y: { shape: [5, 7], dtype } }, ({ x, y }) => f(x, y).mul(1.5).add(x).sum(1));
        const feed = { x: randomTensor(rand, [5, 7], dx[0], dx[1], dtype), y: randomTensor(rand, [5, 7], dy[0], dy[1], dtype) };
        checkCompiled(g, feed, dtype === "f32" ? 1e-6 : 1e-12);
        const exe = compile(g);
        assert.ok(
          exe.kernels.every((k) => !k.source.includes("reference kernel")),
          `${name} should fuse, not run a reference kernel:\n${exe.source}`,
        );
        assert.equal(exe.stats.stages, 1, `one loop stage:\n${exe.source}`);
      });
    }
  }
  const folds: [string, Node, number][] = [
    ["minimum", b.minimum(2, 3), 2],
    ["pow", b.pow(2, 10), 1024],
    ["lessEqual", b.lessEqual(2, 2), 1],
    ["notEqual", b.notEqual(2, 2), 0],
    ["abs", b.abs(-2.5), 2.5],
    ["sign", b.sign(-2.5), -1],
    ["sigmoid", b.sigmoid(0), 0.5],
    ["log1p", b.log1p(1e-20), 1e-20],
    ["expm1", b.expm1(1e-20), 1e-20],
  ];
  for (const [name, c, want] of folds) {
    test(`${name} of constants folds to ${want} (its scalar function)`, () => {
      const g = optimize(trace({ x: [3] }, ({ x }) => x.mul(c)));
      assert.ok(!g.nodes().some((n) => n.op === name), `${name} should fold:\n${g}`);
      assert.deepEqual(Array.from(evaluate(g, { x: [1, 1, 1] }).out.data), [want, want, want]);
      assert.equal(lookup(name).scalar!(...c.inputs.map((n) => n.value)), want);
    });
  }
});

describe("plain numbers wherever a node is accepted", () => {
  test("ops.neg(6), ops.add(2, x), x.pow(2), ops.add(2, 3), ops.sum(4), clip with numbers", () => {
    const g = trace({ x: [3] }, ({ x }) => ({
      neg: b.neg(6),
      add: b.add(2, x),
      pow: x.pow(2),
      both: b.add(2, 3),
      sum: b.sum(4),
      clip: b.clip(x, -1, 1),
      sig: b.sigmoid(0),
    }));
    const r = evaluate(g, { x: [-2, 0.5, 3] });
    assert.deepEqual(Array.from(r.neg.data), [-6]);
    assert.deepEqual(Array.from(r.add.data), [0, 2.5, 5]);
    assert.deepEqual(Array.from(r.pow.data), [4, 0.25, 9]);
    assert.deepEqual(Array.from(r.both.data), [5]);
    assert.deepEqual(Array.from(r.sum.data), [4]);
    assert.deepEqual(Array.from(r.clip.data), [-1, 0.5, 1]);
    assert.deepEqual(Array.from(r.sig.data), [0.5]);
  });
  test("a number next to an f32 node is an f32 constant", () => {
    const x = b.input("x", [2], "f32");
    assert.equal(b.add(2, x).dtype, "f32");
    assert.equal(x.pow(2).inputs[1].dtype, "f32");
  });
  test("anything else is a GradcError naming the op", () => {
    assert.throws(() => b.neg("6" as unknown as number), /^GradcError: neg: an operand is neither a graph node nor a number \(got string\)/);
    assert.throws(() => b.add([1, 2] as unknown as number, 1), /add: an operand is neither a graph node nor a number \(got an array/);
  });
});

describe("tie conventions and special points (docs/ops.md)", () => {
  const d = (f: (x: Node, y: Node) => Node, x: number[], y: number[]) => {
    const g = trace({ x: [x.length], y: [y.length] }, ({ x, y }) => f(x, y).sum());
    const r = evaluate(grad(g), { x, y });
    return [Array.from(r.dx.data), Array.from(r.dy.data)];
  };
  test("maximum and minimum: at a tie the second operand gets the gradient", () => {
    assert.deepEqual(d(b.maximum, [1, 2, 3], [1, 5, 0]), [
      [0, 0, 1],
      [1, 1, 0],
    ]);
    assert.deepEqual(d(b.minimum, [1, 2, 3], [1, 5, 0]), [
      [0, 1, 0],
      [1, 0, 1],
    ]);
    assert.deepEqual(d((x) => b.relu(x), [-1, 0, 2], [0, 0, 0])[0], [0, 0, 1], "relu'(0) = 0");
  });
  test("max over an axis: tied maxima share the gradient equally", () => {
    const g = trace({ x: [2, 3] }, ({ x }) => x.max(1).mul(6).sum());
    assert.deepEqual(
      evaluate(grad(g), {
        x: [
          [1, 3, 3],
          [2, 2, 2],
        ],
      }).dx.toArray(),
      [
        [0, 3, 3],
        [2, 2, 2],
      ],
    );
  });
  test("clip: x keeps the gradient on the closed interval (bounds included); a bound gets it where it clips", () => {
    const [dx, dlo] = d((x, lo) => b.clip(x, lo, 1), [-2, -1, 0.5, 1, 2], [-1, -1, -1, -1, -1]);
    assert.deepEqual(dx, [0, 1, 1, 1, 0]);
    assert.deepEqual(dlo, [1, 0, 0, 0, 0]);
  });
  test("pow: d/dx at y = 0 is 0 (not NaN at x = 0); d/dy at x = 0 is 0; x^2 at 0 has slope 0", () => {
    assert.deepEqual(d(b.pow, [0, 0, 2], [0, 2, 3]), [
      [0, 0, 12],
      [0, 0, 8 * Math.log(2)],
    ]);
  });
  test("abs'(0) = 0 and sign' = 0; comparisons have no gradient", () => {
    assert.deepEqual(d((x) => b.abs(x), [-2, 0, 3], [0, 0, 0])[0], [-1, 0, 1]);
    assert.deepEqual(d((x) => b.sign(x), [-2, 0, 3], [0, 0, 0])[0], [0, 0, 0]);
    assert.deepEqual(
      d((x, y) => b.greaterEqual(x, y).mul(x), [1, 2, 3], [2, 2, 2]),
      [
        [0, 1, 1],
        [0, 0, 0],
      ],
    );
  });
  test("comparisons with NaN: only notEqual is true; greater(a, b) is less(b, a) exactly", () => {
    const g = trace({ x: [3], y: [3] }, ({ x, y }) => ({
      gt: b.greater(x, y),
      ge: b.greaterEqual(x, y),
      le: b.lessEqual(x, y),
      ne: b.notEqual(x, y),
      lt: b.less(x, y),
      eq: b.equal(x, y),
    }));
    const r = evaluate(g, { x: [NaN, 1, 2], y: [1, NaN, 2] });
    assert.deepEqual(Array.from(r.gt.data), [0, 0, 0]);
    assert.deepEqual(Array.from(r.ge.data), [0, 0, 1]);
    assert.deepEqual(Array.from(r.le.data), [0, 0, 1]);
    assert.deepEqual(Array.from(r.ne.data), [1, 1, 0]);
    assert.deepEqual(Array.from(r.lt.data), [0, 0, 0]);
    assert.deepEqual(Array.from(r.eq.data), [0, 0, 1]);
    assert.equal(g.output("gt").op, "less");
  });
  test("sigmoid is accurate in both tails", () => {
    const r = evaluate(
      trace({ x: [3] }, ({ x }) => b.sigmoid(x)),
      { x: [-40, 40, -745] },
    ).out;
    assert.ok(Math.abs(r.data[0] / 4.248354255291589e-18 - 1) < 1e-14);
    assert.equal(r.data[1], 1);
    assert.equal(r.data[2], 0);
  });
});
