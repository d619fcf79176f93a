// defineRule: a user's rewrite rule, in the same form as gradc's own tables (compile/optimize/rules/), added
// to the `user` table, which the engine tries after the builtin ones. Checked when added: a
// kebab-case name no other rule has, a well-formed pattern over registered ops, functions where
// functions belong. `checkRule` (compile/check/rule.ts) checks that it is sound.

import { GradcError } from "../../core/errors.js";
import { hasOp } from "../../core/registry.js";
import { isRuleGroup, patternText, refreshRules, rule as makeRule, ruleGroups, tables, type Pattern, type Rule, type RuleGroup } from "./rules/index.js";

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Add a rewrite rule to the optimizer. Build it with `rule(name, pattern, rewrite, { guard })`.
 *
 *   const x = v("x");
 *   defineRule(rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { assumesFinite: true }));
 */
export function defineRule(r: Rule): Rule {
  validateRule(r);
  const taken = Object.entries(tables).find(([, t]) => t.some((q) => q.name === r.name));
  if (taken) throw new GradcError(`defineRule: a rule named "${r.name}" already exists (in the ${taken[0]} table)${taken[0] === "user" ? "; removeRule it first" : ""}`);
  tables.user.push(r);
  refreshRules();
  return r;
}

/** Remove a rule added with defineRule; true if there was one. gradc's own rules cannot be removed. */
export function removeRule(name: string): boolean {
  const i = tables.user.findIndex((r) => r.name === name);
  if (i < 0) {
    const builtin = Object.entries(tables).find(([, t]) => t.some((q) => q.name === name));
    if (builtin) throw new GradcError(`removeRule: "${name}" is one of gradc's own rules (the ${builtin[0]} table), not one added with defineRule`);
    return false;
  }
  tables.user.splice(i, 1);
  refreshRules();
  return true;
}

/**
 * Make a rule: a kebab-case name, a pattern (v, P.op, any), the replacement built with builder ops
 * from the matched nodes, and options: its law as text (shown by the viewer; without one, the
 * pattern is shown), a group (default "user"), a guard. A rule that holds only for finite values says so.
 *
 *   rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { law: "log(exp(x)) = x", assumesFinite: true })
 */
export function rule(
  name: string,
  pattern: Pattern,
  rewrite: Rule["rewrite"],
  opts: { law?: string; group?: RuleGroup; guard?: Rule["guard"]; assumesFinite?: boolean } = {},
): Rule {
  if (typeof name !== "string" || !KEBAB.test(name)) throw new GradcError(`rule: the name must be kebab-case (log-of-exp), got ${JSON.stringify(name)}`);
  if (opts.law !== undefined && (typeof opts.law !== "string" || !opts.law.trim())) throw new GradcError(`rule(${name}): law must be text such as "log(exp(x)) = x", got ${JSON.stringify(opts.law)}`);
  if (opts.group !== undefined && !isRuleGroup(opts.group)) throw new GradcError(`rule(${name}): group must be one of ${Object.keys(ruleGroups).join(", ")}, got ${JSON.stringify(opts.group)}`);
  const problem = patternProblem(pattern);
  if (problem) throw new GradcError(`rule(${name}): bad pattern: ${problem}`);
  const law = opts.law ?? `${patternText(pattern)} = (rewritten by ${name})`;
  const source = new Error().stack?.split("\n")[2]?.trim().replace(/^at\s+/, "");
  const r = { ...makeRule(name, pattern, rewrite, { ...opts, law, group: opts.group ?? "user" }), source };
  validateRule(r, "rule");
  return Object.freeze(r);
}

/** The rules added with defineRule, in the order the engine tries them. */
export const userRules = (): readonly Rule[] => [...tables.user];

export function validateRule(r: Rule, caller = "defineRule"): void {
  if (typeof r !== "object" || r === null) throw new GradcError(`${caller}: expects a rule (from rule(name, pattern, rewrite)), got ${r === null ? "null" : typeof r}`);
  if (typeof r.name !== "string" || !KEBAB.test(r.name)) throw new GradcError(`${caller}: the name must be kebab-case (log-of-exp), got ${JSON.stringify(r.name)}`);
  const who = `${caller}(${r.name})`;
  if (typeof r.rewrite !== "function") throw new GradcError(`${who}: rewrite must be a function (match, ctx) => node | null, got ${typeof r.rewrite}`);
  if (r.guard !== undefined && typeof r.guard !== "function") throw new GradcError(`${who}: guard must be a function (match, ctx) => boolean, got ${typeof r.guard}`);
  if (typeof r.law !== "string" || !r.law.trim()) throw new GradcError(`${who}: law must be text such as "log(exp(x)) = x" (build rules with rule(...)), got ${JSON.stringify(r.law)}`);
  if (!isRuleGroup(r.group)) throw new GradcError(`${who}: group must be one of ${Object.keys(ruleGroups).join(", ")}, got ${JSON.stringify(r.group)}`);
  const problem = patternProblem(r.pattern);
  if (problem) throw new GradcError(`${who}: bad pattern: ${problem}`);
}

/** What is wrong with a pattern, or null. Patterns: v("x"), P.op(...args), any(...args). */
function patternProblem(p: Pattern, path = "pattern"): string | null {
  if (typeof p !== "object" || p === null) return `${path} is ${p === null ? "null" : typeof p}, not a pattern (use v("x"), P.op(...) or any(...))`;
  if ("var" in p) return typeof p.var === "string" && p.var.length > 0 && p.var !== "root" ? null : `${path}: a variable needs a name other than "root", got ${JSON.stringify(p.var)}`;
  if (!("op" in p) || typeof p.op !== "string" || !Array.isArray(p.args)) return `${path} is not a pattern (use v("x"), P.op(...) or any(...))`;
  if (p.op !== "*" && !hasOp(p.op)) return `${path} names op "${p.op}", which is not registered`;
  for (let i = 0; i < p.args.length; i++) {
    const inner = patternProblem(p.args[i], `${path}.args[${i}]`);
    if (inner) return inner;
  }
  return null;
}
