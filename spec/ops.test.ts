// Every primitive in the registry, checked by walking the registry: an op added later is covered
// without a new test, as long as it says how to sample valid inputs (OpDef.sample).
//   - its gradient rule agrees with central differences (the notebook's gradient check);
//   - its reference kernel agrees with its scalar function and its codegen expression;
//   - its shape rule's aval is what the kernel returns, and bad input is rejected by name.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import "../ops/index.js";
import { allOps, type OpDef, type OpSample } from "../core/registry.js";
import { apply, type Node } from "../core/node.js";
import { input } from "../core/builder.js";
import { Graph } from "../core/graph.js";
import { evaluate } from "../core/evaluate.js";
import { GradcError } from "../core/errors.js";
import { grad } from "../compile/autodiff/reverse.js";
import { full, sameShape, shapeStr, type Tensor } from "../core/tensor.js";
import { evalNumericalGradientArray, randomTensor, relError, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";

const ops = allOps().filter((d) => d.kind !== "leaf");
const RUNS = 25;

function describeSample(def: OpDef, s: OpSample): string {
  return `${def.name}(${s.inputs.map((t) => `${t.dtype}${shapeStr(t.shape)}`).join(", ")}) ${JSON.stringify(s.attrs)}`;
}

/** The op applied to fresh inputs in0, in1, ...: a one-node graph. */
function oneOpGraph(def: OpDef, s: OpSample): { g: Graph; names: string[] } {
  const names = s.inputs.map((_, k) => `in${k}`);
  const nodes: Node[] = s.inputs.map((t, k) => input(names[k], t.shape, t.dtype));
  return { g: new Graph(nodes, { out: apply(def.name, nodes, s.attrs) }), names };
}

/** The worst relative error of the op's VJP against finite differences at one sample. */
function gradientError(def: OpDef, s: OpSample, rand: () => number): number {
  const { g, names } = oneOpGraph(def, s);
  const out = g.output("out");
  const dg = grad(g, { of: "out" });
  const dout = randomTensor(rand, out.shape, -2, 2, out.dtype);
  const feed: Record<string, Tensor> = Object.fromEntries(names.map((n, k) => [n, s.inputs[k]]));
  const analytic = evaluate(dg, out.rank === 0 ? feed : { ...feed, dout });
  const df = out.rank === 0 ? full([], 1, out.dtype) : dout; // a scalar output is seeded with 1
  const wrt = s.wrt ?? s.inputs.flatMap((t, k) => (t.dtype === "f64" || s.h ? [k] : []));
  let worst = 0;
  names.forEach((name, k) => {
    const got = analytic[`d${name}`];
    if (!wrt.includes(k)) {
      // declared without a gradient: the derived gradient must be exactly zero
      assert.ok(
        got.data.every((v) => v === 0),
        `${describeSample(def, s)}: d${name} should be zero, got ${got}`,
      );
      return;
    }
    const f = (x: Tensor) => evaluate(g, { ...feed, [name]: x }).out;
    const numeric = evalNumericalGradientArray(f, s.inputs[k], df, s.h ?? 1e-5);
    const e = relError(got, numeric);
    assert.ok(e <= (s.tol ?? 1e-6), `${describeSample(def, s)}: d${name} has relative error ${e}\n  derived   ${got}\n  numerical ${numeric}`);
    worst = Math.max(worst, e);
  });
  return worst;
}

function sample(def: OpDef, seed: number): OpSample {
  const sampler = def.sample?.bind(def);
  if (!sampler) {
    assert.fail(
      `op "${def.name}" has no sampler: give its OpDef a \`sample(rand)\` returning valid random inputs (see OpSample in core/registry.ts); ops/samples.ts has the common ones`,
    );
  }
  return sampler(seededRandom(seed));
}

describe("every op in the registry", () => {
  for (const def of ops) {
    test(`${def.name}: knows how to draw valid inputs`, () => {
      const s = sample(def, 1);
      assert.equal(
        s.inputs.length,
        def.arity < 0 ? s.inputs.length : def.arity,
        `${def.name}: the sampler gave ${s.inputs.length} inputs for arity ${def.arity}`,
      );
    });

    if (def.vjp) {
      test(`${def.name}: for all valid inputs, the VJP agrees with central differences`, (t) => {
        let worst = 0;
        fc.assert(
          fc.property(arbSeed(), (seed) => {
            const rand = seededRandom(seed ^ 0x5bd1e995);
            worst = Math.max(worst, gradientError(def, sample(def, seed), rand));
          }),
          runs(RUNS),
        );
        t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
      });
    }

    test(`${def.name}: the shape rule's aval is what the kernel returns`, () => {
      fc.assert(
        fc.property(arbSeed(), (seed) => {
          const s = sample(def, seed);
          const aval = def.shape(s.inputs, s.attrs);
          const out = def.impl(s.inputs, s.attrs, aval);
          assert.ok(sameShape(out.shape, aval.shape), `${describeSample(def, s)}: kernel gave ${shapeStr(out.shape)}, shape rule ${shapeStr(aval.shape)}`);
          assert.equal(out.dtype, aval.dtype, describeSample(def, s));
          assert.ok(out.data.every(Number.isFinite), `${describeSample(def, s)}: non-finite output ${out}`);
        }),
        runs(RUNS),
      );
    });

    if (def.kind === "elementwise") {
      test(`${def.name}: the kernel computes the scalar function and the codegen expression agrees`, () => {
        assert.ok(def.scalar, `${def.name}: an elementwise op needs a scalar function`);
        assert.ok(def.expr, `${def.name}: an elementwise op needs a codegen expression`);
        fc.assert(
          fc.property(arbSeed(), (seed) => {
            const s = sample(def, seed);
            const aval = def.shape(s.inputs, s.attrs);
            const out = def.impl(s.inputs, s.attrs, aval);
            const args = s.inputs.map((_, k) => `a${k}`);
            const compiled = new Function(...args, `return ${def.expr!(args, s.attrs)};`) as (...xs: number[]) => number;
            const round = aval.dtype === "f32" ? Math.fround : (v: number) => v;
            for (let i = 0; i < out.size; i++) {
              const xs = s.inputs.map((t) => t.data[i]);
              const want = round(def.scalar!(...xs));
              assert.ok(Object.is(out.data[i], want), `${describeSample(def, s)}: kernel gives ${out.data[i]} at ${i}, scalar ${want}`);
              assert.ok(Object.is(round(compiled(...xs)), want), `${describeSample(def, s)}: expr gives ${compiled(...xs)} at ${i}, scalar ${want}`);
            }
          }),
          runs(RUNS),
        );
      });
    }

    if (def.arity >= 0) {
      test(`${def.name}: the wrong number of inputs is a GradcError naming the op`, () => {
        const x = input("x", [2, 3]);
        const wrong = Array.from({ length: def.arity + 1 }, () => x);
        assert.throws(
          () => apply(def.name, wrong, {}),
          (e: unknown) => e instanceof GradcError && e.message.startsWith(`${def.name}:`) && e.message.includes("[2,3]"),
        );
      });
    }
  }
});

const throwsNaming =
  (op: string, ...parts: string[]) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof GradcError, `expected a GradcError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${op}:`), `message should start with the op: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message should mention ${p}: ${e.message}`);
    return true;
  };

