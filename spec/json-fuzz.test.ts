// The JSON fuzzer as a specification (issue 27): for a few thousand hostile graph files (random
// attribute names and values, sizes, symbols, labels, node inputs, ops, outputs), fromJSON accepts
// a graph or throws a GradcError, a rejected file leaves no symbol reserved, and an accepted graph
// writes back as read, evaluate and compile agreeing or refusing it clearly. The long run is a
// command: npm run fuzz -- --json --graphs 100000.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkJsonCase, jsonCase } from "./support/json-fuzz.js";
import { defineFuzzOps } from "./support/fuzz-ops.js";

defineFuzzOps();
const FILES = 2000;

test(`${FILES} hostile JSON graph files: a Graph or a GradcError, nothing else`, { timeout: 120_000 }, () => {
  const findings: string[] = [];
  let accepted = 0;
  for (let seed = 1; seed <= FILES; seed++) {
    const c = jsonCase(seed);
    const found = checkJsonCase(c);
    findings.push(...found.map((f) => `seed ${f.seed} (${f.edits.join(", ")}): ${f.what}`));
    if (found.length === 0 && !c.edits.includes("none")) accepted++;
  }
  assert.deepEqual(findings.slice(0, 10), [], "replay with node dist/spec/support/fuzz-run.js --json --replay SEED");
  assert.ok(accepted > 0);
});
