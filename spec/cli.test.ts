// The inspect command, run as a user runs it: `node dist/cli.js inspect ...` in a child process.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
const gradc = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });

describe("gradc inspect", () => {
  test("batchnorm --json: one JSON object with the forward, the derived and the optimized backward", () => {
    const run = gradc("inspect", "batchnorm", "--json");
    assert.equal(run.status, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.equal(r.graph, "batchnorm");
    assert.deepEqual(r.shape, [200, 3]);
    assert.ok(r.forward.nodes > 0 && r.backward.nodes > 0 && r.optimized.nodes > 0);
    assert.match(r.forward.text, /^graph\(x: f64\[200,3\], gamma: f64\[3\], beta: f64\[3\]\) \{/);
    assert.match(r.forward.text, /return \{ out: %\d+, .*xhat: %\d+/, "the forward returns the residuals too");
    assert.match(r.backward.text, /^graph\(.*dout: f64\[200,3\]\) \{/);
    assert.match(r.backward.text, /return \{ dx: %\d+, dgamma: %\d+, dbeta: %\d+ \}/);
    assert.equal(r.backward.reductionDepth, 2, "autodiff's backward needs two rounds of reductions");
    assert.equal(r.optimized.reductionDepth, 1, "the closed form needs one");
    assert.ok(r.optimized.fullSizeReductions <= r.backward.fullSizeReductions);
    assert.ok(r.optimized.nodes <= r.backward.nodes);
    assert.ok(["saturated", "iteration-limit", "node-limit", "time-limit"].includes(r.optimized.stop));
    assert.equal(typeof r.optimized.steps, "number");
    assert.equal(typeof r.optimized.ms, "number");
    const count = (text: string) => text.split("\n").filter((l: string) => /^ {2}%\d+ = /.test(l)).length;
    assert.equal(count(r.forward.text), r.forward.nodes, "nodes counts the printed operation lines");
    assert.equal(count(r.backward.text), r.backward.nodes);
  });

  test("--shape and --dtype set the graph's input", () => {
    const run = gradc("inspect", "layernorm", "--shape", "4,5", "--dtype", "f32");
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /graph\(x: f32\[4,5\]/);
    assert.match(run.stdout, /reduction depth/);
  });

  test("every graph of the zoo inspects", () => {
    for (const name of ["batchnorm", "spatial-batchnorm", "layernorm", "rmsnorm", "groupnorm"]) {
      const run = gradc("inspect", name, "--json");
      assert.equal(run.status, 0, `${name}: ${run.stderr}`);
      assert.ok(JSON.parse(run.stdout).backward.nodes > 0);
    }
  });

  test("a bad graph name or shape: one line naming the valid choices, exit status 2", () => {
    const bad = gradc("inspect", "batchnrom");
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, /unknown graph "batchnrom": choose one of batchnorm, spatial-batchnorm, layernorm/);
    const shape = gradc("inspect", "batchnorm", "--shape", "200");
    assert.equal(shape.status, 2);
    assert.match(shape.stderr, /--shape for batchnorm must be 2 positive integers separated by commas, like 200,3; got "200"/);
  });

  test("an unknown option: one line naming the command, for inspect and view", () => {
    for (const cmd of ["inspect", "view"]) {
      const run = gradc(cmd, "batchnorm", "--foo");
      assert.equal(run.status, 2, run.stderr);
      assert.equal(run.stderr.trim(), `gradc: ${cmd}: Unknown option '--foo'; see gradc ${cmd} --help`);
    }
  });

  test("a name that is an Object.prototype key is unknown too, for every command", () => {
    for (const args of [["constructor"], ["inspect", "constructor"], ["view", "toString"], ["experiment", "toString"]]) {
      const run = gradc(...args);
      assert.equal(run.status, 2, `gradc ${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^gradc: .*unknown (command|graph|experiment) "(constructor|toString)"/, run.stderr);
    }
  });
});
