// Checks shared by the op tests: a whole graph's gradients against central differences, and a
// compiled graph against the interpreter.

import assert from "node:assert/strict";
import { GradcError } from "../../core/errors.js";
import { evaluate } from "../../core/evaluate.js";
import type { Graph } from "../../core/graph.js";
import { full, type Tensor } from "../../core/tensor.js";
import { grad } from "../../compile/autodiff/reverse.js";
import { compile } from "../../compile/codegen/compile.js";
import { evalNumericalGradientArray, randomTensor, relError } from "../../compile/check/numeric.js";

/**
 * For every f64 input of `g` (or those in `wrt`), the derived gradient of output `of` agrees with
 * central differences at `feed`. Returns the worst relative error.
 */
/**
 * The derived gradient of `of` against central differences, input by input: the largest
 * elementwise relative error (cs231n's rel_error) must be at most `tol`. `atol`: entries closer
 * than this pass whatever their relative error. Central differences are accurate only to about
 * eps * |f| / h absolutely (1e-11 here), so a component that cancels to 1e-6 (softmax's
 * dout_i - p_i * sum(dout)) cannot be checked relatively to 1e-6 by them.
 */
export function checkGradients(
  g: Graph,
  feed: Record<string, Tensor>,
  rand: () => number,
  opts: { of?: string; wrt?: string[]; tol?: number; atol?: number; h?: number; compiled?: boolean } = {},
): number {
  const of = opts.of ?? g.outputNames[0];
  const out = g.output(of);
  const wrt = opts.wrt ?? g.inputNames;
  const dg = grad(g, { of, wrt });
  const dout = randomTensor(rand, out.shape, -2, 2, out.dtype);
  const dfeed = out.rank === 0 ? feed : { ...feed, [`d${of}`]: dout };
  // the derived gradient interpreted, or compiled (opts.compiled)
  const analytic = opts.compiled ? compile(dg).run(dfeed) : evaluate(dg, dfeed);
  const df = out.rank === 0 ? full([], 1, out.dtype) : dout;
  let worst = 0;
  for (const name of wrt) {
    const numeric = evalNumericalGradientArray((x) => evaluate(g, { ...feed, [name]: x })[of], feed[name], df, opts.h ?? 1e-5);
    const got = analytic[`d${name}`];
    const atol = opts.atol ?? 0;
    const e = relError(
      got.data.map((v, i) => (Math.abs(v - numeric.data[i]) <= atol ? numeric.data[i] : v)),
      numeric,
    );
    assert.ok(e <= (opts.tol ?? 1e-6), `d${name} has relative error ${e}\n  derived   ${analytic[`d${name}`]}\n  numerical ${numeric}\n${g}`);
    worst = Math.max(worst, e);
  }
  return worst;
}

/** compile(g).run(feed) equals evaluate(g, feed), output by output, to `tol` (relative); NaN and ±Infinity where the interpreter has them. */
export function checkCompiled(g: Graph, feed: Record<string, Tensor>, tol = 1e-12): void {
  const want = evaluate(g, feed);
  const got = compile(g).run(feed);
  for (const k of g.outputNames) {
    assert.deepEqual(got[k].shape, want[k].shape, `${k}: shape`);
    const finite = (i: number) => Number.isFinite(want[k].data[i]);
    const same = Array.from(want[k].data).every((v, i) => finite(i) || Object.is(v, got[k].data[i]));
    const pick = (t: Tensor) => Array.from(t.data).filter((_, i) => finite(i));
    assert.ok(same && relError(pick(got[k]), pick(want[k])) <= tol, `${k}: compiled ${got[k]}\n  interpreted ${want[k]}\n${g}`);
  }
}

/** An assert.throws predicate: a GradcError whose message contains every part (a string or a pattern). */
export const gradcError =
  (...parts: (string | RegExp)[]) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof GradcError, `expected a GradcError, got ${e instanceof Error ? e.stack : String(e)}`);
    for (const p of parts) assert.ok(typeof p === "string" ? e.message.includes(p) : p.test(e.message), `message should mention ${p}: ${e.message}`);
    return true;
  };
