// cumsum, cumprod, cummax, cummin and logcumsumexp as docs/ops.md specifies them:
//   - values against a direct sequential loop (NumPy's definitions), every axis, reverse and
//     exclusive, evaluated and compiled;
//   - gradients against central differences (cumprod with zeros in x: no division by x) and the
//     dot-product test <u, J v> = <J^T u, v> between forward and reverse mode;
//   - the tie conventions (cummax routes to the latest position holding the maximum; logcumsumexp
//     splits a tie in half) and stability (logcumsumexp of 1000s);
//   - ONNX Runtime computes what evaluate computes (cumsum as CumSum, the others through their primitives).

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { cummax, cummin, cumprod, cumsum, logcumsumexp, type CumulativeOptions } from "../ops/composites.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { GradcError } from "../core/errors.js";
import { input } from "../core/builder.js";
import { tensor, Tensor, type DType } from "../core/tensor.js";
import { grad } from "../compile/autodiff/reverse.js";
import { jvp } from "../compile/autodiff/forward.js";
import { compile } from "../compile/codegen/compile.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";
import { checkGradients } from "./support/graph-checks.js";
import { mismatch, runOnOrt } from "./support/ort.js";
import type { Node } from "../core/node.js";

type Cum = (x: Node, axis: number, opts?: CumulativeOptions) => Node;
/** [name, builder, identity, sequential combine] */
const OPS: [string, Cum, number, (acc: number, v: number) => number][] = [
  ["cumsum", cumsum, 0, (a, v) => a + v],
  ["cumprod", cumprod, 1, (a, v) => a * v],
  ["cummax", cummax, -Infinity, Math.max],
  ["cummin", cummin, Infinity, Math.min],
  ["logcumsumexp", logcumsumexp, -Infinity, (a, v) => Math.log(Math.exp(a) + Math.exp(v))],
];
const OPTIONS: CumulativeOptions[] = [{}, { reverse: true }, { exclusive: true }, { reverse: true, exclusive: true }];

/** The sequential definition, along `axis` of a row-major tensor. */
function reference(x: Tensor, axis: number, opts: CumulativeOptions, identity: number, f: (a: number, v: number) => number): number[] {
  const n = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((m, s) => m * s, 1);
  const outer = x.size / (n * inner);
  const out = new Array<number>(x.size);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      let acc = identity;
      for (let t = 0; t < n; t++) {
        const i = o * n * inner + (opts.reverse ? n - 1 - t : t) * inner + k;
        if (opts.exclusive) {
          out[i] = acc;
          acc = f(acc, x.data[i]);
        } else out[i] = acc = f(acc, x.data[i]);
      }
    }
  }
  return out;
}

const close = (got: ArrayLike<number>, want: number[], tol: number, what: string) => {
  for (let i = 0; i < want.length; i++) {
    const ok = Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i]));
    assert.ok(ok, `${what}: [${i}] is ${got[i]}, the sequential loop gives ${want[i]}\n  got  ${Array.from(got)}\n  want ${want}`);
  }
};

describe("cumulative ops: values", () => {
  for (const [name, f, identity, combine] of OPS) {
    test(`${name}: every axis, reverse and exclusive, evaluated and compiled (f64, f32), equal the sequential loop`, () => {
      const rand = seededRandom(name.length);
      for (const dtype of ["f64", "f32"] as DType[]) {
        const x = randomTensor(rand, [3, 9, 4], -1.5, 1.5, dtype);
        for (let axis = -3; axis < 3; axis++) {
          for (const opts of OPTIONS) {
            const g = trace({ x: { shape: x.shape, dtype } }, ({ x }) => f(x, axis, opts));
            const want = reference(x, axis < 0 ? axis + 3 : axis, opts, identity, combine);
            const what = `${name}(axis ${axis}, ${JSON.stringify(opts)}, ${dtype})`;
            const tol = dtype === "f32" ? 1e-5 : 1e-13;
            close(evaluate(g, { x }).out.data, want, tol, what);
            close(compile(g).run({ x }).out.data, want, tol, `${what} compiled`);
          }
        }
      }
    });
  }
  test("NumPy's examples; an empty axis; a length-1 exclusive scan is the identity", () => {
    const x = tensor([1, 2, 3], [3]);
    const run = (f: (v: Node) => Node, t = x) =>
      Array.from(
        evaluate(
          trace({ x: t.shape }, ({ x }) => f(x)),
          { x: t },
        ).out.data,
      );
    assert.deepEqual(
      run((v) => cumsum(v, 0)),
      [1, 3, 6],
    );
    assert.deepEqual(
      run((v) => cumsum(v, 0, { reverse: true })),
      [6, 5, 3],
    );
    assert.deepEqual(
      run((v) => cumsum(v, 0, { exclusive: true })),
      [0, 1, 3],
    );
    assert.deepEqual(
      run((v) => cumprod(v, 0)),
      [1, 2, 6],
    );
    assert.deepEqual(
      run((v) => cumprod(v, 0, { reverse: true, exclusive: true })),
      [6, 3, 1],
    );
    assert.deepEqual(
      run((v) => cummin(v, 0, { reverse: true })),
      [1, 2, 3],
    );
    assert.deepEqual(
      run((v) => cummax(v, 0, { exclusive: true }), tensor([5], [1])),
      [-Infinity],
    );
    assert.deepEqual(
      run((v) => logcumsumexp(v, 0), tensor([1000, 1000], [2])),
      [1000, 1000 + Math.LN2],
    );
    assert.deepEqual(
      run((v) => cumprod(v, 1), new Tensor(new Float64Array(0), [2, 0])),
      [],
    );
  });
});

