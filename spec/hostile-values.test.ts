// Values that were silently wrong (issue 27): class labels outside 0..C-1 or not integers, and
// tensors changed after they were made (a transferred buffer, a mutated shape array).

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { tensor, Tensor } from "../core/tensor.js";
import { compile } from "../compile/codegen/compile.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { oneHot, softmaxCrossEntropy } from "../ops/composites.js";
import { gradcError } from "./support/graph-checks.js";

describe("class labels are checked where their values are known", () => {
  const loss = trace({ s: [2, 3], y: [2] }, ({ s, y }) => softmaxCrossEntropy(s, y));
  const hot = trace({ y: [3] }, ({ y }) => oneHot(y, 3).sum(0));
  const s = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const runs = {
    evaluate: (g: typeof loss, i: Record<string, Tensor>) => evaluate(g, i),
    "compile(...).run": (g: typeof loss, i: Record<string, Tensor>) => compile(g).run(i),
    "the optimized gradient": (g: typeof loss, i: Record<string, Tensor>) => compile(optimize(grad(g, { wrt: ["s"] }))).run(i),
  };
  for (const [how, run] of Object.entries(runs)) {
    for (const [label, at] of [
      [7, 1],
      [1.5, 0],
      [-1, 0],
      [NaN, 1],
    ] as const) {
      const y = at === 1 ? [0, label] : [label, 0];
      test(`softmaxCrossEntropy with label ${label} of 3 classes: an error from ${how} naming op, node and position (was: the label term dropped)`, () => {
        assert.throws(() => run(loss, { s, y: tensor(y) }), gradcError("softmaxCrossEntropy:", `label ${label} at position ${at}`, "0..2", "classIndex", "%y"));
      });
    }
  }

  test("oneHot with a label 3 of 3 classes is an error naming oneHot (was a zero row)", () => {
    assert.throws(() => evaluate(hot, { y: tensor([0, 3, 1]) }), gradcError("oneHot:", "label 3 at position 1"));
    assert.throws(() => compile(hot).run({ y: tensor([0, 1, 2.5]) }), gradcError("oneHot:", "label 2.5 at position 2"));
  });

  test("valid labels give the values they gave before (the check changes nothing)", () => {
    const y = tensor([2, 0]);
    const want = (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3 + Math.log(Math.exp(4) + Math.exp(5) + Math.exp(6)) - 4) / 2;
    assert.ok(Math.abs(evaluate(loss, { s, y }).out.data[0] - want) < 1e-14);
    assert.equal(compile(loss).run({ s, y }).out.data[0], evaluate(loss, { s, y }).out.data[0]);
    assert.deepEqual([...evaluate(hot, { y: tensor([0, 2, 2]) }).out.data], [1, 0, 2]);
  });

  test("oneHot of labels that are not [N], or of a class count that is not a positive integer, is an error at trace time", () => {
    assert.throws(() => trace({ y: [2, 2] }, ({ y }) => oneHot(y, 3)), gradcError("oneHot:", "labels [N]", "%y"));
    assert.throws(() => trace({ y: [2] }, ({ y }) => oneHot(y, 2.5)), gradcError("oneHot:", "classes", "2.5"));
  });
});

describe("tensors are checked where they are used", () => {
  const g = trace({ x: [4] }, ({ x }) => x.exp().sum());

  test("a tensor whose buffer was transferred is an error at evaluate and run (was all NaN)", () => {
    for (const run of [(t: Tensor) => evaluate(g, { x: t }), (t: Tensor) => compile(g).run({ x: t })]) {
      const t = tensor([1, 2, 3, 4]);
      structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
      assert.throws(() => run(t), gradcError('input "x"', "transferred or detached"));
    }
  });

  test("a plain typed array whose buffer was transferred is named too", () => {
    const a = new Float64Array([1, 2, 3, 4]);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    assert.throws(() => evaluate(g, { x: a }), gradcError('input "x"', "transferred or detached"));
  });

  test("mutating the shape array a tensor was made with does not change the tensor (was all NaN)", () => {
    const shape = [4];
    const t = new Tensor(new Float64Array([0, 0, 0, 0]), shape);
    shape[0] = 2;
    assert.deepEqual(t.shape, [4]);
    assert.throws(() => ((t.shape as number[])[0] = 2), TypeError);
    assert.equal(evaluate(g, { x: t }).out.data[0], 4);
  });
});
