// The optimizer's limits and scale: the time limit bounds the whole call (checked per node
// normalized and per node built, so inside a long rewrite too) and the best graph so far comes
// back; chains whose canonical form would grow without bound (h = 0.5 h^2: exponents 2^k) finish.
// Precise timings are a command (node dist/bench/optimize-scaling.js), not a test.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import * as b from "../core/builder.js";
import { nextNodeId, type Node } from "../core/node.js";
import { evaluate } from "../core/evaluate.js";
import { Tensor } from "../core/tensor.js";
import { trace } from "../core/trace.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { zooGraph } from "../ops/zoo.js";
import { optimize } from "../compile/optimize/optimize.js";

const chain = (k: number, f: (h: Node, x: Node) => Node, x = "x") =>
  trace({ [x]: [8] }, (v) => {
    let h = v[x];
    for (let i = 0; i < k; i++) h = f(h, v[x]);
    return b.sum(h);
  });

/** Nodes a call creates (hash-consing returns known ones without a new id). */
function built<T>(f: () => T): [T, number] {
  const first = nextNodeId();
  const r = f();
  return [r, nextNodeId() - first];
}

test("a time limit below what the graph needs returns the best graph so far, stopped by the limit, near the limit", () => {
  // before: the backward of a 100-step h = 0.5 h^2 chain took 146 s under a 10 s limit
  const g = grad(chain(100, (h) => b.mul(b.square(h), 0.5)));
  const r = optimize(g, { trace: true, timeLimitMs: 50 });
  assert.equal(r.stop, "time-limit");
  // loose (machines are shared): the bound the issue states, 10%, is measured by the bench command
  assert.ok(r.ms < 50 * 4 + 200, `${r.ms} ms under a 50 ms limit`);
  const x = new Tensor(Float64Array.from([0.5, -0.25, 0.1, 0.9, -0.7, 0.3, 0.2, -0.1]), [8]);
  assert.deepEqual([...evaluate(r.graph, { x }).dx.data], [...evaluate(g, { x }).dx.data]);
});

test("chains whose canonical form would blow up (h*h, 0.5 h^2: exponents 2^k) optimize to a fixpoint", () => {
  for (const [k, f] of [
    [25, (h: Node) => b.mul(h, h)],
    [40, (h: Node) => b.mul(b.square(h), 0.5)],
  ] as const) {
    const r = optimize(grad(chain(k, f)), { trace: true, timeLimitMs: 60_000 });
    assert.equal(r.stop, "saturated", `${k} steps`);
  }
});

test("literals, iota and constants take the trace's dtype: a causal mask select(mask, -Infinity, s) in float32", () => {
  // before: "select: mixed dtypes f64 and f64 and f32"
  const g = trace({ s: [3, 3] }, ({ s }) => b.select(b.less(b.iota([3, 3], 0), b.iota([3, 3], 1)), -Infinity, s).add(1), { dtype: "f32" });
  assert.equal(g.outputs.out.dtype, "f32");
  const out = evaluate(g, { s: new Tensor(new Float32Array(9).fill(2), [3, 3]) }).out.data;
  assert.deepEqual([...out], [3, -Infinity, -Infinity, 3, 3, -Infinity, 3, 3, 3]);
  // outside a trace the default stays float64
  assert.equal(b.constant(1).dtype, "f64");
});

test("recording the trace builds what each step changes, not the graph after it: a 450-node chain's traced run builds as many nodes as the untraced one", () => {
  // before: each step rebuilt the graph above the node it changed (133,150 nodes against 3,147;
  // 38 s at 500 nodes, 303 s at 1,000); the graphs after the steps are built when read
  const steps = [(h: Node) => b.tanh(h), (h: Node) => b.mul(h, 1.5), (h: Node, x: Node) => b.add(h, x), (h: Node) => b.sigmoid(h), (h: Node) => b.mul(h, h)];
  const make = (x: string) => {
    let i = 0;
    return grad(chain(150, (h, v) => steps[i++ % steps.length](h, v), x));
  };
  const [, plain] = built(() => optimize(make("x"), { timeLimitMs: 60_000 }));
  const [, traced] = built(() => optimize(make("y"), { trace: true, timeLimitMs: 60_000 }));
  assert.ok(traced < plain * 1.1 + 100, `traced run built ${traced} nodes, untraced ${plain}`);
});

test("a traced step's graph, built when read, is the previous graph with its substitution: every step changes the outputs, the last is the result", () => {
  const g = vjp(zooGraph("batchnorm")).backward;
  const r = optimize(g, { trace: true });
  assert.ok(r.steps.length > 10);
  const own = r.steps.filter((s) => s.base === r.steps[r.steps.length - 1].base);
  for (let k = 0; k < own.length; k++) {
    const before = k ? own[k - 1].graph : own[k].base;
    assert.notDeepEqual(Object.values(own[k].graph.outputs), Object.values(before.outputs), `step ${k + 1} (${own[k].rule}) changes the outputs`);
    const had = new Set(before.nodes());
    assert.deepEqual(
      own[k].produced,
      own[k].graph.nodes().filter((n) => !had.has(n)),
    );
  }
  assert.deepEqual(r.steps[r.steps.length - 1].graph.outputs, r.graph.outputs);
});