describe("cumulative ops: gradients", () => {
  for (const [name, f] of OPS) {
    for (const opts of OPTIONS) {
      test(`${name} ${JSON.stringify(opts)}: gradient against central differences; forward and reverse mode agree (dot-product test)`, () => {
        const rand = seededRandom(name.length * 31 + JSON.stringify(opts).length);
        // distinct values 0.2 apart: no ties for cummax and cummin within a finite-difference step
        const perm = Array.from({ length: 24 }, (_, i) => i).sort(() => rand() - 0.5);
        let x = tensor(
          perm.map((k) => (k - 12) * 0.2 + 0.05 * rand()),
          [4, 6],
        );
        // cumprod through zeros: the gradient must not divide by x
        if (name === "cumprod")
          x = tensor(
            Array.from(x.data, (v, i) => (i % 5 === 2 ? 0 : v)),
            [4, 6],
          );
        // an exclusive scan's first output is the identity: finite differences of an infinite one are NaN
        const drop = opts.exclusive && !Number.isFinite(OPS.find(([n]) => n === name)![2]);
        const g = trace({ x: [4, 6] }, ({ x }) => (drop ? f(x, 1, opts).slice(opts.reverse ? ":, :-1" : ":, 1:") : f(x, 1, opts)));
        checkGradients(g, { x }, rand, { tol: 1e-6 });
        const u = randomTensor(rand, g.output("out").shape, -1, 1),
          v = randomTensor(rand, [4, 6], -1, 1);
        const jv = evaluate(jvp(g), { x, x_dot: v }).out_dot;
        const jtu = evaluate(grad(g), { x, dout: u }).dx;
        const dot = (a: Tensor, c: Tensor) => Array.from(a.data).reduce((s, ai, i) => s + ai * c.data[i], 0);
        const [l, r] = [dot(u, jv), dot(jtu, v)];
        assert.ok(Math.abs(l - r) <= 1e-12 * Math.max(1, Math.abs(l)), `<u, J v> = ${l}, <J^T u, v> = ${r}`);
      });
    }
  }
  test("cummax routes each output's gradient to the latest position holding the running maximum; cummin likewise", () => {
    const gradOf = (f: Cum, xs: number[]) =>
      Array.from(evaluate(grad(trace({ x: [xs.length] }, ({ x }) => f(x, 0).sum())), { x: tensor(xs, [xs.length]) }).dx.data);
    assert.deepEqual(gradOf(cummax, [1, 3, 3, 2]), [1, 1, 2, 0]);
    assert.deepEqual(gradOf(cummin, [2, 1, 1, 5]), [1, 1, 2, 0]);
  });
  test("cumprod's gradient at zeros is the product of the other factors (two zeros: only the first factor's own term survives)", () => {
    const dx = (xs: number[]) => Array.from(evaluate(grad(trace({ x: [xs.length] }, ({ x }) => cumprod(x, 0).sum())), { x: tensor(xs, [xs.length]) }).dx.data);
    // d/dx_i sum_j prod_{k<=j} x_k = sum_{j>=i} prod_{k<=j, k!=i} x_k
    assert.deepEqual(dx([2, 0, 3]), [1, 2 + 6, 0]);
    assert.deepEqual(dx([0, 0, 5]), [1, 0, 0]);
  });
  test("logcumsumexp: a tie shares the gradient in halves; huge inputs stay finite", () => {
    const g = trace({ x: [2] }, ({ x }) => logcumsumexp(x, 0).slice("1"));
    const d = evaluate(grad(g), { x: tensor([1000, 1000], [2]) }).dx;
    assert.deepEqual(Array.from(d.data), [0.5, 0.5]);
  });
  test("bad input: axis out of range, options not booleans or unknown, are GradcErrors naming the op and the node", () => {
    const x = input("x", [2, 3]);
    const names =
      (op: string, ...parts: string[]) =>
      (e: unknown) =>
        e instanceof GradcError && e.message.startsWith(`${op}:`) && parts.every((p) => e.message.includes(p));
    assert.throws(() => cumsum(x, 2), names("cumsum", "axis 2", "rank 2", "%x"));
    assert.throws(() => cumprod(x, -3), names("cumprod", "axis -3", "%x"));
    assert.throws(() => cummax(x, 0, { reverse: 1 as unknown as boolean }), names("cummax", "reverse", "%x"));
    assert.throws(() => logcumsumexp(x, 0, { backwards: true } as CumulativeOptions), names("logcumsumexp", "backwards"));
  });
});

test("every cumulative op, reverse and exclusive, runs on ONNX Runtime as evaluate runs it (f64, f32)", async () => {
  const rand = seededRandom(24);
  for (const [name, f] of OPS) {
    for (const opts of OPTIONS) {
      for (const dtype of ["f64", "f32"] as DType[]) {
        const x = randomTensor(rand, [2, 5, 3], -1.5, 1.5, dtype);
        const g = trace({ x: { shape: x.shape, dtype } }, ({ x }) => f(x, 1, opts));
        const e = mismatch((await runOnOrt(g, { x })).out, evaluate(g, { x }).out);
        assert.ok(e <= (dtype === "f32" ? 1e-5 : 1e-12), `${name} ${JSON.stringify(opts)} ${dtype}: ONNX Runtime differs by ${e}`);
      }
    }
  }
});
