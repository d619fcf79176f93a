// The numpy comparison's plumbing (not its timings): a missing python3 is reported as such, and
// the summary says there are no numpy rows instead of printing empty ratios.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { runNumpy, summarizeComparison, type NumpyComparison } from "../bench/numpy.js";
import { torchEnv } from "../bench/torch.js";

test("without python3 the comparison says so, and the summary has gradc's figures with n/a ratios", () => {
  const np = runNumpy([[4, 4]], 1, "python3-that-does-not-exist");
  assert.equal(np.out, null);
  assert.equal(np.error, "python3-that-does-not-exist not found");
  const r: NumpyComparison = {
    date: "",
    command: "node dist/bench/numpy.js",
    numpy: null,
    numpyMissing: np.error,
    torch: null,
    torchMissing: "no python3 with torch",
    machine: { cpu: "cpu", cores: 2, node: "v20", loadavgStart: [1, 1, 1], loadavgEnd: [1, 1, 1] },
    batchnorm: [{ N: 4, D: 4, dtype: "f32", gradcMs: 0.01, fusedMs: 0.01, numpyMs: null, torchMs: null, probeMs: 0.02 }],
    iteration: [{ dtype: "f64", gradcMs: 3, numpyMs: null, torchMs: null }],
    attention: [
      { heads: 1, T: 128, d: 64, dtype: "f32", gradcMs: 0.5, torchMs: 1 },
      { heads: 4, T: 128, d: 64, dtype: "f64", gradcMs: 2, torchMs: 1 },
    ],
    threaded: [{ dtype: "f32", oneThreadWallMs: 2, twoThreadsWallMs: 1.5 }],
    experiment: [{ dtype: "f32", gradcS: 1.25, numpyS: null }],
    peakGFlops: { f64: 28, f32: 56 },
    matmul: [{ what: "X @ W1", dtype: "f32", ms: 1, gflops: 30, ofPeak: 30 / 56 }],
  };
  const text = summarizeComparison(r);
  assert.match(text, /No numpy rows: python3-that-does-not-exist not found/);
  assert.match(text, /\| batchnorm backward 4x4 \| f32 \| 0\.010 \| n\/a \| n\/a \| 0\.010 \| 0\.50 \|/);
  // the side-by-side table: plain run, loop mode, their ratio, PyTorch, PyTorch / plain, numpy
  assert.match(text, /No PyTorch rows: no python3 with torch/);
  assert.match(text, /\| batchnorm backward 4x4 \| f32 \| 0\.010 \| 0\.010 \| 1\.00 \| n\/a \| n\/a \| n\/a \|/);
  assert.match(text, /\| attention forward \+ backward, T=128, d=64, one head \| f32 \| 0\.500 \| \| \| 1\.000 \| 2\.00 \| \|/);
  assert.match(text, /\| attention forward \+ backward, T=128, d=64, 4 heads \| f64 \| 2\.000 \| \| \| 1\.000 \| 0\.50 \| \|/);
  assert.match(text, /\| X @ W1 \| f32 \| 1\.000 \| 30\.0 \| 54% \|/);
  assert.match(text, /\| experiment deep .*\| f32 \| 1\.25 \| n\/a \| n\/a \|/);
  assert.match(summarizeComparison({ ...r, experiment: { skipped: "no data" } }), /`experiment deep` end to end: not run \(no data\)\./);
});

test("the PyTorch child runs on one thread, with the machine's two OpenBLAS tuning variables unset (in it only)", () => {
  const before = process.env.OPENBLAS_CORETYPE;
  process.env.OPENBLAS_CORETYPE = "Haswell";
  try {
    const env = torchEnv();
    assert.equal(env.OPENBLAS_CORETYPE, undefined);
    assert.equal(env.OPENBLAS_L2_SIZE, undefined);
    assert.equal(env.OPENBLAS_NUM_THREADS, "1");
    assert.equal(process.env.OPENBLAS_CORETYPE, "Haswell");
  } finally {
    if (before === undefined) delete process.env.OPENBLAS_CORETYPE;
    else process.env.OPENBLAS_CORETYPE = before;
  }
});
