// ONNX export, held against the interpreter on ONNX Runtime: every registered op on its samples,
// every zoo graph (forward, naive and optimized backward, training graph) in f64 and f32, the
// notebook net's training graph, and a few hundred random graphs. Plus the model's shape
// (opset, names, doc strings) and its errors.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { allOps } from "../core/registry.js";
import { apply } from "../core/node.js";
import * as b from "../core/builder.js";
import { Graph } from "../core/graph.js";
import { evaluate } from "../core/evaluate.js";
import { trace } from "../core/trace.js";
import { Tensor, type DType } from "../core/tensor.js";
import { grad } from "../compile/autodiff/reverse.js";
import { defineOp, removeOp } from "../ops/define.js";
import { zoo } from "../ops/zoo.js";
import { exportOnnx, LEAVES, ONNX_OPSET } from "../compile/export/onnx.js";
import { decodeModel } from "../compile/export/proto.js";
import { exportedGraph, exportShape } from "../cli/export.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FullyConnectedNet } from "../nn/net.js";
import { randomCase, randomInputs, seeded } from "../compile/check/random-graphs.js";
import { mismatch, runOnOrt } from "./support/ort.js";

/** Tolerances: f64 agrees to rounding; f32 to a few ulps of the output's scale after reductions. */
const TOL: Record<DType, number> = { f64: 1e-10, f32: 2e-4 };

const asDtype = (t: Tensor, dtype: DType) =>
  t.dtype === dtype ? t : new Tensor(dtype === "f32" ? Float32Array.from(t.data) : Float64Array.from(t.data), t.shape);

async function agree(g: Graph, inputs: Record<string, Tensor>, what: string, tol = TOL[g.inputs[0]?.dtype ?? "f64"]): Promise<void> {
  const want = evaluate(g, inputs);
  const got = await runOnOrt(g, inputs);
  for (const k of g.outputNames) {
    const e = mismatch(got[k], want[k]);
    assert.ok(e <= tol, `${what}: output ${k} differs from evaluate by ${e} (tolerance ${tol})\n${g}`);
  }
}

test("every registered op has an ONNX lowering (a new primitive without one fails here)", () => {
  const missing = allOps()
    .filter((d) => !LEAVES.has(d.name) && !d.onnx)
    .map((d) => d.name);
  assert.deepEqual(missing, []);
});

test("every op, on its samples, computes on ONNX Runtime what evaluate computes (f64 and f32)", async () => {
  for (const def of allOps()) {
    // dim is a symbolic size: it needs an input that carries it (spec/symbolic.test.ts runs it)
    if (LEAVES.has(def.name) || def.name === "dim") continue;
    const sample = def.name === "iota" ? iotaSample : def.sample?.bind(def);
    assert.ok(sample, `${def.name} has no sampler`);
    for (let seed = 1; seed <= 3; seed++) {
      for (const dtype of ["f64", "f32"] as const) {
        const s = sample(seeded(seed * 7919 + def.name.length));
        if (def.name === "cast" && dtype === "f32") continue; // cast's sample picks its own dtypes
        const inputs = def.name === "cast" ? s.inputs : s.inputs.map((t) => asDtype(t, dtype));
        const xs = inputs.map((t, k) => b.input(`a${k}`, t.shape, t.dtype));
        const attrs = def.name === "iota" ? { ...s.attrs, dtype } : s.attrs;
        const g = new Graph(xs, { out: apply(def.name, xs, attrs) });
        await agree(g, Object.fromEntries(inputs.map((t, k) => [`a${k}`, t])), `${def.name} seed ${seed} ${dtype}`, def.name === "cast" ? TOL.f32 : TOL[dtype]);
      }
    }
  }
});

/** iota has no operands to sample: a random shape and axis. */
const iotaSample = (rand: () => number) => {
  const shape = [1 + Math.floor(rand() * 4), 1 + Math.floor(rand() * 3), 2];
  return { inputs: [] as Tensor[], attrs: { shape, axis: Math.floor(rand() * 3), dtype: "f64" } };
};

const small: Record<string, number[]> = { batchnorm: [7, 3], "spatial-batchnorm": [3, 2, 3, 2], layernorm: [5, 4], rmsnorm: [5, 4], groupnorm: [2, 4, 2, 2] };

test("every zoo graph, forward, backward, optimized and train, runs on ONNX Runtime as evaluate runs it (f64 and f32)", async () => {
  for (const name of Object.keys(zoo)) {
    for (const dtype of ["f64", "f32"] as const) {
      for (const which of ["forward", "backward", "optimized", "train"] as const) {
        const g = exportedGraph(zoo[name].build(small[name] ?? zoo[name].shape, dtype), which);
        await agree(g, randomInputs(g, seeded(name.length * 31 + which.length), 0.5, 2), `${name} ${which} ${dtype}`);
      }
    }
  }
});

test("the notebook net's training graph (loss and every gradient, batchnorm) runs on ONNX Runtime as evaluate runs it", async () => {
  for (const dtype of ["f64", "f32"] as const) {
    const net = new FullyConnectedNet([6, 5], { inputDim: 4, numClasses: 3, normalization: "batchnorm", reg: 0.1, seed: 1, dtype, weightScale: 0.5 });
    const g = net.graph("train", 8);
    const inputs = randomInputs(g, seeded(5), -1, 1);
    inputs.y = new Tensor(dtype === "f32" ? Float32Array.from([0, 1, 2, 0, 1, 2, 2, 1]) : Float64Array.from([0, 1, 2, 0, 1, 2, 2, 1]), [8]);
    inputs.runningVar1 = asDtype(new Tensor(Float64Array.from([1, 1, 1, 1, 1, 1]), [6]), dtype);
    await agree(g, inputs, `FullyConnectedNet train ${dtype}`);
  }
});

