// Reverse-mode autodiff as a specification: grad of grad, deep chains, wrt subsets, scalar seeding,
// and the vjp split (forward with residuals, then backward) computing exactly what grad computes.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { variance } from "../ops/composites.js";
import * as b from "../core/builder.js";
import { zoo } from "../ops/zoo.js";
import { tensor, type Tensor } from "../core/tensor.js";
import type { Graph } from "../core/graph.js";
import { evalNumericalGradient, evalNumericalGradientArray, randomTensor, relError, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";
import { randomInputs as fuzzInputs } from "../compile/check/random-graphs.js";

/** Random values in [-1.5, 1.5) for every input of a graph. */
const randomInputs = (g: Graph, rand: () => number): Record<string, Tensor> => fuzzInputs(g, rand, -1.5, 1.5);

/**
 * max |a - b| over the largest magnitude in either: finite differences of a gradient carry an
 * absolute error (~1e-10 here), so an entry that is nearly zero by cancellation has a large
 * elementwise relative error (up to 5e-6 in 3000 random cases) though both sides agree.
 */
function normwiseError(a: Tensor, b: Tensor): number {
  let diff = 0,
    size = 1e-8;
  for (let i = 0; i < a.size; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    size = Math.max(size, Math.abs(a.data[i]), Math.abs(b.data[i]));
  }
  return diff / size;
}

/**
 * Second derivatives: the gradient graph is itself differentiated (with cotangent `ddx` on its
 * output dx), and the result compared with central differences of the first gradient.
 */
function secondOrderError(f: Graph, of: string, seed: number): number {
  const rand = seededRandom(seed);
  const first = grad(f, { wrt: [of] });
  const second = grad(first, { of: `d${of}` });
  const inputs = randomInputs(f, rand);
  const ct = randomTensor(rand, first.output(`d${of}`).shape);
  const got = evaluate(second, { ...inputs, [`dd${of}`]: ct });
  let worst = 0;
  for (const x of f.inputs) {
    const numeric = evalNumericalGradientArray((v) => evaluate(first, { ...inputs, [x.name]: v })[`d${of}`], inputs[x.name], ct);
    const e = relError(got[`d${x.name}`], numeric);
    const norm = normwiseError(got[`d${x.name}`], numeric);
    const why = `d${x.name} of d${of}: relative error ${e}, normwise ${norm}\n  derived   ${got[`d${x.name}`]}\n  numerical ${numeric}`;
    assert.ok(norm < 1e-7 && e < 1e-4, why);
    worst = Math.max(worst, norm);
  }
  return worst;
}

describe("grad of grad", () => {
  const shapes = fc.record({ n: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 1, max: 4 }), seed: arbSeed() });

  test("for all x, w: the Hessian-vector products of sum(tanh(x) * w)^2 match finite differences of its gradient (normwise 1e-7)", (t) => {
    let worst = 0;
    fc.assert(
      fc.property(shapes, ({ n, d, seed }) => {
        const f = trace({ x: [n, d], w: [n, d] }, ({ x, w }) => b.square(x.tanh().mul(w).sum()));
        worst = Math.max(worst, secondOrderError(f, "x", seed));
      }),
      runs(30),
    );
    t.diagnostic(`worst normwise relative error ${worst.toExponential(2)}`);
  });

  test("for all x: the same for the variance composite, sum(variance(x, 0) * c)", (t) => {
    let worst = 0;
    fc.assert(
      fc.property(shapes, ({ n, d, seed }) => {
        const f = trace({ x: [n, d], c: [d] }, ({ x, c }) => variance(x, 0).mul(c).sum());
        worst = Math.max(worst, secondOrderError(f, "x", seed));
      }),
      runs(30),
    );
    t.diagnostic(`worst normwise relative error ${worst.toExponential(2)}`);
  });

  test("the second derivative of a scalar function of a scalar: d2/dx2 exp(x) * x = exp(x) (x + 2)", () => {
    const f = trace({ x: [] }, ({ x }) => x.exp().mul(x));
    const d2 = grad(grad(f, { wrt: ["x"] }), { of: "dx" });
    assert.deepEqual(d2.inputNames, ["x"], "a scalar gradient needs no cotangent input");
    const got = evaluate(d2, { x: 0.7 }).dx.data[0];
    assert.ok(Math.abs(got - Math.exp(0.7) * 2.7) < 1e-12, `got ${got}`);
  });
});

