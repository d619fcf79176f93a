// The registry-walking fuzzer as a specification: for a few thousand random graphs over every op
// (user ops of both kinds included), float32 and float64, forward and first- and second-order
// gradients, compile and optimize agree with evaluate, and the walk reaches every op. The long
// run is a command: npm run fuzz -- --graphs 100000.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { walkCase, walkedOps } from "./support/fuzz-walk.js";
import { checkCase, type Mismatch } from "./support/fuzz-check.js";
import { defineFuzzOps, USER_OPS } from "./support/fuzz-ops.js";
import { defineOp, removeOp } from "../ops/define.js";
import { randomTensor } from "../compile/check/numeric.js";
import { randShape } from "../ops/samples.js";

defineFuzzOps();
const CASES = 2000;

describe("the fuzzer", () => {
  test("walks every registered op with inputs (a new op needs only a sampler)", () => {
    const { ops, unsampled } = walkedOps();
    assert.deepEqual(unsampled, [], "ops without a sampler are not fuzzed: give the op's record a sample (ops/samples.ts has the common ones)");
    for (const name of USER_OPS)
      assert.ok(
        ops.some((d) => d.name === name),
        `user op ${name} walked`,
      );
  });

  test(`${CASES} random graphs: compile and optimize agree with evaluate (real mismatches: none)`, () => {
    const real: Mismatch[] = [];
    const seen = new Set<string>();
    const orders = [0, 0, 0];
    let f32 = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const c = walkCase(seed);
      orders[c.order]++;
      if (c.dtype === "f32") f32++;
      for (const n of c.graph.nodes()) seen.add(n.op);
      real.push(...checkCase(c).filter((m) => m.kind === "real"));
    }
    assert.deepEqual(
      real.slice(0, 5).map((m) => `seed ${m.seed} ${m.variant}: ${m.what}`),
      [],
      "replay with node dist/spec/support/fuzz-run.js --replay SEED",
    );
    const missed = walkedOps()
      .ops.map((d) => d.name)
      .filter((name) => !seen.has(name));
    assert.deepEqual(missed, [], "walked ops that no graph contained");
    for (const op of ["iota", "const", "input"]) assert.ok(seen.has(op), op);
    assert.ok(f32 > CASES / 5 && orders[1] > CASES / 5 && orders[2] > CASES / 20, `f32 ${f32}, orders ${orders}`);
  });

  test("shapes reach the WebAssembly matmul, empty and size-1 axes", () => {
    let wasmSized = 0,
      empty = 0,
      unit = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const c = walkCase(seed);
      for (const n of c.graph.nodes()) {
        if (n.op === "matmul" && n.rank === 2 && n.dtype === "f64" && n.size * n.inputs[0].shape[1] >= 65536) wasmSized++;
        if (n.shape.includes(0)) empty++;
        if (n.shape.includes(1)) unit++;
      }
    }
    assert.ok(wasmSized > 0 && empty > 0 && unit > 0, `wasm-sized ${wasmSized}, empty ${empty}, size-1 ${unit}`);
  });

  test("fuzz seed 61027: an empty output that is a view of a size-1 buffer compiles to an empty tensor (was 1 value in a [5,0,1] tensor)", () => {
    const c = walkCase(61027);
    assert.deepEqual(checkCase(c), []);
  });

  test("finds a planted bug: a user op whose expr departs from scalar only beyond |x| > 3.5", () => {
    defineOp({
      name: "plantedTanh",
      arity: 1,
      scalar: (x) => Math.tanh(x),
      expr: ([x]) => `(Math.abs(${x}) > 3.5 ? 0 : Math.tanh(${x}))`,
      vjp: (g, [x]) => [g.mul(x.tanh().square().neg().add(1))],
      // values up to 6 in size, so the walk (which squashes operands into the sample's range) can reach the bug however many ops it draws from
      sample: (rand) => ({ inputs: [randomTensor(rand, randShape(rand), -6, 6)], attrs: {} }),
    });
    try {
      let found: Mismatch | undefined;
      // each op is drawn with equal weight: the seeds needed grow with the registry (3162 of them at 50 walked ops)
      const limit = 300 * walkedOps().ops.length;
      for (let seed = 1; seed <= limit && !found; seed++) {
        const c = walkCase(seed);
        if (!c.graph.nodes().some((n) => n.op === "plantedTanh")) continue;
        found = checkCase(c, ["compile"]).find((m) => m.kind === "real");
      }
      assert.ok(found, "no mismatch found for the planted bug");
    } finally {
      removeOp("plantedTanh");
    }
  });
});
