// A symbolic batch size: trace({ x: ["N", 3] }) records N; autodiff and the optimizer keep 1/N as
// recip(dim N); evaluate and compile bind N from the inputs (one graph, any batch); the ONNX model
// has a symbolic dimension; inputs that bind N differently are an error naming N, inputs and sizes.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { Tensor } from "../core/tensor.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { batchnorm, layernorm } from "../ops/composites.js";
import { zoo } from "../ops/zoo.js";
import { decodeModel } from "../compile/export/proto.js";
import { exportOnnx } from "../compile/export/onnx.js";
import { exportedGraph, exportShape } from "../cli/export.js";
import { randomInputs, seeded } from "../compile/check/random-graphs.js";
import { specialize } from "../core/symbolic.js";
import { FullyConnectedNet } from "../nn/net.js";
import { stats } from "../compile/optimize/stats.js";
import { work } from "../compile/optimize/work.js";
import { mismatch, runOnOrt } from "./support/ort.js";

const bn = (shape: (number | string)[]) =>
  trace({ x: shape, gamma: [3], beta: [3] }, ({ x, gamma, beta }) => ({ out: batchnorm(x, gamma, beta).out, ln: layernorm(x, gamma, beta) }));

test("trace records N: shapes print as [N,3] and the mean divides by recip(dim N), not by a number", () => {
  const g = bn(["N", 3]);
  const text = g.toString();
  assert.match(text, /^graph\(x: f64\[N,3\], gamma: f64\[3\], beta: f64\[3\]\)/);
  assert.match(text, /dim\[name="N", dtype="f64"\]/);
  assert.match(text, /recip %\d+ : f64\[\]/);
});

test("for N in 2, 4, 50: the symbolic graph, its gradient and its optimized gradient evaluate and compile as the graph traced at N", () => {
  const sym = grad(bn(["N", 3]), { of: "out", withValue: true });
  const symOpt = optimize(sym);
  const exe = compile(symOpt);
  for (const n of [2, 4, 50]) {
    const concrete = grad(bn([n, 3]), { of: "out", withValue: true });
    const inputs = randomInputs(concrete, seeded(n));
    const want = evaluate(concrete, inputs);
    for (const [what, got] of [
      ["grad", evaluate(sym, inputs)],
      ["optimized", evaluate(symOpt, inputs)],
      ["compiled", exe.run(inputs)],
    ] as const) {
      for (const k of Object.keys(want)) assert.ok(mismatch(got[k], want[k]) < 1e-12, `${what} ${k} at N=${n}`);
    }
  }
});