describe("deep graphs", () => {
  test("a 300-layer chain differentiates (iteratively) and matches finite differences", () => {
    const f = trace({ x: [3], w: [3] }, ({ x, w }) => {
      let h = x;
      for (let layer = 0; layer < 300; layer++) h = h.mul(w).add(0.1).tanh();
      return h.sum();
    });
    const g = grad(f, { wrt: ["x"] });
    const x = tensor([0.3, -0.2, 0.5]),
      w = tensor([1.1, 0.9, 1.05]);
    const numeric = evalNumericalGradient((v) => evaluate(f, { x: v, w }).out.data[0], x);
    const e = relError(evaluate(g, { x, w }).dx, numeric);
    assert.ok(e < 1e-6, `relative error ${e}`);
  });

  test("a 20000-node chain: grad, vjp and evaluate never recurse", () => {
    const f = trace({ x: [2] }, ({ x }) => {
      let h = x;
      for (let k = 0; k < 10000; k++) h = h.mul(0.9999).add(1e-4);
      return h.sum();
    });
    assert.ok(f.size >= 20000);
    const { forward, backward } = vjp(f);
    const fwd = evaluate(forward, { x: [0.5, -0.5] });
    // a scalar output takes its cotangent as an input too (JAX's vjp): seed it with 1
    const dx = evaluate(backward, { ...Object.fromEntries(backward.inputNames.filter((k) => k !== "dout").map((k) => [k, fwd[k]])), dout: 1 }).dx;
    const want = 0.9999 ** 10000;
    assert.ok(relError(dx, [want, want]) < 1e-12, `dx = ${dx}, expected ${want}`);
  });
});

describe("what grad returns", () => {
  const bn = zoo.batchnorm.build([6, 3]);

  test("inputs: the forward inputs plus the cotangent d<of>; outputs: d<input> for each input in wrt", () => {
    const g = grad(bn, { of: "out" });
    assert.deepEqual(g.inputNames, ["x", "gamma", "beta", "dout"]);
    assert.deepEqual(g.outputNames, ["dx", "dgamma", "dbeta"]);
    const some = grad(bn, { of: "out", wrt: ["gamma"] });
    assert.deepEqual(some.outputNames, ["dgamma"]);
    const inputs = { ...randomInputs(bn, seededRandom(3)), dout: randomTensor(seededRandom(4), [6, 3]) };
    assert.deepEqual(evaluate(some, inputs).dgamma, evaluate(g, inputs).dgamma);
  });

  test("withValue: the forward outputs come too (value_and_grad)", () => {
    const g = grad(bn, { withValue: true });
    assert.deepEqual(g.outputNames, ["out", "dx", "dgamma", "dbeta"]);
  });

  test("a scalar output is seeded with 1: no cotangent input, as JAX's grad", () => {
    const f = trace({ x: [2, 3] }, ({ x }) => x.square().sum());
    const g = grad(f);
    assert.deepEqual(g.inputNames, ["x"]);
    const x = randomTensor(seededRandom(5), [2, 3]);
    assert.deepEqual(
      evaluate(g, { x }).dx.data,
      x.data.map((v) => 2 * v),
    );
    const kept = grad(trace({ x: [2, 3] }, ({ x }) => x.square().sum(undefined, true)));
    assert.deepEqual(kept.inputNames, ["x", "dout"], "a [1,1] output is not a scalar: it takes a cotangent");
  });

  test("an input the output does not depend on gets a zero gradient", () => {
    const f = trace({ x: [2], y: [2] }, ({ x }) => x.square().sum());
    assert.deepEqual(Array.from(evaluate(grad(f), { x: [1, 2], y: [3, 4] }).dy.data), [0, 0]);
  });

  test("forward values the backward needs are shared with the forward, not recomputed", () => {
    const g = grad(bn, { of: "out" });
    const forwardNodes = new Set(bn.nodes());
    const xhat = bn.nodes().find((n) => n.label === "xhat")!;
    assert.ok(g.nodes().includes(xhat), "the gradient graph uses the forward's xhat node itself");
    const duplicated = g.nodes().filter((n) => !forwardNodes.has(n) && n.label === "xhat");
    assert.equal(duplicated.length, 0);
  });

  test("errors: several outputs without { of }, an unknown wrt", () => {
    const two = trace({ x: [2] }, ({ x }) => ({ a: x.exp(), c: x.tanh() }));
    assert.throws(() => grad(two), /outputs a, c: say which with \{ of \}/);
    assert.throws(() => grad(bn, { wrt: ["z"] }), /no input named "z"/);
  });
});

