// The benchmark's core function on a tiny batch in quick mode: every row of the table is either
// measured (a time, a ratio when the fused kernel exists, a correct result) or says why not, and
// the JSON has the shape the README table and the d3 chart read. Timings are not checked.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { runBench, summarize } from "../bench/batchnorm.js";
import { ROWS } from "../bench/report.js";
import { altBackward, specializeAlt } from "../bench/alt.js";
import { makeBatch, referenceGradients, type Gradients } from "../bench/data.js";
import { stagedBackward } from "../bench/staged.js";

/**
 * Equal to 1e-12 of the output's scale, with a floor of 1: at N=2 dx cancels to almost nothing
 * analytically (xhat = ±1), so a purely relative check would compare rounding noise.
 */
function close(got: Gradients, want: Gradients): boolean {
  return (["dx", "dgamma", "dbeta"] as const).every((k) => {
    const scale = Math.max(1, ...Array.from(want[k], Math.abs));
    return want[k].every((w, i) => Math.abs(got[k][i] - w) <= 1e-12 * scale);
  });
}

test("the hand-written kernels agree with the float64 reference (N=1, N=2, D=1, odd sizes)", () => {
  for (const [N, D] of [
    [1, 3],
    [2, 1],
    [7, 5],
    [33, 17],
  ]) {
    const batch = makeBatch(N, D, 5);
    const want = referenceGradients(batch);
    // residuals computed the way the forward does
    const mean = new Float64Array(D).map((_, j) => Array.from({ length: N }, (_, i) => batch.x[i * D + j]).reduce((a, b) => a + b) / N);
    const xc = batch.x.map((v, k) => v - mean[k % D]);
    const std = new Float64Array(D).map((_, j) => Math.sqrt(Array.from({ length: N }, (_, i) => xc[i * D + j] ** 2).reduce((a, b) => a + b) / N + 1e-5));
    const xhat = xc.map((v, k) => v / std[k % D]);
    assert.ok(close(altBackward(batch.dout, xhat, batch.gamma, std, N, D), want), `alt ${N}x${D}`);
    assert.ok(close(stagedBackward(batch.dout, xhat, xc, batch.gamma, std, N, D), want), `staged ${N}x${D}`);
    const buf = { dout: batch.dout, xhat, gamma: batch.gamma, std, dx: new Float64Array(N * D), dgamma: new Float64Array(D), dbeta: new Float64Array(D) };
    const run = specializeAlt(N, D, buf);
    run();
    run(); // a second call must not accumulate onto the first
    assert.ok(close({ dx: buf.dx, dgamma: buf.dgamma, dbeta: buf.dbeta }, want), `specialized ${N}x${D}`);
  }
});

test("runBench in quick mode on 8x5 gives every row, measured or with a reason, and the targets", async () => {
  const lines: string[] = [];
  const r = await runBench({ quick: true, sizes: [[8, 5]], log: (l) => lines.push(l) });
  assert.equal(r.benchmark, "batchnorm-backward");
  assert.deepEqual(r.sizes, [{ N: 8, D: 5 }]);
  assert.equal(typeof r.machine.cpu, "string");
  assert.match(r.machine.node, /^v\d+/);
  assert.deepEqual(
    r.rows.map((row) => row.id),
    ROWS.map((d) => d.id),
  );
  for (const row of r.rows) {
    assert.equal(row.cells.length, 1, row.id);
    const [cell] = row.cells;
    assert.deepEqual([cell.N, cell.D], [8, 5]);
    if (cell.ms === undefined) {
      assert.equal(typeof cell.skipped, "string", `${row.id} has neither a time nor a reason`);
      continue;
    }
    assert.ok(cell.ms > 0 && cell.opsPerSec! > 0 && cell.samples! >= 1, row.id);
    const tolerance = row.dtype === "f32" ? 1e-4 : 1e-6; // jax-js f64 rounds eps to f32 under jit
    assert.ok(cell.relErr! < tolerance, `${row.id} computes the wrong gradients: relative error ${cell.relErr}`);
    assert.ok(cell.ratio === null || cell.ratio! > 0);
  }
  // gradc's own rows always run
  for (const id of ["naive", "interpreted", "alt", "alt-specialized", "staged", "probe"]) {
    assert.notEqual(r.rows.find((row) => row.id === id)!.cells[0].ms, undefined, id);
  }
  assert.ok(r.targets.length >= 6);
  for (const t of r.targets) assert.ok(t.met === null || typeof t.met === "boolean");
  const text = summarize(r);
  assert.match(text, /\| implementation \| 8x5 \|/);
  assert.ok(JSON.parse(JSON.stringify(r)), "the result is plain JSON");
});
