// Memory within one job: compiling thousands of graphs in one synchronous loop (no await, so no
// WeakRef is released) keeps the heap bounded. The hash-consing table keeps at most RECENT_CAP
// nodes strongly within a job and the executable cache is bounded by count and bytes.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { vjp } from "../compile/autodiff/reverse.js";
import { compile } from "../compile/codegen/compile.js";
import { zooGraph } from "../ops/zoo.js";
import { internStats, RECENT_CAP } from "../core/node.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const heapMB = () => {
  gc();
  const u = process.memoryUsage();
  return (u.heapUsed + u.arrayBuffers) / 2 ** 20;
};

/** Stated bound: 2,000 compiles of distinct batchnorm backwards (~144,000 nodes) grow heap + buffers by at most this. */
const BOUND_MB = 64;

test("2,000 compiles in one synchronous loop grow heap + buffers by less than 64 MB", () => {
  compile(vjp(zooGraph("batchnorm", [2, 3])).backward); // warm the code paths
  const before = heapMB();
  for (let i = 0; i < 2000; i++) compile(vjp(zooGraph("batchnorm", [3 + i, 3])).backward);
  const grown = heapMB() - before; // measured in the same job: nothing held by a WeakRef has been released yet
  assert.ok(internStats().recent <= RECENT_CAP, `recent tier ${internStats().recent} > ${RECENT_CAP}`);
  assert.ok(grown < BOUND_MB, `heap + buffers grew by ${grown.toFixed(1)} MB within the job (bound ${BOUND_MB} MB)`);
});

test("hash-consing still shares nodes after the job that made them ends", async () => {
  const a = zooGraph("batchnorm", [7, 5]);
  await new Promise((r) => setTimeout(r, 0)); // the job ends: recent nodes settle into the weak tier
  const b = zooGraph("batchnorm", [7, 5]);
  assert.equal(a.outputs.out, b.outputs.out);
});
