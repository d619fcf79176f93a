// defineRule: a user's rewrite rule, in the same form as gradc's own tables (compile/optimize/rules/), added
// to the `user` table, which the engine tries after the builtin ones. Checked when added: a
// kebab-case name no other rule has, a well-formed pattern over registered ops, functions where
// functions belong. `checkRule` (compile/check/rule.ts) checks that it is sound.

import { GradcError } from "../../core/errors.js";
import { refreshRules, tables, validateRule, type Rule } from "./rules/index.js";

export { rule, validateRule } from "./rules/index.js";

/**
 * Add a rewrite rule to the optimizer. Build it with `rule(name, pattern, rewrite, { guard })`.
 *
 *   const x = v("x");
 *   defineRule(rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { assumesFinite: true }));
 */
export function defineRule(r: Rule): Rule {
  validateRule(r);
  const taken = Object.entries(tables).find(([, t]) => t.some((q) => q.name === r.name));
  if (taken)
    throw new GradcError(`defineRule: a rule named "${r.name}" already exists (in the ${taken[0]} table)${taken[0] === "user" ? "; removeRule it first" : ""}`);
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

/** The rules added with defineRule, in the order the engine tries them. */
export const userRules = (): readonly Rule[] => [...tables.user];
