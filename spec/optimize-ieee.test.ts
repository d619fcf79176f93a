// The optimizer never throws on a valid graph, and constants obey IEEE: infinities, NaN and empty
// reductions fold to what `evaluate` computes, or are not folded. Each case failed before its fix.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import { Tensor } from "../core/tensor.js";
import { trace } from "../core/trace.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";

/** Equal values, NaN equal to NaN (and -0 to 0: a zero's sign is not kept by algebra). */
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i] || (Number.isNaN(v) && Number.isNaN(b[i])));

/** evaluate(optimize(g)) and evaluate(g) agree exactly on the given inputs. */
function sameValues(g: Graph, inputs: Record<string, Tensor>): void {
  const want = evaluate(g, inputs),
    got = evaluate(optimize(g), inputs);
  for (const k of Object.keys(want)) {
    const [a, b] = [[...got[k].data], [...want[k].data]];
    assert.ok(same(a, b), `output ${k}: optimized [${a}], evaluate [${b}]\n${optimize(g)}`);
  }
}

const t = (data: number[], shape: number[] = [data.length]) => new Tensor(new Float64Array(data), shape);

test("emit: a common factor whose rest cancels to no terms (grad of max(x) - x) optimizes instead of throwing", () => {
  const g = grad(trace({ x: [1, 4] }, ({ x }) => x.max(0, true).sub(x)));
  sameValues(g, { x: t([1, -2, 3, 0.5], [1, 4]), dout: t([0.5, 1, -1, 2], [1, 4]) });
});

test("emit: the softmax's gradient and x*y/y - x optimize instead of throwing", () => {
  const sm = trace({ x: [3] }, ({ x }) => {
    const e = x.sub(x.max(-1, true)).exp();
    return e.div(e.sum(-1, true));
  });
  const g = grad(sm, { of: "out" });
  const inputs = { x: t([0.5, -1, 2]), dout: t([1, -0.5, 0.25]) };
  const want = evaluate(g, inputs).dx,
    got = evaluate(optimize(g), inputs).dx;
  got.data.forEach((v, i) => assert.ok(Math.abs(v - want.data[i]) < 1e-15, `dx[${i}] ${v} vs ${want.data[i]}`));
  // x*y/y - x is 0 where y != 0 and NaN where y = 0: not folded to 0
  sameValues(
    trace({ x: [3], y: [3] }, ({ x, y }) => x.mul(y).div(y).sub(x)),
    { x: t([1, 2, 3]), y: t([2, 0, -1]) },
  );
});

test("x + Infinity stays x + Infinity (1/Infinity = 0 is no exact reciprocal)", () => {
  const g = trace({ x: [3] }, ({ x }) => x.add(Infinity));
  assert.notEqual(optimize(g).outputs.out, g.inputs[0]);
  sameValues(g, { x: t([1, -2, 3]) });
});

test("x * Infinity is not 0", () => {
  sameValues(
    trace({ x: [3] }, ({ x }) => x.mul(Infinity)),
    { x: t([1, -2, 0]) },
  );
});

test("mean over an empty axis is NaN, as evaluate computes it, not 0", () => {
  const g = trace({ x: [3, 0] }, ({ x }) => x.mean(1));
  const out = evaluate(optimize(g), { x: new Tensor(new Float64Array(0), [3, 0]) }).out;
  assert.ok([...out.data].every(Number.isNaN), String(optimize(g)));
});

test("constants with infinities and NaN fold to what evaluate computes", () => {
  const cases: [string, Graph][] = [
    ["inf - inf", trace({ x: [2] }, ({ x }) => x.add(Infinity).sub(Infinity))],
    ["0 * inf", trace({ x: [2] }, ({ x }) => x.mul(0).add(x.mul(Infinity)))],
    ["x * nan", trace({ x: [2] }, ({ x }) => x.mul(NaN).sub(x.mul(NaN)))],
    ["sum of inf over an empty axis", trace({ x: [2, 0] }, ({ x }) => x.add(Infinity).sum(1))],
    ["inf / inf", trace({ x: [2] }, ({ x }) => x.mul(Infinity).div(Infinity))],
  ];
  for (const [name, g] of cases) {
    const x = g.inputs[0];
    const inputs = { x: new Tensor(new Float64Array(x.size).fill(1.5), x.shape) };
    const want = evaluate(g, inputs).out,
      got = evaluate(optimize(g), inputs).out;
    assert.ok(same([...got.data], [...want.data]), `${name}: optimized [${got.data}], evaluate [${want.data}]\n${optimize(g)}`);
  }
});

test("variance with a correction over a size-1 axis (divide by N - 1 = 0) is NaN after optimize, as evaluate gives", () => {
  // before: grad(sum(w * var)) optimized to 0: (0 * a) + (-0 * a) collected to 0 with a = w / 0 infinite
  const sq = (x: import("../core/node.js").Node) => x.sub(x.mean(0, true)).square().sum(0);
  const forms = {
    variance: trace({ x: [1, 3], w: [3] }, ({ x, w }) => w.mul(sq(x).div(0)).sum()),
    std: trace({ x: [1, 3], w: [3] }, ({ x, w }) => w.mul(sq(x).div(0).sqrt()).sum()),
  };
  for (const g of Object.values(forms)) {
    const inputs = { x: t([1, 2, 3], [1, 3]), w: t([1, 2, 3]) };
    sameValues(grad(g, { wrt: ["x"] }), inputs);
    sameValues(grad(g), inputs);
  }
});
