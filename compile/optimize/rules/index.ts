// The rule tables, in the order the engine tries them.

import type { Rule } from "./rule.js";
import { algebra } from "./algebra.js";
import { broadcast } from "./broadcast.js";
import { contraction } from "./contraction.js";
import { facts } from "./facts.js";
import { linearity } from "./linearity.js";

export { algebra, broadcast, contraction, facts, linearity };
export {
  rule,
  validateRule,
  P,
  v,
  any,
  match,
  patternText,
  ruleGroups,
  isRuleGroup,
  type Rule,
  type RuleGroup,
  type RuleOptions,
  type Pattern,
  type Match,
  type Context,
} from "./rule.js";

/** Every table, grouped by purpose; user rules (defineRule) are appended. */
export const tables: Record<string, Rule[]> = { broadcast, linearity, facts, contraction, algebra, user: [] };

export const ruleTables: Rule[] = [];
export function refreshRules(): void {
  ruleTables.length = 0;
  for (const t of Object.values(tables)) ruleTables.push(...t);
}
refreshRules();
