// The numpy comparison's plumbing (not its timings): a missing python3 is reported as such, and
// the summary says there are no numpy rows instead of printing empty ratios.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { runNumpy, summarizeComparison, type NumpyComparison } from "../bench/numpy.js";

test("without python3 the comparison says so, and the summary has gradc's figures with n/a ratios", () => {
  const np = runNumpy([[4, 4]], 1, "python3-that-does-not-exist");
  assert.equal(np.out, null);
  assert.equal(np.error, "python3-that-does-not-exist not found");
  const r: NumpyComparison = {
    date: "", command: "node dist/bench/numpy.js", numpy: null, numpyMissing: np.error,
    machine: { cpu: "cpu", cores: 2, node: "v20", loadavgStart: [1, 1, 1], loadavgEnd: [1, 1, 1] },
    batchnorm: [{ N: 4, D: 4, dtype: "f32", gradcMs: 0.01, fusedMs: 0.01, numpyMs: null, probeMs: 0.02 }],
    iteration: [{ dtype: "f64", gradcMs: 3, numpyMs: null }],
    threaded: [{ dtype: "f32", oneThreadWallMs: 2, twoThreadsWallMs: 1.5 }],
    experiment: [{ dtype: "f32", gradcS: 1.25, numpyS: null }],
    peakGFlops: { f64: 28, f32: 56 },
    matmul: [{ what: "X @ W1", dtype: "f32", ms: 1, gflops: 30, ofPeak: 30 / 56 }],
  };
  const text = summarizeComparison(r);
  assert.match(text, /No numpy rows: python3-that-does-not-exist not found/);
  assert.match(text, /\| batchnorm backward 4x4 \| f32 \| 0\.010 \| n\/a \| n\/a \| 0\.010 \| 0\.50 \|/);
  assert.match(text, /\| X @ W1 \| f32 \| 1\.000 \| 30\.0 \| 54% \|/);
  assert.match(text, /\| experiment deep .*\| f32 \| 1\.25 \| n\/a \| n\/a \|/);
  assert.match(summarizeComparison({ ...r, experiment: { skipped: "no data" } }), /`experiment deep` end to end: not run \(no data\)\./);
});
