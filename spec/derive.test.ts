// Derivation power, second family: softmax, log-softmax, logsumexp, softmax cross-entropy and
// attention reach their closed forms by general rules (values the forward computed, contractions
// in the algebra), with no rule that knows which of them it is looking at.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { evaluate } from "../core/evaluate.js";
import { toposort, type Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import * as b from "../core/builder.js";
import { trace } from "../core/trace.js";
import { Tensor } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { zooGraph } from "../ops/zoo.js";
import { stats } from "../compile/optimize/stats.js";
import { FullyConnectedNet } from "../nn/net.js";
import { seeded, type Rand } from "../compile/check/random-graphs.js";

const random = (shape: readonly number[], r: Rand, lo = -3, hi = 3) => {
  const data = new Float64Array(shape.reduce((m, s) => m * s, 1));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r();
  return new Tensor(data, shape);
};

/** Forward inputs: integer class labels for `y`, uniform values elsewhere. */
function forwardInputs(g: Graph, r: Rand): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const x of g.inputs) {
    out[x.name] =
      x.name === "y"
        ? new Tensor(
            Float64Array.from({ length: x.size }, () => Math.floor(r() * 10) % g.input("x").shape[1]),
            x.shape,
          )
        : random(x.shape, r);
  }
  return out;
}

/** Values for every input the backward or its optimized form takes: forward results, a random cotangent. */
function backwardInputs(forward: Graph, backward: Graph, r: Rand): Record<string, Tensor> {
  const fin = forwardInputs(forward, r);
  const fout = evaluate(forward, fin);
  const ct = Object.fromEntries(backward.inputs.filter((x) => !fout[x.name] && !fin[x.name]).map((x) => [x.name, random(x.shape, r)]));
  return { ...fin, ...fout, ...ct };
}

/** The values `g` takes, out of a larger set. */
const feed = (g: Graph, values: Record<string, Tensor>) => Object.fromEntries(g.inputs.map((x) => [x.name, values[x.name]]));