test("for all random graphs (300 seeds: f64, f32, with matmul) and their gradients, ONNX Runtime agrees with evaluate", async () => {
  for (let seed = 1; seed <= 300; seed++) {
    const dtype: DType = seed % 3 === 0 ? "f32" : "f64";
    const c = randomCase(seed, { dtype, matmul: seed % 5 === 0 });
    await agree(c.graph, c.inputs, `random case seed ${seed}`);
    if (seed % 10 === 0) {
      const gg = grad(c.graph, { of: "out", withValue: true });
      await agree(gg, randomInputs(gg, seeded(seed)), `gradient of random case seed ${seed}`);
    }
  }
});

test("the model: opset 17, the graph's input and output names, residual definitions and node text as doc strings", () => {
  const g = exportedGraph(zoo.batchnorm.build([4, 3]), "optimized");
  const m = decodeModel(exportOnnx(g)) as any;
  assert.equal(m.opset_import[0].version, ONNX_OPSET);
  assert.ok(ONNX_OPSET >= 17);
  assert.deepEqual(
    m.graph.input.map((x: any) => x.name),
    g.inputNames,
  );
  assert.deepEqual(
    m.graph.output.map((x: any) => x.name),
    g.outputNames,
  );
  const xhat = m.graph.input.find((x: any) => x.name === "xhat");
  assert.match(xhat.doc_string, /^xhat = div\(%xc, .*\(forward\)$/);
  assert.deepEqual(
    xhat.type.tensor_type.shape.dim.map((d: any) => d.dim_value),
    [4, 3],
  );
  assert.ok(m.graph.node.some((n: any) => /^%\d+ = sum\[axes=\[0\]\] /.test(n.doc_string ?? "")));
  assert.equal(m.graph.doc_string, g.toString());
});

test("an op without an ONNX lowering is an error naming the op and the node; with one it exports", async () => {
  const softsign = defineOp({
    name: "softsignExport",
    arity: 1,
    scalar: (x) => x / (1 + Math.abs(x)),
    vjp: (g, [x]) => [g.div(b.square(b.add(b.maximum(x, b.neg(x)), 1)))],
  });
  try {
    const g = trace({ x: [3] }, ({ x }) => softsign(x).mul(2));
    assert.throws(
      () => exportOnnx(g),
      /exportOnnx: op "softsignExport" has no ONNX lowering.*defineOp an onnx lowering[\s\S]*at %0 = softsignExport %x : f64\[3\]/,
    );
  } finally {
    removeOp("softsignExport");
  }
  const lowered = defineOp({
    name: "softsignExport",
    arity: 1,
    scalar: (x) => x / (1 + Math.abs(x)),
    vjp: "none",
    onnx: (e, [x], _a, out) => e.node("Div", [x, e.node("Add", [e.scalar(1, out.dtype), e.node("Abs", [x])])]),
  });
  try {
    const g = trace({ x: [5] }, ({ x }) => lowered(x).mul(2));
    await agree(g, { x: new Tensor(Float64Array.from([-3, -0.5, 0, 1, 4]), [5]) }, "softsign with a lowering");
  } finally {
    removeOp("softsignExport");
  }
});

test("defineOp checks an onnx lowering where it enters: it must be a function", () => {
  assert.throws(() => defineOp({ name: "badOnnx", arity: 1, scalar: (x) => x, vjp: "none", onnx: 3 as never }), /defineOp\(badOnnx\): onnx must be a function/);
});

test("an output named like an input is written as <name>_out (ONNX values have one name each), and says so", async () => {
  const x = b.input("x", [2]);
  const g = new Graph([x], { x: b.neg(x), y: x });
  const m = decodeModel(exportOnnx(g)) as any;
  assert.deepEqual(
    m.graph.output.map((o: any) => o.name),
    ["x_out", "y"],
  );
  assert.match(m.graph.output[0].doc_string, /the graph's output "x"/);
  await agree(g, { x: new Tensor(Float64Array.from([1, -2]), [2]) }, "renamed output");
});

/** A python with ONNX's own package (Debian's python3-onnx), if this machine has one: not a dependency. */
function onnxPython(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    if (spawnSync(py, ["-c", "import onnx"], { encoding: "utf8" }).status === 0) return py;
  }
  return undefined;
}

test("ONNX's own checker (full check, with shape inference) accepts exported models, where python3-onnx is installed", (t) => {
  const py = onnxPython();
  if (!py) return t.skip("no python3 with the onnx package (Debian: apt-get install python3-onnx)");
  const dir = mkdtempSync(join(tmpdir(), "gradc-onnx-check-"));
  try {
    const files: string[] = [];
    for (const which of ["forward", "backward", "optimized", "train"] as const) {
      for (const name of ["batchnorm", "softmax-cross-entropy", "attention"]) {
        const file = join(dir, `${name}-${which}.onnx`);
        const shape = name === "attention" ? zoo[name].shape : exportShape(name, undefined);
        writeFileSync(file, exportOnnx(exportedGraph(zoo[name].build(shape), which)));
        files.push(file);
      }
    }
    const script = "import sys, onnx\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint('ok', len(sys.argv) - 1)";
    const r = spawnSync(py, ["-c", script, ...files], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`ok ${files.length}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
