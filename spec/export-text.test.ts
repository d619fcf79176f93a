// JSON and DOT export: fromJSON(toJSON(g)) prints as g and hash-conses to g's own nodes; bad files
// are errors naming the file; DOT labels are the text form's lines. And the CLI writes nothing
// when it fails.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as b from "../core/builder.js";
import { Graph, numbering, printNode } from "../core/graph.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { zoo } from "../ops/zoo.js";
import { fromJSON, toJSON, JSON_VERSION } from "../compile/export/json.js";
import { toDot } from "../compile/export/dot.js";
import { exportedGraph } from "../cli/export.js";
import { randomCase, randomInputs, seeded } from "../compile/check/random-graphs.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { Tensor } from "../core/tensor.js";
import { feeds, mismatch, ortSession } from "./support/ort.js";

const cli = resolve(dirname(fileURLToPath(import.meta.url)), "..", "cli.js");

test("for all zoo graphs (forward, backward, optimized, train) and 100 random graphs: fromJSON(toJSON(g)) prints as g and has g's nodes", () => {
  const graphs: Graph[] = [];
  for (const name of Object.keys(zoo))
    for (const which of ["forward", "backward", "optimized", "train"] as const) graphs.push(exportedGraph(zoo[name].build(zoo[name].shape), which));
  for (let seed = 1; seed <= 100; seed++) graphs.push(randomCase(seed, { matmul: seed % 4 === 0 }).graph);
  for (const g of graphs) {
    const h = fromJSON(toJSON(g));
    assert.equal(h.toString(), g.toString());
    for (const [k, v] of Object.entries(g.outputs)) assert.equal(h.outputs[k], v, `output ${k} is the same node`);
    for (const [k, v] of Object.entries(g.facts)) assert.equal(h.facts[k], v, `fact ${k} is the same node`);
    assert.deepEqual(h.inputs, g.inputs);
  }
});