test("a backward keeps N: vjp recomputes 1/N instead of saving it as a scalar residual", () => {
  const { backward, residuals } = vjp(bn(["N", 3]), { of: "out" });
  for (const name of residuals) assert.ok(backward.input(name).rank > 0, `residual ${name} is not a saved scalar`);
  assert.match(backward.toString(), /dim\[name="N"/);
});

/** The optimized backward's inputs at batch n: residuals from the forward, a random cotangent. */
function backwardInputs(name: string, shape: readonly number[]): Record<string, Tensor> {
  const forward = exportedGraph(zoo[name].build(shape), "forward");
  const values = { ...randomInputs(forward, seeded(shape[0]), 0.5, 2) };
  Object.assign(values, evaluate(forward, values));
  const backward = exportedGraph(zoo[name].build(shape), "optimized");
  const ct = randomInputs(backward, seeded(shape[0] + 1));
  return Object.fromEntries(backward.inputNames.map((k) => [k, values[k] ?? ct[k]]));
}

test("the symbolic batchnorm backward optimizes as the concrete one does: one round, 2 full-size reductions, no more work, exact at N = 1", () => {
  const sym = optimize(vjp(zoo.batchnorm.build(exportShape("batchnorm", "N,3"))).backward);
  const concrete = optimize(vjp(zoo.batchnorm.build([8, 3])).backward);
  const [s, c] = [stats(sym), stats(concrete)];
  assert.equal(s.reductionDepth, c.reductionDepth);
  assert.equal(s.fullSizeReductions, 2, `symbolic:\n${sym}`);
  // N * (1/N) = 1: no sum(xc) left (it is 0), and no more full-size elementwise work than at N = 8
  assert.ok(!sym.nodes().some((n) => n.op === "sum" && n.inputs[0].isInput && n.inputs[0].name === "xc"), `symbolic:\n${sym}`);
  const perRow = (g: typeof sym, n: number) => work(g).elementwise / (n * 3);
  assert.ok(Math.floor(perRow(sym, sym.input("dout").size / 3)) <= Math.floor(perRow(concrete, 8)), `symbolic:\n${sym}\nconcrete:\n${concrete}`);
  const inputs = backwardInputs("batchnorm", [1, 3]);
  const dx = evaluate(sym, Object.fromEntries(sym.inputNames.map((k) => [k, inputs[k]]))).dx;
  assert.deepEqual([...dx.data].map(Math.abs), [0, 0, 0]);
});

test("inputs that bind N differently: an error naming N, both inputs and both sizes", () => {
  const { backward } = vjp(bn(["N", 3]), { of: "out" });
  const inputs = randomInputs(vjp(bn([50, 3]), { of: "out" }).backward, seeded(1));
  inputs.dout = new Tensor(new Float64Array(49 * 3), [49, 3]);
  assert.throws(
    () => evaluate(backward, inputs),
    /evaluate: symbol N bound to 50 by xhat \(axis 0\), 49 by xc \(axis 0\)|symbol N bound to 50 by .*, 49 by dout \(axis 0\)/,
  );
  assert.throws(() => compile(optimize(backward)).run(inputs), /run: symbol N bound to 50 by .*, 49 by dout \(axis 0\)/);
});

test("the exported ONNX model has a symbolic batch dimension and runs at two batch sizes as gradc does", async () => {
  const shape = exportShape("batchnorm", undefined);
  const g = exportedGraph(zoo.batchnorm.build(shape), "optimized");
  const m = decodeModel(exportOnnx(g)) as any;
  const dout = m.graph.input.find((x: any) => x.name === "dout");
  assert.deepEqual(dout.type.tensor_type.shape.dim, [{ dim_param: "N" }, { dim_value: 3 }]);
  for (const n of [5, 64]) {
    const inputs = backwardInputs("batchnorm", [n, 3]);
    const want = evaluate(exportedGraph(zoo.batchnorm.build([n, 3]), "optimized"), inputs);
    const got = await runOnOrt(g, inputs);
    for (const k of ["dx", "dgamma", "dbeta"]) assert.ok(mismatch(got[k], want[k]) < 1e-12, `${k} at N=${n}`);
  }
});

test("every zoo graph exported with a symbolic batch (forward, backward, optimized, train) runs on ONNX Runtime as evaluate runs it", async () => {
  // attention's [T,T] scores would need T*T, a product of symbols: one symbol per axis, k*N only
  for (const name of Object.keys(zoo).filter((k) => k !== "attention")) {
    const rest = zoo[name].shape.slice(1);
    for (const which of ["forward", "backward", "optimized", "train"] as const) {
      const g = exportedGraph(zoo[name].build(exportShape(name, `N,${rest.join(",")}`)), which);
      for (const n of [2, 5]) {
        const concrete = exportedGraph(zoo[name].build([n, ...rest]), which);
        const inputs = randomInputs(concrete, seeded(n), 0.5, 2);
        if (inputs.y)
          inputs.y = new Tensor(
            inputs.y.data.map((_, i) => i % rest[0]),
            inputs.y.shape,
          );
        const want = evaluate(g, inputs);
        const got = await runOnOrt(g, inputs);
        for (const k of g.outputNames) assert.ok(mismatch(got[k], want[k]) < 1e-10, `${name} ${which} ${k} at N=${n}`);
      }
    }
  }
});

test("the notebook net traces once: its training graph with a symbolic batch, specialised, optimizes to the graph traced at that size; exported, it runs at two batch sizes", async () => {
  const net = new FullyConnectedNet([6, 5], { inputDim: 4, numClasses: 3, normalization: "batchnorm", reg: 0.1, seed: 1, weightScale: 0.5 });
  const g = net.graph("train", "N");
  assert.equal(optimize(specialize(g, { N: 8 })).toString(), optimize(net.graph("train", 8)).toString());
  for (const n of [8, 13]) {
    const inputs = randomInputs(net.graph("train", n), seeded(n), -1, 1);
    inputs.y = new Tensor(
      Float64Array.from({ length: n }, (_, i) => i % 3),
      [n],
    );
    inputs.runningVar1 = new Tensor(new Float64Array(6).fill(1), [6]);
    const want = evaluate(g, inputs);
    const got = await runOnOrt(g, inputs);
    for (const k of g.outputNames) assert.ok(mismatch(got[k], want[k]) < 1e-10, `${k} at N=${n}`);
  }
});
