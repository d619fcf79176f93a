// New rewrite rules from user code, in the same form as gradc's own tables: a kebab-case name, a
// pattern written with the builder's op names, the replacement built with builder ops, an optional
// guard. Each is checked for soundness before it is added; a classic wrong rule is caught.
// Run: node dist/examples/rule.js

import "../ops/index.js"; // registers the builtin primitives
import { checkRule, defineRule, GradcError, optimize, P, removeRule, rule, stats, trace, v, evaluate, random, type CheckRuleReport } from "gradc";
import { fileURLToPath } from "node:url";

const x = v("x"),
  a = v("a"),
  c = v("c");

// log(exp(x)) = x: exact in real arithmetic; in floating point exp overflows for x > 709
export const logOfExp = rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { assumesFinite: true });
// exp(a) * exp(c) = exp(a + c): one exp instead of two
export const mulOfExps = rule("mul-of-exps", P.mul(P.exp(a), P.exp(c)), ({ a, c }) => a.add(c).exp());
// sqrt(x^2) = x is the classic mistake (it is |x|): the soundness check must refuse it
export const sqrtOfSquare = rule("sqrt-of-square", P.sqrt(P.square(x)), ({ x }) => x);

export interface RuleResult {
  checks: CheckRuleReport[];
  /** checkRule's message for the unsound rule */
  refused: string;
  before: number;
  after: number;
  text: string;
  /** the optimized graph computes what the traced one computes (largest difference) */
  difference: number;
}

export function main(): RuleResult {
  // 1. check, then add: each rule is evaluated on both sides wherever it fires
  const checks = [logOfExp, mulOfExps].map((r) => checkRule(r));
  for (const c of checks) console.log(`checkRule(${c.rule}): sound in ${c.firings} firings over ${c.cases} graphs, worst error ${c.worst.toExponential(1)}`);
  let refused = "";
  try {
    checkRule(sqrtOfSquare);
  } catch (e) {
    if (!(e instanceof GradcError)) throw e;
    refused = e.message;
    console.log(`checkRule(sqrt-of-square) refuses it:\n  ${e.message.split("\n").slice(0, 2).join("\n  ")}`);
  }
  for (const r of [logOfExp, mulOfExps]) defineRule(r);

  // 2. the optimizer uses them: log(exp(x) * exp(y)) becomes x + y
  try {
    const g = trace({ x: [3, 4], y: [3, 4] }, ({ x, y }) => x.exp().mul(y.exp()).log());
    const opt = optimize(g, { trace: true });
    console.log(`log(exp(x) * exp(y)): ${stats(g).nodes} nodes -> ${stats(opt.graph).nodes} (rules: ${opt.steps.map((s) => s.rule).join(", ")})`);
    console.log(opt.graph.toString());
    const rs = random(3);
    const inputs = { x: rs.randnTensor([3, 4]), y: rs.randnTensor([3, 4]) };
    const want = evaluate(g, inputs).out,
      got = evaluate(opt.graph, inputs).out;
    const difference = Math.max(...want.data.map((w, i) => Math.abs(w - got.data[i])));
    console.log(`evaluated on random inputs, the two graphs differ by at most ${difference.toExponential(1)}`);
    return { checks, refused, before: stats(g).nodes, after: stats(opt.graph).nodes, text: opt.graph.toString(), difference };
  } finally {
    // rules are global to the process: a test (or a notebook cell) that adds them takes them out
    removeRule("log-of-exp");
    removeRule("mul-of-exps");
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
