// Every entry of the bad-input catalogue (spec/bad-inputs.ts) is a GradcError naming what it should
// (CLI entries: exit status 2, one line, no stack trace); plus the checked records that are not
// errors: outputs named "__proto__" are plain keys.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { badInputs, runBadInput } from "./support/bad-inputs.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { Graph } from "../core/graph.js";
import * as b from "../core/builder.js";
import { tensor } from "../core/tensor.js";
import { compile } from "../compile/codegen/compile.js";
import { defineOp, removeOp } from "../ops/define.js";

for (const group of [...new Set(badInputs.map((c) => c.group))]) {
  describe(`bad input: ${group}`, () => {
    for (const c of badInputs.filter((e) => e.group === group)) {
      test(c.input, () => {
        const r = runBadInput(c);
        assert.ok(r.ok, `${c.input}: ${r.why}\n${r.message}`);
      });
    }
  });
}

describe("outputs are plain own keys", () => {
  const x = b.input("x", [2]);
  const g = new Graph([x], { ["__proto__"]: b.exp(x), constructor: b.neg(x) } as never);
  const inputs = { x: tensor([0, 1]) };

  test("an output named __proto__ is in compile(...).run's result, as an own key", () => {
    const out = compile(g).run(inputs);
    assert.ok(Object.hasOwn(out, "__proto__"));
    assert.deepEqual(Array.from(out["__proto__"].data), [1, Math.E]);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });

  test("and in evaluate's", () => {
    const out = evaluate(g, inputs);
    assert.ok(Object.hasOwn(out, "__proto__"));
    assert.deepEqual(Array.from((out["constructor"] as unknown as { data: Float64Array }).data), [-0, -1]);
  });

  test('graph.output("constructor") is the output of that name, and "toString" is no output', () => {
    assert.equal(g.output("constructor").op, "neg");
    const h = trace({ x: [2] }, ({ x }) => x.exp());
    assert.throws(() => h.output("toString"), /no output named "toString"/);
  });
});

describe("defineOp records that are right pass their checks", () => {
  test("an expr equal to scalar up to rounding is accepted", () => {
    const softplus = defineOp({
      name: "softplusChecked",
      arity: 1,
      scalar: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
      expr: ([x]) => `Math.log1p(Math.exp(${x}))`,
      vjp: (g, [x]) => [g.mul(x.mul(0.5).tanh().add(1).mul(0.5))],
    });
    try {
      const g = trace({ x: [3] }, ({ x }) => softplus(x));
      assert.ok(Math.abs(compile(g).run({ x: tensor([0, 1, -1]) }).out.data[1] - Math.log1p(Math.E)) < 1e-15);
    } finally {
      removeOp("softplusChecked");
    }
  });
});
