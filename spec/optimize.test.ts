// The optimizer: every rule is sound wherever it fires; optimized graphs compute what the original
// computes; every normalization's backward reaches one round of reductions.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { evaluate } from "../core/evaluate.js";
import { Graph } from "../core/graph.js";
import * as b from "../core/builder.js";
import { apply } from "../core/node.js";
import { Tensor } from "../core/tensor.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";
import { randomCase, seeded } from "../compile/check/random-graphs.js";
import { checkRules, type SoundnessCase } from "../compile/optimize/soundness.js";
import { tables } from "../compile/optimize/rules/index.js";
import { zooGraph } from "../ops/zoo.js";

const random = (shape: readonly number[], r: () => number, lo = -2, hi = 2) => {
  const data = new Float64Array(shape.reduce((m, s) => m * s, 1));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r();
  return new Tensor(data, shape);
};

/** A backward graph from vjp with residual values computed by its forward on random inputs. */
function backwardCase(name: string, shape: readonly number[], seed: number): SoundnessCase & { forwardInputs: Record<string, Tensor> } {
  const r = seeded(seed);
  const { forward, backward } = vjp(zooGraph(name, shape));
  const fin: Record<string, Tensor> = {};
  for (const x of forward.inputs) fin[x.name] = random(x.shape, r, x.name === "x" ? -3 : 0.5, x.name === "x" ? 5 : 2);
  const fout = evaluate(forward, fin);
  const inputs: Record<string, Tensor> = {};
  for (const x of backward.inputs) inputs[x.name] = fout[x.name] ?? fin[x.name] ?? random(x.shape, r);
  for (const name of Object.keys(backward.facts)) inputs[name] ??= fout[name]; // forward outputs an optimized backward may read
  return { graph: backward, inputs, forwardInputs: fin, label: `${name}[${shape}] seed ${seed}` };
}

/** The values `g` takes (a backward case also carries the forward outputs an optimized graph may read). */
const feed = (g: Graph, values: Record<string, Tensor>) => Object.fromEntries(g.inputs.map((x) => [x.name, values[x.name]]));

const maxRelError = (a: Tensor, b: Tensor) => {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]) / Math.max(1e-8, Math.abs(a.data[i]) + Math.abs(b.data[i])));
  return m;
};

/**
 * Difference relative to the gradient's scale: the largest of the two results and the cotangent.
 * (Elementwise relative error is meaningless where terms cancel to ~1e-8 at degenerate shapes.)
 */
const normwiseError = (a: Tensor, b: Tensor, dout: Tensor) => {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(a.data[i]), Math.abs(b.data[i]));
  }
  for (const v of dout.data) scale = Math.max(scale, Math.abs(v));
  return diff / scale;
};

const allRules = Object.values(tables).flat();

/** Small named shapes that random graphs rarely build: constants under functions, views of views. */
function fixtures(): SoundnessCase {
  const r = seeded(7);
  const x = b.input("x", [2, 3]),
    s = b.input("s", [1, 1]),
    c = b.input("c", [2, 3]);
  const a = b.input("a", [2, 6]),
    m = b.input("m", [6, 6]),
    w = b.input("w", [6, 1]);
  const graph = new Graph([x, s, c, a, m, w], {
    chain: b.matmul(b.matmul(a, m), w), // a (m w) is cheaper: matmul-of-contraction
    transposed: b.add(b.transpose(b.matmul(b.transpose(m), w)), b.transpose(b.matmul(b.transpose(w), m))), // (m^T w)^T = w^T m
    bothTransposed: b.matmul(b.transpose(m), b.transpose(a)), // m^T a^T = (a m)^T
    folded: b.mul(x, b.exp(b.constant(0.5, "f64", [2, 3]))),
    recip: b.recip(b.add(b.square(x), 1)),
    rsqrt: b.rsqrt(b.add(b.square(x), 2)),
    same: b.select(b.less(c, x), x, x),
    picked: b.add(b.select(b.constant(0, "f64", [2, 3]), x, c), b.select(b.constant(Number.NaN, "f64", [2, 3]), x, c)),
    powers: b.add(b.pow(x, 3), b.pow(b.add(c, 3), -2)),
    stop: b.stopGradient(b.mul(x, 3)),
    views: b.broadcastTo(b.broadcastTo(s, [1, 3]), [2, 3]),
    constView: b.mul(x, apply("broadcastTo", [apply("reshape", [b.constant(2)], { shape: [1, 1] })], { shape: [2, 3] })),
  });
  return {
    graph,
    inputs: { x: random([2, 3], r), s: random([1, 1], r), c: random([2, 3], r), a: random([2, 6], r), m: random([6, 6], r), w: random([6, 1], r) },
    label: "fixtures",
  };
}
const zooShapes: [string, number[]][] = [
  ["batchnorm", [7, 3]],
  ["batchnorm", [1, 4]],
  ["batchnorm", [2, 1]],
  ["spatial-batchnorm", [3, 2, 2, 3]],
  ["layernorm", [4, 5]],
  ["rmsnorm", [3, 6]],
  ["groupnorm", [2, 4, 2, 2]],
  ["softmax", [5, 4]],
  ["log-softmax", [5, 4]],
  ["logsumexp", [5, 4]],
  ["attention", [6, 3]],
];

