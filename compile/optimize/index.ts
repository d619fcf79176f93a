// compile/optimize: the rewrite engine (rewrite.ts), the canonical form of sums and products
// (monomial-form.ts, rational.ts), what the forward proves (facts.ts), the cost model (cost.ts, stats.ts),
// residual reuse (reuse.ts), soundness checks (soundness.ts), the rule tables (rules/) and user
// rules (extend.ts). Every pass here is a pure function Graph -> Graph.
// May import: core/, ops/ and compile/autodiff/. Never codegen/: the optimizer does not know how
// its result will be run.

export { type OptimizedVjp } from "./pair.js";
export { optimize, defaultLimits, type OptimizeOptions, type OptimizeResult, type RewriteStep, type StopReason } from "./optimize.js";
export { stats, type GraphStats } from "./stats.js";
export { defineRule, removeRule, userRules, rule } from "./extend.js";
export { P, v, any, ruleGroups, type Rule, type RuleGroup, type Pattern, type Match, type Context } from "./rules/index.js";
