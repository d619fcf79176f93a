// Every rewrite rule carries its law as data, and a traced rewrite reads as a derivation: each step
// changes the graph, shows the matched subexpression before and after, and marks only true
// cancellations.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { rule } from "../compile/optimize/extend.js";
import { P, v } from "../compile/optimize/rules/rule.js";
import { ruleGroups, tables } from "../compile/optimize/rules/index.js";
import { rule as builtinRule } from "../compile/optimize/rules/rule.js";
import { zooGraph } from "../ops/zoo.js";
import { GradcError } from "../core/errors.js";

test("every rule in the tables has a law (an equation) and a known group", () => {
  for (const [table, rules] of Object.entries(tables)) {
    for (const r of rules) {
      assert.ok(typeof r.law === "string" && r.law.includes("="), `${table}/${r.name}: law ${JSON.stringify(r.law)} is an equation`);
      assert.ok(Object.hasOwn(ruleGroups, r.group), `${table}/${r.name}: group ${JSON.stringify(r.group)}`);
    }
  }
});

test("gradc's own rule() refuses a rule without a law; a user rule without one shows its pattern", () => {
  const x = v("x");
  assert.throws(() => builtinRule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, {} as never), (e: unknown) => e instanceof GradcError && /needs its law/.test(e.message));
  assert.equal(rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { law: "log(exp(x)) = x" }).law, "log(exp(x)) = x");
  const plain = rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x);
  assert.equal(plain.law, "log(exp(x)) = (rewritten by log-of-exp)");
  assert.equal(plain.group, "user");
  assert.throws(() => rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { group: "magic" as never }), /group must be one of/);
});

test("batchnorm's traced derivation: every step changes the outputs, has text before and after, and sum(xhat) = 0 is the cancellation", () => {
  const { backward } = vjp(zooGraph("batchnorm", [200, 3]));
  const { steps } = optimize(backward, { trace: true });
  assert.ok(steps.length > 5);
  let prev = backward;
  for (const s of steps) {
    assert.ok(Object.keys(prev.outputs).some((k) => prev.outputs[k] !== s.graph.outputs[k]), `${s.rule} changes an output`);
    assert.ok(s.law && s.before && s.after && s.before !== s.after, `${s.rule}: ${s.before} -> ${s.after}`);
    prev = s.graph;
  }
  const zero = steps.find((s) => s.rule === "sum-of-residual");
  assert.ok(zero, "sum-of-residual fires");
  assert.equal(zero.before, "sum[axes=[0]](%xhat)");
  assert.equal(zero.after, "0");
  assert.deepEqual(zero.cancelledText, ["%xhat"]);
  const rebuilt = steps.filter((s) => s.group === "factoring" && s.cancelled.length === 0);
  assert.ok(rebuilt.length > 0, "most collecting steps rebuild their parents and cancel nothing");
});
