// Names that transforms generate never collide with user names (issue 27): a collision is an
// error naming both, or the generated name steps aside (x_dot2), and readers of a transform's
// result find its outputs by the names it gave them.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { printGraph } from "../core/graph.js";
import { tensor } from "../core/tensor.js";
import { grad } from "../compile/autodiff/reverse.js";
import { jvp } from "../compile/autodiff/forward.js";
import { hessian, hvp, jacrev } from "../compile/autodiff/jacobian.js";
import { graphSource } from "../viz/data.js";
import { traceSource } from "../viz/browser.js";
import { gradcError } from "./support/graph-checks.js";

describe("transform names", () => {
  test("hessian of inputs a, a_b, b_c, c: an error naming both pairs (was: 15 blocks, hess_a_b_c twice)", () => {
    const g = trace({ a: [], a_b: [], b_c: [], c: [] }, ({ a, a_b, b_c, c }) => a.mul(a_b).mul(b_c).mul(c));
    assert.throws(() => hessian(g), gradcError("hessian:", '("a", "b_c")', '("a_b", "c")', "hess_a_b_c"));
    assert.equal(hessian(g, { wrt: ["a", "b_c"] }).outputNames.length, 4);
  });

  test("hvp of a graph with an input named dx (was: no output named dx_dot)", () => {
    const g = trace({ x: [3], dx: [3] }, ({ x, dx }) => x.mul(x).mul(dx).sum());
    const h = hvp(g);
    assert.deepEqual(h.outputNames, ["hvp_x", "hvp_dx"]);
    const x = tensor([1, 2, 3]);
    const dx = tensor([1, 1, 2]);
    const r = evaluate(h, { x, dx, x_dot: tensor([1, 0, 0]), dx_dot: tensor([0, 1, 0]) });
    // f = sum(x^2 dx): H v for v = (e0, e1) is (2 dx e0 + 2 x e1, 2 x e0)
    assert.deepEqual(Array.from(r.hvp_x.data), [2, 4, 0]);
    assert.deepEqual(Array.from(r.hvp_dx.data), [2, 0, 0]);
  });

  test("wrt naming an input twice: an error saying so (was: the gradient output clashes with an output)", () => {
    const g = trace({ x: [3] }, ({ x }) => x.mul(x).sum());
    assert.throws(() => grad(g, { wrt: ["x", "x"] }), gradcError("grad:", '"x" twice'));
    assert.throws(() => jvp(g, { wrt: ["x", "x"] }), gradcError("jvp:", '"x" twice'));
    assert.throws(() => jacrev(g, { wrt: ["x", "x"] }), gradcError("jacrev:", '"x" twice'));
  });

  test("jvp(jvp(f)) composes: the second tangents are x_dot2 and x_dot_dot, and out_dot_dot is f''(x)[x_dot, x_dot2]", () => {
    const f = trace({ x: [2] }, ({ x }) => x.mul(x).mul(x).sum());
    const jj = jvp(jvp(f));
    assert.deepEqual(jj.inputNames, ["x", "x_dot", "x_dot2", "x_dot_dot"]);
    const r = evaluate(jj, { x: tensor([1, 2]), x_dot: tensor([1, 1]), x_dot2: tensor([0, 1]), x_dot_dot: tensor([0, 0]) });
    assert.deepEqual(Array.from(r.out_dot_dot.data), [6 * 2]); // sum(6 x x_dot x_dot2)
  });
});

describe("the viewer's editor source", () => {
  for (const name of ["op", "if", "eval", "v0", "xs", "constant", "arguments"]) {
    test(`an input named ${name} rebuilds the graph (was: a shadowed op or a syntax error)`, () => {
      const g = trace({ [name]: [2], y: [2] }, (xs) => xs[name].mul(xs.y).exp().sum());
      assert.equal(printGraph(traceSource(graphSource(g))), printGraph(g));
    });
  }
});