/** max |a - b| over the largest magnitude of either: normwise relative difference. */
function normwise(a: Tensor, c: Tensor): number {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - c.data[i]));
    scale = Math.max(scale, Math.abs(a.data[i]), Math.abs(c.data[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

function assertSameValues(naive: Graph, opt: Graph, inputs: Record<string, Tensor>, label: string) {
  const want = evaluate(naive, feed(naive, inputs)),
    got = evaluate(opt, feed(opt, inputs));
  for (const k of Object.keys(want)) {
    const err = normwise(want[k], got[k]);
    assert.ok(err < 1e-12, `${label} ${k}: normwise difference ${err}`);
  }
}

/** A node of the max's gradient path: a mask or selection comparing values with the max. */
const maxPath = (n: Node) => ["select", "less", "equal", "max", "maximum"].includes(n.op) && dependsOnData(n);
/** True unless `n` is computed from labels, iotas and constants alone (a one-hot is not the max path). */
const dependsOnData = (n: Node): boolean => {
  if (n.isInput) return n.name !== "y";
  return n.inputs.some(dependsOnData);
};
const reductions = (g: Graph) => g.nodes().filter((n) => n.def.kind === "reduce");

/**
 * The family as users write it, each with the reductions its closed form has (softmax:
 * y * (dy - sum(dy * y)); log-softmax: dy - softmax * sum(dy); logsumexp: dy * exp(x - lse);
 * cross-entropy with integer labels: dloss * (softmax - onehot) / N).
 */
const family: [string, number][] = [
  ["softmax", 1],
  ["log-softmax", 1],
  ["logsumexp", 0],
  ["softmax-cross-entropy", 0],
];

describe("the softmax family reaches its closed form", () => {
  for (const [name, closedForm] of family) {
    test(`${name}: no node of the max path is left and the reductions are the closed form's (${closedForm})`, () => {
      const { forward, backward } = vjp(zooGraph(name, [16, 10]));
      const opt = optimize(backward);
      const used = new Set(toposort(Object.values(opt.outputs)));
      const leftover = opt.nodes().filter(maxPath);
      const maskRead = opt.inputs.filter((x) => used.has(x) && backward.facts[x.name] && maxPath(backward.facts[x.name]));
      assert.deepEqual([...leftover, ...maskRead].map(String), [], `${name}: max path left in\n${opt}`);
      assert.equal(reductions(opt).length, closedForm, `${name}\n${opt}`);
      for (const seed of [1, 2, 3]) assertSameValues(backward, opt, backwardInputs(forward, backward, seeded(seed)), `${name} seed ${seed}`);
    });
  }
});

describe("attention: the row statistic is a contraction the forward computed", () => {
  test("the optimized backward reduces [T,d] elements (rowsum(dO * O)), not [T,T] (rowsum(dP * P))", () => {
    const [T, d] = [12, 4];
    const { forward, backward } = vjp(zooGraph("attention", [T, d]));
    assert.ok(
      reductions(backward).some((n) => n.inputs[0].shape.join() === `${T},${T}`),
      "the derived backward reduces [T,T]",
    );
    const opt = optimize(backward);
    const sums = reductions(opt);
    assert.ok(sums.length > 0);
    for (const n of sums) assert.deepEqual(n.inputs[0].shape, [T, d], `reduces ${n.inputs[0].shape}\n${opt}`);
    assert.ok(toposort(Object.values(opt.outputs)).includes(opt.input("out")), "reads the forward's output O");
    assert.equal(opt.nodes().filter(maxPath).length, 0, String(opt));
    for (const seed of [1, 2, 3]) assertSameValues(backward, opt, backwardInputs(forward, backward, seeded(seed)), `attention seed ${seed}`);
  });

  test("without O at hand, reordering would cost a [T,T]x[T,d] product: the [T,T] row statistic stays", () => {
    // the same backward with the forward output hidden: nothing makes P V free
    const [T, d] = [12, 4];
    const p = b.input("p", [T, T]),
      v = b.input("v", [T, d]),
      dout = b.input("dout", [T, d]);
    const dp = b.matmul(dout, b.transpose(v));
    const ds = b.mul(p, b.sub(dp, b.sum(b.mul(dp, p), 1, true)));
    const g = trace({ p: [T, T], v: [T, d], dout: [T, d] }, () => ds);
    const opt = optimize(g);
    assert.ok(
      reductions(opt).every((n) => n.inputs[0].shape.join() === `${T},${T}`),
      String(opt),
    );
    assert.equal(opt.nodes().filter((n) => n.op === "matmul").length, 1, String(opt));
  });
});

describe("forward-value fires on any program that saved what its backward recomputes", () => {
  test("negative entropy sum(p * log p) of a softmax: the backward reads the forward's output instead of re-reducing", () => {
    const g = trace({ x: [6, 5] }, ({ x }) => {
      const e = b.exp(x);
      const p = b.div(e, b.sum(e, -1, true));
      return b.sum(b.mul(p, b.log(p)), -1, true);
    });
    const { forward, backward } = vjp(g);
    const res = optimize(backward, { trace: true });
    assert.ok(
      res.steps.some((s) => s.rule === "forward-value"),
      res.steps.map((s) => s.rule).join(", "),
    );
    // dx = p * (log p - H) * dy: the closed form has no reduction at all
    assert.equal(reductions(res.graph).length, 0, String(res.graph));
    assert.ok(toposort(Object.values(res.graph.outputs)).includes(res.graph.input("out")));
    for (const seed of [1, 2]) assertSameValues(backward, res.graph, backwardInputs(forward, backward, seeded(seed)), `entropy seed ${seed}`);
  });

  test("a definition that folds to a constant is emitted as the constant, not read (batchnorm at N=1: xhat = 0)", () => {
    const { backward } = vjp(zooGraph("batchnorm", [1, 3]));
    const dx = optimize(backward).outputs.dx;
    assert.ok(dx.isConst && dx.value === 0, String(dx));
  });
});

describe("training graphs benefit too", () => {
  test("the notebook's 6-layer net with batchnorm: optimize sweeps fewer elements with no more nodes, and computes the same", () => {
    const net = new FullyConnectedNet([100, 100, 100, 100, 100], { inputDim: 20, weightScale: 2e-2, normalization: "batchnorm", seed: 231 });
    const derived = net.graph("train", 8);
    const opt = optimize(derived);
    const swept = (g: Graph) => reductions(g).reduce((m, n) => m + n.inputs[0].size, 0);
    assert.ok(stats(opt).nodes <= stats(derived).nodes, `nodes ${stats(derived).nodes} -> ${stats(opt).nodes}`);
    assert.ok(swept(opt) < swept(derived), `elements swept ${swept(derived)} -> ${swept(opt)}`);
    const r = seeded(5);
    const values: Record<string, Tensor> = {
      X: random([8, 20], r),
      y: new Tensor(
        Float64Array.from({ length: 8 }, (_, i) => i % 10),
        [8],
      ),
      ...net.params,
      ...net.state,
    };
    const want = evaluate(derived, feed(derived, values)),
      got = evaluate(opt, feed(opt, values));
    // db (a bias before batchnorm) is exactly zero: measure every gradient against the largest one
    const scale = Math.max(...Object.values(want).flatMap((t) => Array.from(t.data, Math.abs)));
    for (const k of Object.keys(want)) {
      const diff = Math.max(0, ...Array.from(want[k].data, (v, i) => Math.abs(v - got[k].data[i])));
      assert.ok(diff / scale < 1e-10, `${k}: ${diff / scale}`);
    }
  });
});