describe("shape rules reject bad input", () => {
  const x = input("x", [2, 3]);
  const y = input("y", [3, 2]);
  const x32 = input("x32", [2, 3], "f32");
  for (const def of ops.filter((d) => d.kind === "elementwise" && d.arity >= 2)) {
    test(`${def.name}: operands of different shapes`, () => {
      const args = [x, y, x].slice(0, def.arity);
      assert.throws(() => apply(def.name, args), throwsNaming(def.name, "[2,3]", "[3,2]", "%x"));
    });
    test(`${def.name}: operands of different dtypes`, () => {
      const args = [x, x32, x].slice(0, def.arity);
      assert.throws(() => apply(def.name, args), throwsNaming(def.name, "f32", "f64", "%x32"));
    });
  }
  const bad: [string, Node[], Record<string, unknown>, string[]][] = [
    ["sum", [x], { axes: [2] }, ["axes", "[2]", "%x"]],
    ["max", [x], { axes: [1, 0] }, ["axes", "%x"]],
    ["broadcastTo", [x], { shape: [4, 3] }, ["[2,3]", "[4,3]"]],
    ["broadcastTo", [x], { shape: [2, 2, 3] }, ["ranks"]],
    ["reshape", [x], { shape: [4] }, ["[2,3]", "[4]"]],
    ["transpose", [x], { perm: [0, 0] }, ["perm", "[2,3]"]],
    ["matmul", [x, x], {}, ["inner", "[2,3]"]],
    ["cast", [x], { dtype: "i32" }, ["dtype", "i32"]],
  ];
  for (const [op, args, attrs, parts] of bad) {
    test(`${op} ${JSON.stringify(attrs)} on ${args.map((a) => shapeStr(a.shape)).join(", ")}`, () => {
      assert.throws(() => apply(op, args, attrs as never), throwsNaming(op, ...parts));
    });
  }
  test("leaves: an input without a name, a constant without a number, iota off its axes", () => {
    assert.throws(() => apply("input", [], { name: "", shape: [2], dtype: "f64" }), throwsNaming("input", "name"));
    assert.throws(() => apply("const", [], { value: "1", dtype: "f64", shape: [] }), throwsNaming("const", "number"));
    assert.throws(() => apply("iota", [], { shape: [2, 3], axis: 2, dtype: "f64" }), throwsNaming("iota", "axis 2"));
  });
});
