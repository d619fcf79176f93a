// Bad input is a GradcError when the graph is built or evaluated, never a NaN later, and the
// message names the op, the node (in the printer's form) and the shapes.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { apply } from "../core/node.js";
import { input } from "../core/builder.js";
import * as b from "../core/builder.js";
import { register, unregister } from "../core/registry.js";
import { GradcError } from "../core/errors.js";
import { elementwise } from "../ops/elementwise.js";
import { batchnorm } from "../ops/composites.js";
import { tensor, zeros } from "../core/tensor.js";

/** assert.throws validator: a GradcError whose message contains every part. */
const gradcError =
  (...parts: (string | RegExp)[]) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof GradcError, `expected a GradcError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    for (const p of parts) {
      const ok = typeof p === "string" ? e.message.includes(p) : p.test(e.message);
      assert.ok(ok, `the message should mention ${p}:\n${e.message}`);
    }
    return true;
  };

describe("when the graph is built", () => {
  test("a shape mismatch: add of [200,3] and [4,3]", () => {
    assert.throws(
      () => trace({ x: [200, 3], y: [4, 3] }, ({ x, y }) => x.add(y)),
      gradcError(/^add:/, "[200,3]", "[4,3]", "do not broadcast", "%x: f64[200,3]", "%y: f64[4,3]"),
    );
  });

  test("an axis out of range: sum over axis 2 of a [2,3] tensor", () => {
    assert.throws(() => trace({ x: [2, 3] }, ({ x }) => x.sum(2)), gradcError(/^sum:/, "axis 2", "rank 2", "%x: f64[2,3]"));
    assert.throws(() => trace({ x: [2, 3] }, ({ x }) => x.mean(-3)), gradcError(/^mean:/, "axis -3", "%x: f64[2,3]"));
  });

  test("mixed dtypes: f64 times f32", () => {
    assert.throws(
      () => trace({ x: [2, 3], y: { shape: [2, 3], dtype: "f32" } }, ({ x, y }) => x.mul(y)),
      gradcError(/^mul:/, "mixed dtypes", "f64", "f32", "%y: f32[2,3]"),
    );
  });

  test("matmul with inner dimensions that differ", () => {
    assert.throws(() => trace({ a: [2, 3], c: [4, 5] }, ({ a, c }) => a.matmul(c)), gradcError(/^matmul:/, "inner dimensions", "[2,3]", "[4,5]", "%a", "%c"));
  });

  test("a reshape to the wrong number of elements", () => {
    assert.throws(() => trace({ x: [2, 3] }, ({ x }) => x.reshape([4])), gradcError(/^reshape:/, "[2,3]", "[4]", "%x"));
  });

  test("an unknown op", () => {
    assert.throws(() => apply("nope", [input("x", [2])]), gradcError('unknown op "nope"', "add", "matmul"));
  });

  test("a composite's parameter of the wrong size: batchnorm of [4,3] with gamma [5]", () => {
    assert.throws(
      () => trace({ x: [4, 3], gamma: [5], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out),
      gradcError(/^batchnorm:/, "%gamma: f64[5]", "[3]"),
    );
  });

  test("trace: a function that returns something other than nodes", () => {
    assert.throws(() => trace({ x: [2] }, () => ({ y: 3 as never })), gradcError('output "y" is not a graph node'));
    // a bare number, nothing, an array or an empty record would give a graph without outputs
    for (const bad of [3, undefined, [], {}]) {
      assert.throws(() => trace({ x: [2] }, () => bad as never), gradcError("trace: the function must return a node or a record of named nodes"));
    }
  });
});

describe("when the graph is evaluated", () => {
  const g = trace({ x: [2, 3], w: [3] }, ({ x, w }) => x.mul(w).sum(0));
  const ok = { x: zeros([2, 3]), w: zeros([3]) };

  test("a missing input", () => {
    assert.throws(() => evaluate(g, { x: ok.x }), gradcError('missing input "w"', "f64[3]", "x, w"));
  });

  test("a ragged nested array: the input's name and expected shape", () => {
    assert.throws(
      () =>
        evaluate(g, {
          x: [
            [1, 2, 3],
            [4, 5],
          ],
          w: ok.w,
        }),
      gradcError(/^evaluate: input "x" \(the graph expects f64\[2,3\]\)/, "element [1] is a list of 2"),
    );
    // the same count of values, wrongly nested, is ragged too (not silently flattened)
    assert.throws(
      () =>
        evaluate(g, {
          x: [
            [1, 2, 3],
            [4, 5, [6]],
          ],
          w: ok.w,
        }),
      gradcError('input "x"', "element [1][2] is a list, not a number"),
    );
  });

  test("a tensor too large for a typed array: a GradcError with its size, not V8's bare RangeError", () => {
    assert.throws(() => zeros([100000, 100000]), gradcError("cannot allocate 10000000000 f64 elements (80000000000 bytes)"));
  });

  test("a tensor prints NaN and infinities as themselves (JSON would print null)", () => {
    assert.equal(
      tensor([
        [1, NaN],
        [-Infinity, 0.5],
      ]).toString(),
      "f64[2,2] [[1,NaN],[-Infinity,0.5]]",
    );
  });

  test("values that are not numbers are refused, not turned into NaN or 0", () => {
    for (const bad of ["a", true, null]) {
      assert.throws(() => evaluate(g, { x: ok.x, w: [1, bad as never, 3] }), gradcError('input "w"', `element [1] is ${JSON.stringify(bad)}, not a number`));
    }
  });

  test("a missing input named like an Object.prototype key is missing, not Object's", () => {
    const h = trace({ constructor: [2] }, ({ constructor }) => constructor.add(1));
    assert.throws(() => evaluate(h, {}), gradcError('missing input "constructor"', "f64[2]"));
  });

  test("an extra input", () => {
    assert.throws(() => evaluate(g, { ...ok, z: zeros([1]) }), gradcError('unexpected input(s) "z"', "x, w"));
  });

  test("an input of the wrong shape", () => {
    assert.throws(() => evaluate(g, { ...ok, x: zeros([3, 2]) }), gradcError('input "x"', "[3,2]", "f64[2,3]"));
    assert.throws(() => evaluate(g, { ...ok, w: [1, 2] }), gradcError('input "w"', "[2]", "f64[3]"));
  });

  test("an input of the wrong dtype", () => {
    assert.throws(() => evaluate(g, { ...ok, w: tensor([1, 2, 3], [3], "f32") }), gradcError('input "w" is f32', "f64[3]"));
  });

  test("a kernel that fails: the error names the node in the printer's form", () => {
    register({
      ...elementwise({
        name: "failing",
        arity: 1,
        scalar: () => {
          throw new Error("no");
        },
        expr: () => "0",
      }),
    });
    try {
      const f = trace({ x: [2] }, ({ x }) => apply("failing", [x.exp()]));
      assert.throws(() => evaluate(f, { x: [1, 2] }), gradcError("evaluate: failing failed", "%1 = failing %0 : f64[2]"));
    } finally {
      unregister("failing");
    }
  });
});

describe("when the graph is differentiated", () => {
  test("an op without a gradient rule, on the path to an input", () => {
    register(elementwise({ name: "noGradient", arity: 1, scalar: (v) => Math.round(v), expr: ([v]) => `Math.round(${v})` }));
    try {
      const f = trace({ x: [2, 3] }, ({ x }) => apply("noGradient", [x]).sum());
      assert.throws(() => grad(f), gradcError('op "noGradient" is not differentiable', "f64[2,3]", "%x"));
      // off the path to the inputs asked for, it is no obstacle
      const g = trace({ x: [2], y: [2] }, ({ x, y }) => apply("noGradient", [x]).add(y).sum());
      assert.deepEqual(grad(g, { wrt: ["y"] }).outputNames, ["dy"]);
    } finally {
      unregister("noGradient");
    }
  });

  test("a cotangent name that clashes with an input", () => {
    const f = trace({ x: [2], dout: [2] }, ({ x, dout }) => b.mul(x, dout));
    assert.throws(() => grad(f), gradcError('cotangent input "dout" would clash'));
  });

  test("an output or input name the graph does not have: which call and which option", () => {
    const f = trace({ x: [2] }, ({ x }) => x.mul(2));
    assert.throws(() => grad(f, { of: "y" }), gradcError(/^grad: \{ of: "y" \}/, 'no output named "y"', "outputs are out"));
    assert.throws(() => grad(f, { wrt: ["z"] }), gradcError(/^grad: \{ wrt \}/, 'no input named "z"', "inputs are x"));
    assert.throws(() => vjp(f, { of: "y" }), gradcError(/^vjp: \{ of: "y" \}/));
  });
});