test("a symbolic graph's JSON names its symbols: another process, which numbers its symbols in another order, reads it as [N,3]", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-json-symbols-"));
  try {
    const file = join(dir, "bn.json");
    execFileSync("node", [cli, "export", "batchnorm", "--format", "json", "--graph", "optimized", "--out", file]);
    const text = readFileSync(file, "utf8");
    assert.match(text, /"symbols": \{"N":\d+\}/);
    // a process that met another symbol first gives N another representative size
    const script = `import "./index.js"; import { trace } from "./core/trace.js"; import { fromJSON } from "./compile/export/json.js"; import { readFileSync } from "node:fs";
trace({ M: ["M", 2] }, ({ M }) => M); const g = fromJSON(readFileSync(${JSON.stringify(file)}, "utf8"), "bn.json"); console.log(g.toString().split("\\n")[0]);`;
    const out = execFileSync("node", ["--input-type=module", "-e", script], { cwd: dirname(cli), encoding: "utf8" });
    assert.match(out, /^graph\(gamma: f64\[3\], .*dout: f64\[N,3\]\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("NaN, ±Infinity and -0 constants survive the round trip", () => {
  const x = b.input("x", [2]);
  const g = new Graph([x], { a: b.mul(x, NaN), c: b.add(x, Infinity), d: b.sub(x, -Infinity), e: b.mul(x, -0) });
  const text = toJSON(g);
  assert.match(text, /\{"number":"NaN"\}/);
  const h = fromJSON(text);
  assert.equal(h.toString(), g.toString());
  assert.equal(h.outputs.e, g.outputs.e);
});

test("a truncated file, another format or version, or a node its shape rule rejects: an error naming the file", () => {
  const text = toJSON(zoo.batchnorm.build([4, 3]));
  assert.throws(() => fromJSON(text.slice(0, text.length / 2), "bn.json"), /fromJSON: bn\.json: is not valid JSON .*the file looks truncated/);
  assert.throws(
    () => fromJSON(text.replace(`"version": ${JSON_VERSION}`, '"version": 99'), "bn.json"),
    /fromJSON: bn\.json: is gradc graph format version 99; this gradc reads version 1/,
  );
  assert.throws(() => fromJSON('{"format": "something"}', "other.json"), /fromJSON: other\.json: is not a gradc graph/);
  const broken = text.replace('"shape":[4,3]', '"shape":[4,5]');
  assert.throws(() => fromJSON(broken, "bn.json"), /fromJSON: bn\.json: node \d+: \w+: .*\n  at /);
  assert.throws(
    () => fromJSON(text.replace('"inputs":[0]', '"inputs":[999]'), "bn.json"),
    /bn\.json: node \d+ \(\w+\) refers to node 999, which is not an earlier node/,
  );
});

test("DOT: one vertex per operation labelled with its line of the text form, residual inputs with their forward definitions", () => {
  const { backward } = vjp(zoo.batchnorm.build([4, 3]), { of: "out" });
  const dot = toDot(backward);
  const names = numbering(backward);
  assert.match(dot, /^digraph "gradc" \{/);
  for (const n of backward.nodes()) {
    if (n.isInput || n.isConst) continue;
    assert.ok(dot.includes(`label="${printNode(n, names).replace(/"/g, '\\"')}`), printNode(n, names));
  }
  assert.match(dot, /label="%xhat: f64\[4,3\]\\nxhat = div\(%xc, /);
  assert.match(dot, /return dx: %\d+/);
  const edges = dot.split("\n").filter((l) => l.includes("->")).length;
  assert.ok(edges >= backward.size);
});

test("gradc export ./model.mjs: the module's graph (its own symbolic N, its wrt) as one training model that ONNX Runtime runs at two batch sizes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-export-module-"));
  try {
    const mod = join(dir, "mlp.mjs");
    writeFileSync(
      mod,
      `import { ops } from "gradc";
export default { inputs: { x: ["N", 4], w: [4, 2], y: ["N", 2] }, fn: ({ x, w, y }) => ops.square(ops.sub(ops.tanh(ops.matmul(x, w)), y)).mean(), wrt: ["w"] };
`,
    );
    const out = join(dir, "mlp.onnx");
    const msg = execFileSync("node", [cli, "export", mod, "--format", "onnx", "--graph", "train", "--out", out], { encoding: "utf8" });
    assert.match(msg, /wrote .*mlp\.onnx: .*mlp\.mjs train/);
    const session = await ortSession(readFileSync(out));
    assert.deepEqual(session.outputNames, ["out", "dw"]);
    const g = trace({ x: ["N", 4], w: [4, 2], y: ["N", 2] }, ({ x, w, y }) => b.mean(b.square(b.sub(b.tanh(b.matmul(x, w)), y))));
    const want = exportedGraph(g, "train", "out", ["w"]);
    for (const n of [3, 10]) {
      const inputs = randomInputs(
        exportedGraph(
          trace({ x: [n, 4], w: [4, 2], y: [n, 2] }, ({ x }) => x),
          "forward",
        ),
        seeded(n),
      );
      const values = { ...inputs, w: randomInputs(want, seeded(1)).w, y: new Tensor(new Float64Array(n * 2).fill(0.25), [n, 2]) };
      const got = await session.run(feeds(values));
      const ref = evaluate(want, values);
      for (const k of ["out", "dw"]) assert.ok(mismatch(new Tensor(got[k].data as Float64Array, got[k].dims.map(Number)), ref[k]) < 1e-12, `${k} at N=${n}`);
    }
    await session.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("gradc export writes ONNX, DOT and JSON; a bad option or an unwritable path is one line, exit 2, and no file", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-export-"));
  try {
    for (const format of ["onnx", "dot", "json"]) {
      const out = join(dir, `bn.${format}`);
      const msg = execFileSync("node", [cli, "export", "batchnorm", "--format", format, "--graph", "optimized", "--shape", "8,3", "--out", out], {
        encoding: "utf8",
      });
      assert.match(msg, new RegExp(`wrote .*bn\\.${format}: batchnorm optimized \\[8,3\\] f64`));
      assert.ok(readFileSync(out).length > 100);
    }
    // written by another process: reading and writing again gives the same text
    const text = readFileSync(join(dir, "bn.json"), "utf8");
    assert.equal(toJSON(fromJSON(text, "bn.json")), text);
    const bad = (args: string[], pattern: RegExp) => {
      const r = spawnSync("node", [cli, "export", ...args], { encoding: "utf8" });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    };
    bad(["batchnorm", "--format", "png", "--out", join(dir, "x")], /--format must be one of onnx, dot, json/);
    bad(["batchnorm", "--format", "onnx", "--graph", "sideways", "--out", join(dir, "x")], /--graph must be one of forward, backward, optimized, train/);
    bad(["batchnorm", "--format", "onnx"], /--out FILE/);
    bad(["batchnorm", "--format", "onnx", "--out", join(dir, "missing", "x.onnx")], /cannot write .*folder .*missing does not exist/);
    bad(["nosuchgraph", "--format", "onnx", "--out", join(dir, "y.onnx")], /unknown graph "nosuchgraph"/);
    assert.equal(existsSync(join(dir, "x")), false);
    assert.equal(existsSync(join(dir, "y.onnx")), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