test("every rule is sound wherever it fires (random graphs and normalization backwards)", () => {
  const cases: SoundnessCase[] = [];
  for (let seed = 1; seed <= 300; seed++) {
    const c = randomCase(seed);
    cases.push({ ...c, label: `fuzz seed ${seed}` });
  }
  zooShapes.forEach(([name, shape], i) => cases.push(backwardCase(name, shape, i + 1)));
  cases.push(fixtures());
  // the intermediate graphs of optimization are rich in matches for the later rules
  for (const c of cases.slice(300)) {
    for (const step of optimize(c.graph, { trace: true }).steps) cases.push({ ...c, graph: step.graph, label: `${c.label} after ${step.rule}` });
  }
  const { firings, failures } = checkRules(allRules, cases);
  assert.deepEqual(
    failures.slice(0, 5),
    [],
    `unsound rewrites:\n${failures
      .slice(0, 5)
      .map((f) => `${f.rule} (error ${f.error}) at ${f.where}`)
      .join("\n")}`,
  );
  const fired = new Set(firings.map((f) => f.rule));
  const never = allRules.filter((r) => !fired.has(r.name)).map((r) => r.name);
  assert.deepEqual(never, [], `rules never exercised by the soundness cases (add a case that makes them fire): ${never.join(", ")}`);
});

test("integer powers are products: d/dx sum(x^3) optimizes to 3 * square(x), the pow rule's select and Math.pow gone", () => {
  const x = b.input("x", [4, 5]);
  const backward = grad(new Graph([x], { out: b.sum(b.pow(x, 3), [0, 1]) }), { of: "out", wrt: ["x"] });
  const ops = optimize(backward)
    .nodes()
    .map((n) => n.op);
  assert.ok(!ops.includes("pow") && !ops.includes("select") && !ops.includes("equal"), `left: ${ops.join(" ")}`);
  assert.ok(ops.includes("square"), `ops: ${ops.join(" ")}`);
});

test("a product computed twice, once transposed (W2 W3 and W3^T W2^T), is computed once", () => {
  const w2 = b.input("w2", [5, 7]),
    w3 = b.input("w3", [7, 3]);
  const g = new Graph([w2, w3], { p: b.matmul(w2, w3), q: b.matmul(b.transpose(w3), b.transpose(w2)) });
  const o = optimize(g);
  assert.equal(o.nodes().filter((n) => n.op === "matmul").length, 1, `got\n${o}`);
  assert.equal(o.outputs.q, b.transpose(o.outputs.p));
});

