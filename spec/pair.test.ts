// optimize(vjp(g)): the pair optimized together. The forward computes only the residuals the
// optimized backward reads, and the pair still computes the gradient.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { zoo } from "../ops/zoo.js";
import type { Graph } from "../core/graph.js";
import { Tensor } from "../core/tensor.js";
import type { Node } from "../core/node.js";
import { labelInputs } from "../compile/check/random-graphs.js";
import { randomTensor, relError, seededRandom } from "../compile/check/numeric.js";

const softmax = trace({ x: [4, 3] }, ({ x }) => {
  const e = x.sub(x.max(-1, true)).exp();
  return e.div(e.sum(-1, true));
});

/** Run forward then backward of a pair on random inputs; the gradients next to grad's. */
function checkPair(g: Graph, pair: { forward: Graph; backward: Graph }, seed: number): void {
  const rand = seededRandom(seed);
  const labels = labelInputs(g); // class labels must be integers in range (checked when the graph runs)
  const label = (x: Node, c: number) =>
    new Tensor(
      Float64Array.from({ length: x.size }, () => Math.floor(c * rand())),
      x.shape,
    );
  const inputs: Record<string, Tensor> = Object.fromEntries(
    g.inputs.map((x) => [x.name, labels.has(x) ? label(x, labels.get(x)!) : randomTensor(rand, [...x.shape])]),
  );
  const out = g.output("out");
  const dout = randomTensor(rand, [...out.shape]);
  const fwd = evaluate(pair.forward, inputs);
  assert.ok(
    relError(fwd.out, evaluate(g, inputs).out) <= 1e-12,
    `the forward still computes out: relative error ${relError(fwd.out, evaluate(g, inputs).out)}`,
  );
  const known: Record<string, Tensor> = { ...inputs, ...fwd, dout };
  const got = evaluate(pair.backward, Object.fromEntries(pair.backward.inputNames.map((k) => [k, known[k]])));
  // grad seeds a scalar output (a loss) with 1, so it takes no dout: scale its result instead
  const gr = grad(g);
  const want = evaluate(gr, gr.inputNames.includes("dout") ? { ...inputs, dout } : inputs);
  const scale = out.rank === 0 ? dout.data[0] : 1;
  for (const k of Object.keys(want)) {
    const w = Array.from(want[k].data, (x) => x * scale);
    assert.ok(relError(got[k], w) <= 1e-12, `${k}: relative error ${relError(got[k], w)}`);
  }
}

test("softmax: the optimized backward no longer reads the argmax mask, so the forward stops computing it", () => {
  const v = vjp(softmax);
  assert.ok(
    v.residuals.some((r) => r.startsWith("equal_")),
    v.residuals.join(", "),
  );
  const o = optimize(v);
  assert.ok(!o.residuals.some((r) => r.startsWith("equal_")), o.residuals.join(", "));
  assert.ok(o.dropped.length > 0);
  assert.ok(o.forward.size < v.forward.size, `forward ${v.forward.size} -> ${o.forward.size} nodes`);
  for (const r of o.dropped) {
    assert.ok(!o.forward.outputNames.includes(r) && !o.backward.inputNames.includes(r), r);
  }
  assert.deepEqual(
    o.backward.inputNames.filter((x) => !o.residuals.includes(x)),
    ["dout"],
    "the cotangent stays an input",
  );
  checkPair(softmax, o, 3);
});

test("for every zoo graph, optimize(vjp(g)) computes grad(g), with forward outputs = out + the residuals kept", () => {
  for (const [name, entry] of Object.entries(zoo)) {
    const g = entry.build(entry.shape);
    const o = optimize(vjp(g));
    const saved = o.residuals.filter((r) => !g.inputNames.includes(r) && r !== "out");
    assert.deepEqual(o.forward.outputNames.sort(), ["out", ...saved].sort(), name);
    checkPair(g, o, 7);
  }
});

test("with { trace: true } the pair carries the backward optimizer's rewrite steps", () => {
  const o = optimize(vjp(zoo.batchnorm.build([6, 3])), { trace: true });
  assert.ok(o.optimizer.steps.length > 0);
  assert.equal(o.optimizer.graph, o.backward);
});