describe("vjp: forward with residuals, then backward, equals grad", () => {
  for (const [name, entry] of Object.entries(zoo)) {
    test(`${name} at ${entry.shape.join("x")}: identical values`, () => {
      const g = entry.build(entry.shape);
      const rand = seededRandom(11);
      const inputs = randomInputs(g, rand);
      // a loss's vjp takes its cotangent too: 1 matches grad's seed
      const dout = g.output("out").rank === 0 ? tensor(1) : randomTensor(rand, g.output("out").shape);
      const { forward, backward, residuals } = vjp(g, { of: "out" });
      assert.ok(residuals.length > 0);
      for (const r of residuals) assert.ok(backward.inputNames.includes(r), `residual ${r} is a backward input`);
      const fwd = evaluate(forward, inputs);
      assert.deepEqual(fwd.out, evaluate(g, inputs).out);
      const known: Record<string, Tensor> = { ...inputs, ...fwd, dout };
      const viaVjp = evaluate(backward, Object.fromEntries(backward.inputNames.map((k) => [k, known[k]])));
      const gradGraph = grad(g, { of: "out" }); // a scalar output (a loss) is seeded with 1: no dout
      const viaGrad = evaluate(gradGraph, gradGraph.inputNames.includes("dout") ? { ...inputs, dout } : inputs);
      for (const k of Object.keys(viaGrad)) assert.ok(relError(viaVjp[k], viaGrad[k]) <= 1e-15, `${k} differs`);
    });
  }
});

describe("vjp of a loss (a scalar output)", () => {
  const loss = trace({ x: [6, 4], W: [4, 3], b: [3], y: [6] }, ({ x, W, b: bias, y }) => b.matmul(x, W).add(bias).tanh().square().mean());

  test("takes the cotangent dout as an input, as JAX's vjp does, so the backward is a real graph", () => {
    const { backward, residuals } = vjp(loss, { wrt: ["W", "b"] });
    assert.deepEqual(backward.input("dout").shape, []);
    assert.ok(backward.size >= 4, `a backward of ${backward.size} nodes`);
    const rand = seededRandom(5);
    const inputs = randomInputs(loss, rand);
    const { forward } = vjp(loss, { wrt: ["W", "b"] });
    const fwd = evaluate(forward, inputs);
    const known: Record<string, unknown> = { ...inputs, ...fwd, dout: 2 };
    const got = evaluate(backward, Object.fromEntries(residuals.concat("dout").map((k) => [k, known[k] as Tensor])));
    const want = evaluate(grad(loss, { wrt: ["W", "b"] }), inputs); // grad still seeds the scalar with 1
    for (const k of ["dW", "db"])
      assert.ok(
        relError(
          got[k],
          Array.from(want[k].data, (v) => 2 * v),
        ) <= 1e-14,
        k,
      );
  });

  test("residuals carry readable names: a composite's label, else op_<k> for the k-th node of that op in the forward", () => {
    const { forward, residuals } = vjp(loss);
    for (const r of residuals) assert.doesNotMatch(r, /^r\d+$/);
    const ops = forward
      .nodes()
      .filter((n) => !n.isInput && !n.isConst)
      .map((n) => n.op);
    for (const r of residuals.filter((name) => !loss.inputNames.includes(name) && !loss.outputNames.includes(name))) {
      const m = /^(\w+)_(\d+)$/.exec(r);
      assert.ok(m, `residual ${r}`);
      const node = forward.output(r);
      assert.equal(node.op, m[1]);
      assert.equal(
        ops
          .slice(
            0,
            forward
              .nodes()
              .filter((n) => !n.isInput && !n.isConst)
              .indexOf(node) + 1,
          )
          .filter((o) => o === m[1]).length,
        Number(m[2]),
        r,
      );
    }
    const bn = vjp(zoo.batchnorm.build([4, 3]));
    assert.ok(bn.residuals.includes("xhat") && bn.residuals.includes("std"), bn.residuals.join(", "));
  });
});