test("sigmoid + binary cross-entropy: the gradient's rational form p(1 - x) - x(1 - p) joins to p - x", () => {
  const z = b.input("z", [4, 5]),
    x = b.input("x", [4, 5]);
  const p = b.sigmoid(z);
  const bce = b.neg(b.sum(b.add(b.mul(x, b.log(p)), b.mul(b.sub(1, x), b.log(b.sub(1, p)))), [0, 1]));
  const g = optimize(grad(new Graph([z, x], { out: bce }), { of: "out", wrt: ["z"] }));
  assert.equal(g.outputs.dz, b.sub(b.sigmoid(z), x), `got\n${g}`);
});

test("for all random graphs g: evaluate(optimize(g)) == evaluate(g)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
      const c = randomCase(seed, { matmul: seed % 3 === 0 });
      const want = evaluate(c.graph, c.inputs);
      const got = evaluate(optimize(c.graph), c.inputs);
      // the scale is the largest value anywhere in the graph: the derived evaluation of a sum that
      // cancels to 0 (sum(c - mean(c)) over values ~1e8) carries that magnitude's rounding, which
      // the optimized graph, having proved the 0, does not (random case seed 213921658)
      const inner = c.graph.nodes().filter((n) => !n.isInput && !n.isConst);
      const all = evaluate(new Graph(c.graph.inputs, Object.fromEntries(inner.map((n, i) => [`n${i}`, n]))), c.inputs);
      const largest = Math.max(1, ...Object.values(all).flatMap((t) => Array.from(t.data, (v) => (Number.isFinite(v) ? Math.abs(v) : 0))));
      for (const k of Object.keys(want)) {
        let scale = largest,
          diff = 0;
        want[k].data.forEach((v, i) => {
          scale = Math.max(scale, Math.abs(v));
          diff = Math.max(diff, Math.abs(v - got[k].data[i]));
        });
        assert.ok(diff / scale < 1e-9, `seed ${seed} output ${k}: differs by ${diff} (scale ${scale})\n${c.graph}`);
      }
    }),
    { numRuns: 2000, examples: [[213921658]] },
  );
});

test("sum-of-terms: two broadcasts of one value pulled out of a sum keep both factors (random case seed 1678069201)", () => {
  // sum_1(bcast(s) * bcast(bcast(s) * rowsum(x0)) * ...): both factors narrow to bcast(s) to [3,1]
  const c = randomCase(1678069201);
  const want = evaluate(c.graph, c.inputs).out;
  const got = evaluate(optimize(c.graph), c.inputs).out;
  const scale = Math.max(1, ...Array.from(want.data, Math.abs));
  want.data.forEach((v, i) => assert.ok(Math.abs(v - got.data[i]) / scale < 1e-9, `out[${i}]: optimized ${got.data[i]}, want ${v}`));
});

const depthCases: [string, (r: () => number) => number[]][] = [
  ["batchnorm", (r) => [1 + Math.floor(r() * 9), 1 + Math.floor(r() * 6)]],
  ["spatial-batchnorm", (r) => [1 + Math.floor(r() * 3), 1 + Math.floor(r() * 3), 1 + Math.floor(r() * 3), 2]],
  ["layernorm", (r) => [1 + Math.floor(r() * 6), 1 + Math.floor(r() * 7)]],
  ["rmsnorm", (r) => [1 + Math.floor(r() * 6), 1 + Math.floor(r() * 7)]],
  ["groupnorm", (r) => [1 + Math.floor(r() * 3), 2 * (1 + Math.floor(r() * 2)), 2, 1 + Math.floor(r() * 2)]],
];

for (const [name, shapeOf] of depthCases) {
  test(`${name}: the optimized backward has one round of reductions and equals the derived one`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const shape = shapeOf(seeded(seed));
        const c = backwardCase(name, shape, seed);
        const opt = optimize(c.graph);
        const before = stats(c.graph).reductionDepth,
          after = stats(opt).reductionDepth;
        // degenerate shapes (a reduced axis of size 1) need no reductions at all
        assert.ok(after <= 1 && after <= before, `${name}[${shape}]: depth ${before} -> ${after}\n${opt}`);
        const want = evaluate(c.graph, feed(c.graph, c.inputs)),
          got = evaluate(opt, feed(opt, c.inputs));
        for (const k of Object.keys(want)) {
          const err = normwiseError(want[k], got[k], c.inputs.dout);
          assert.ok(err < 1e-10, `${name}[${shape}] ${k}: error ${err}`);
        }
      }),
      { numRuns: 40 },
    );
  });
}

