// Your own module wherever a built-in graph name is accepted, run as a user runs it:
// `node dist/cli.js inspect|view|bench ./model.mjs` in a child process.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
const repo = fileURLToPath(new URL("../../", import.meta.url));
const gradc = (args: string[], cwd = repo) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd });

describe("gradc <command> ./module.mjs", () => {
  test("inspect examples/mlp.mjs: a loss's backward, derived and optimized, with readable residuals and kernels", () => {
    const run = gradc(["inspect", "examples/mlp.mjs", "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.equal(r.graph, "mlp");
    assert.deepEqual(r.wrt, ["W1", "b1", "W2", "b2"], "the module's wrt");
    assert.match(r.backward.text, /dout: f64\[\]\) \{/, "the loss's cotangent is an input");
    assert.ok(r.backward.nodes > 10 && r.optimized.nodes > 10, `${r.backward.nodes} -> ${r.optimized.nodes}`);
    assert.ok(r.backward.reductionDepth >= 2, "dW1 waits for dW2's layer: two rounds of matrix products");
    assert.ok(r.compiled.kernels > 0 && r.compiled.sweeps > 0);
    for (const name of r.residuals) assert.doesNotMatch(name, /^r\d+$/);
    assert.ok(r.residuals.includes("h"), `the hidden layer is saved by its label: ${r.residuals}`);
  });

  test("--wrt and --entry choose the inputs and the export", () => {
    const some = JSON.parse(gradc(["inspect", "examples/mlp.mjs", "--wrt", "W1,b1", "--json"]).stdout);
    assert.deepEqual(some.wrt, ["W1", "b1"]);
    assert.match(some.backward.text, /return \{ dW1: %\d+, db1: %\d+ \}/);
    const traced = gradc(["inspect", "examples/mlp.mjs", "--entry", "traced", "--json"]);
    assert.equal(traced.status, 0, traced.stderr);
    assert.equal(JSON.parse(traced.stdout).wrt.length, 6, "a Graph export is differentiated with respect to all inputs");
  });

  test("view examples/attention.mjs --out writes the page", () => {
    const dir = mkdtempSync(join(tmpdir(), "gradc-module-"));
    const run = gradc(["view", "examples/attention.mjs", "--out", join(dir, "attention.html")]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), join(dir, "attention.html"));
    assert.match(readFileSync(join(dir, "attention.html"), "utf8"), /^<!DOCTYPE html>/);
  });

  test("bench examples/softmax-classifier.mjs --quick --json: every row timed, ratios to compiled, results checked", () => {
    const run = gradc(["bench", "examples/softmax-classifier.mjs", "--quick", "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.equal(r.benchmark, "gradc-bench");
    assert.equal(r.rows.length, 16, "backward and forward x naive, optimized, compiled naive, compiled x f64, f32");
    for (const row of r.rows) {
      assert.ok(row.ms > 0, row.id);
      assert.ok(row.ratio > 0, row.id);
      assert.ok(row.relErr < (row.dtype === "f32" ? 1e-3 : 1e-10), `${row.id}: relErr ${row.relErr}`);
    }
    // the compiled optimized rows are the baselines (the compiled naive rows are not)
    assert.ok(r.rows.filter((row: { id: string; baseline: string }) => row.id === row.baseline).every((row: { ratio: number }) => row.ratio === 1));
  });

  test("a module elsewhere imports gradc as 'gradc' and gets this copy", () => {
    const dir = mkdtempSync(join(tmpdir(), "gradc-module-"));
    writeFileSync(join(dir, "model.mjs"), `import { ops, trace } from "gradc";\nexport default trace({ x: [4, 3] }, ({ x }) => ops.sum(x.tanh().square()));\n`);
    const run = gradc(["inspect", "model.mjs", "--json"], dir);
    assert.equal(run.status, 0, run.stderr);
    assert.match(JSON.parse(run.stdout).backward.text, /dout: f64\[\]/);
  });
});

describe("a bad module: one error naming the file and the export, exit status 2, no stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-bad-"));
  writeFileSync(
    join(dir, "bad.mjs"),
    [
      `import { ops } from "gradc";`,
      `export const number = 3;`,
      `export const throws = { inputs: { x: [2] }, fn: () => { throw new TypeError("oops"); } };`,
      `export const notNode = { inputs: { x: [2] }, fn: () => 42 };`,
      `export const shapes = { inputs: { x: [2], y: [3] }, fn: ({ x, y }) => ops.add(x, y) };`,
      `export const noInputs = { fn: ({ x }) => x };`,
    ].join("\n"),
  );
  writeFileSync(join(dir, "broken.mjs"), "export default (;\n");
  const cases: [string, string[], RegExp][] = [
    ["does not exist", ["inspect", "./missing.mjs"], /^gradc: inspect: module \.\/missing\.mjs not found/],
    ["fails to load", ["view", "./broken.mjs"], /^gradc: view: module \.\/broken\.mjs failed to load: SyntaxError/],
    [
      "has no default export",
      ["bench", "./bad.mjs"],
      /^gradc: bench: module \.\/bad\.mjs has no default export \(its exports are .*number.*: pick one with --entry NAME\)/,
    ],
    ["has no such export", ["inspect", "./bad.mjs", "--entry", "nope"], /^gradc: inspect: module \.\/bad\.mjs has no export "nope"/],
    [
      "exports a number",
      ["inspect", "./bad.mjs", "--entry", "number"],
      /^gradc: inspect: module \.\/bad\.mjs, export "number" is number 3: expected a Graph or \{ inputs/,
    ],
    [
      "throws while tracing",
      ["inspect", "./bad.mjs", "--entry", "throws"],
      /^gradc: inspect: module \.\/bad\.mjs, export "throws": fn threw while tracing: TypeError: oops\n$/,
    ],
    [
      "returns a non-node",
      ["view", "./bad.mjs", "--entry", "notNode"],
      /^gradc: view: module \.\/bad\.mjs, export "notNode": trace: the function must return a node/,
    ],
    [
      "builds a bad graph",
      ["inspect", "./bad.mjs", "--entry", "shapes"],
      /^gradc: inspect: module \.\/bad\.mjs, export "shapes": add: shapes \[2\] and \[3\] do not broadcast/,
    ],
    ["has no inputs", ["inspect", "./bad.mjs", "--entry", "noInputs"], /^gradc: inspect: module \.\/bad\.mjs, export "noInputs": "inputs" must be an object/],
    ["names an unknown --wrt", ["inspect", "./bad.mjs", "--entry", "shapes", "--wrt", "z"], /export "shapes": add/],
  ];
  for (const [what, args, message] of cases) {
    test(`a module that ${what}`, () => {
      const run = gradc(args, dir);
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /\n\s+at .*\.js:\d+/, "no stack trace");
      assert.equal(run.stdout, "");
    });
  }

  test("--wrt naming no input of a good module", () => {
    const run = gradc(["inspect", "examples/mlp.mjs", "--wrt", "W9"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^gradc: inspect: examples\/mlp\.mjs: wrt: "W9" is not an input: inputs are X, W1, b1, W2, b2, y/);
  });

  test("--shape belongs to built-in graphs", () => {
    const run = gradc(["inspect", "examples/mlp.mjs", "--shape", "3,3"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--shape sizes a built-in graph; the module examples\/mlp\.mjs declares its own input shapes/);
  });
  assert.ok(existsSync(dir));
});

test("export takes a module too (the same loader)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-export-"));
  const run = gradc(["export", "examples/mlp.mjs", "--format", "json", "--graph", "backward", "--out", join(dir, "mlp.json")]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^wrote .*mlp\.json: examples\/mlp\.mjs backward, \d+ nodes, json/);
  assert.ok(existsSync(join(dir, "mlp.json")));
  const bad = gradc(["export", "./missing.mjs", "--format", "json", "--out", join(dir, "x.json")]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^gradc: export: module \.\/missing\.mjs not found/);
});
