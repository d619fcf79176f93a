// Every rewrite rule carries its law as data, and a traced rewrite reads as a derivation: each step
// changes the graph, shows the matched subexpression before and after, and marks only true
// cancellations.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { rule, P, v } from "../compile/optimize/rules/rule.js";
import { rule as userFacingRule } from "../index.js";
import { ruleGroups, tables } from "../compile/optimize/rules/index.js";
import { zooGraph } from "../ops/zoo.js";
import { GradcError } from "../core/errors.js";

test("every rule in the tables has a law (an equation) and a known group", () => {
  for (const [table, rules] of Object.entries(tables)) {
    for (const r of rules) {
      assert.ok(typeof r.law === "string" && r.law.includes("="), `${table}/${r.name}: law ${JSON.stringify(r.law)} is an equation`);
      assert.ok(Object.hasOwn(ruleGroups, r.group), `${table}/${r.name}: group ${JSON.stringify(r.group)}`);
      if (table === "user") continue;
      assert.ok(!r.law.includes("(rewritten by"), `${table}/${r.name}: gradc's own rules state their law`);
      assert.notEqual(r.group, "user", `${table}/${r.name}: gradc's own rules name their group`);
    }
  }
});

test("one rule() for gradc's tables and users': a rule without a law shows its pattern, a misspelt op in a pattern is an error naming it", () => {
  assert.equal(userFacingRule, rule);
  const x = v("x");
  assert.equal(rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { law: "log(exp(x)) = x" }).law, "log(exp(x)) = x");
  const plain = rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x);
  assert.equal(plain.law, "log(exp(x)) = (rewritten by log-of-exp)");
  assert.equal(plain.group, "user");
  assert.throws(() => rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { group: "magic" as never }), /group must be one of/);
  assert.throws(
    () => P.exq(x),
    (e: unknown) => e instanceof GradcError && /P\.exq: no op named "exq" is registered \(did you mean "exp"\?\)/.test(e.message),
  );
  assert.throws(() => rule("bad", { op: "nosuchop", args: [] }, () => null), /names op "nosuchop", which is not registered/);
  assert.ok("exp" in P && !("exq" in P));
});

test("batchnorm's traced derivation: every step changes the outputs, has text before and after, and sum(xhat) = 0 is the cancellation", () => {
  const { backward } = vjp(zooGraph("batchnorm", [200, 3]));
  const { steps } = optimize(backward, { trace: true });
  assert.ok(steps.length > 5);
  let prev = backward;
  for (const s of steps) {
    assert.ok(
      Object.keys(prev.outputs).some((k) => prev.outputs[k] !== s.graph.outputs[k]),
      `${s.rule} changes an output`,
    );
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