test("batchnorm at N=2 and N=200: the derived backward is depth 2, the optimized depth 1", () => {
  for (const shape of [
    [2, 3],
    [200, 3],
  ]) {
    const { backward } = vjp(zooGraph("batchnorm", shape));
    assert.equal(stats(backward).reductionDepth, 2);
    assert.equal(stats(optimize(backward)).reductionDepth, 1);
  }
});

test("batchnorm at N=1: no reductions are needed, and dx is exactly zero", () => {
  const { backward } = vjp(zooGraph("batchnorm", [1, 3]));
  const opt = optimize(backward);
  assert.equal(stats(opt).reductionDepth, 0);
  assert.ok(opt.outputs.dx.isConst && opt.outputs.dx.value === 0, String(opt));
});

test("the optimized batchnorm backward equals the hand-written alt kernel (float64, 1e-10)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 1e6 }), (n, d, seed) => {
      const c = backwardCase("batchnorm", [n, d], seed);
      const opt = optimize(c.graph);
      const got = evaluate(opt, feed(opt, c.inputs));
      const { gamma } = c.forwardInputs;
      const f = c.inputs;
      const alt = batchnormBackwardAltFrom(c.inputs.dout, f.xhat, gamma, f.std);
      assert.ok(normwiseError(got.dx, alt.dx, c.inputs.dout) < 1e-10, `dx error ${normwiseError(got.dx, alt.dx, c.inputs.dout)} at [${n},${d}]`);
      assert.ok(maxRelError(got.dgamma, alt.dgamma) < 1e-10);
      assert.ok(maxRelError(got.dbeta, alt.dbeta) < 1e-10);
    }),
    { numRuns: 60 },
  );
});

/** The alt kernel from the residuals the backward receives (xhat, std). */
function batchnormBackwardAltFrom(dout: Tensor, xhat: Tensor, gamma: Tensor, std: Tensor) {
  const [n, d] = dout.shape;
  const dx = new Float64Array(n * d),
    dgamma = new Float64Array(d),
    dbeta = new Float64Array(d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      dbeta[j] += dout.data[i * d + j];
      dgamma[j] += dout.data[i * d + j] * xhat.data[i * d + j];
    }
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      dx[k] = (gamma.data[j] / std.data[j] / n) * (n * dout.data[k] - dbeta[j] - xhat.data[k] * dgamma[j]);
    }
  return { dx: new Tensor(dx, [n, d]), dgamma: new Tensor(dgamma, [d]), dbeta: new Tensor(dbeta, [d]) };
}

test("the optimizer's work does not grow with the data: batchnorm at 8x3 and 4096x1024 takes the same steps", (t) => {
  // (how long it takes is the benchmarks' business: a timed test fails on a loaded machine)
  const small = optimize(vjp(zooGraph("batchnorm", [8, 3])).backward, { trace: true });
  const big = optimize(vjp(zooGraph("batchnorm", [4096, 1024])).backward, { trace: true });
  assert.equal(big.stop, "saturated");
  assert.deepEqual(
    big.steps.map((s) => s.rule),
    small.steps.map((s) => s.rule),
  );
  assert.equal(big.graph.size, small.graph.size);
  t.diagnostic(`4096x1024: ${big.steps.length} steps in ${big.ms.toFixed(1)} ms`);
});

test("limits stop the rewriting and say why", () => {
  const { backward } = vjp(zooGraph("batchnorm", [8, 3]));
  const res = optimize(backward, { trace: true, maxIterations: 3 });
  assert.ok(["iteration-limit", "saturated"].includes(res.stop));
  const full = optimize(backward, { trace: true });
  assert.equal(full.stop, "saturated");
  assert.ok(full.steps.length > 3 && full.steps.every((s) => s.rule && s.graph && s.matched.length > 0));
});
