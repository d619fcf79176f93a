// nn/libm-log.ts: glibc's log bit for bit, and the normals drawn with it (nn/random.ts). The
// fast path (unfused tail, exact fallback near a rounding midpoint) must return what the fully
// emulated-FMA path returns, on every input; a bulk draw must equal as many single draws.

import { test } from "node:test";
import assert from "node:assert/strict";
import { glibcLog, glibcLogExact } from "../nn/libm-log.js";
import { RandomState } from "../nn/random.js";

test("glibcLog's fast path equals the exact emulation on 400,000 inputs across (0, 1)", () => {
  const rs = new RandomState(5);
  const u = rs.randomSample(100_000);
  const xs: number[] = [];
  for (let i = 0; i < u.length; i++) {
    xs.push(u[i]); // uniform: the polar method's r2
    xs.push(u[i] * u[i] * u[i]); // skewed toward 0
    xs.push(2 ** -(1 + Math.floor(u[i] * 60)) * (1 + u[i])); // every binade down to 2^-61
    xs.push(0.9375 - u[i] * 1e-3); // just below the near-1 range
  }
  xs.push(0.5, 0.25, 0.9374999999999999, Number.MIN_VALUE * 2 ** 60, 1 - 2 ** -53);
  for (const x of xs) {
    const fast = glibcLog(x),
      exact = glibcLogExact(x);
    if (!Object.is(fast, exact)) assert.fail(`log(${x}): fast ${fast}, exact ${exact}`);
  }
});

test("glibcLog at known values", () => {
  assert.equal(glibcLog(0.5), -0.6931471805599453);
  assert.equal(glibcLog(0.25), -1.3862943611198906);
  assert.equal(glibcLog(1 - 2 ** -53), -1.1102230246251565e-16);
});

test("standardNormal(size) draws what as many single standardNormal() calls draw, a cached second value included", () => {
  for (const sizes of [
    [3, 5, 1],
    [2, 2],
    [1, 1, 7],
    [0, 4, 1001],
  ]) {
    const bulk = new RandomState(11),
      single = new RandomState(11);
    for (const n of sizes) {
      const got = bulk.standardNormal(n);
      const want = Array.from({ length: n }, () => single.standardNormal());
      assert.deepEqual(Array.from(got), want, `sizes ${sizes.join(", ")}: at ${n}`);
    }
    assert.equal(bulk.standardNormal(), single.standardNormal(), "the next draw after the last size");
  }
});
