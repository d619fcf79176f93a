// Rules as data: a name, a pattern written with the builder's op names, an optional guard and a
// replacement built with builder ops. Patterns match structurally (commutative ops both ways).

// One `rule` for gradc's tables and users' defineRule: the same record, checked the same way where
// it is made (kebab-case name, a pattern over ops the registry knows, functions where functions
// belong). gradc's own tables must also carry a law and a group; spec/rule-laws.test.ts holds them to it.

import "../../../ops/index.js"; // patterns name registered ops, so the builtins are registered before any table is built
import { GradcError } from "../../../core/errors.js";
import type { Node } from "../../../core/node.js";
import { allOps, hasOp, lookup } from "../../../core/registry.js";
import type { Facts } from "../monomial-form.js";

export type Pattern = { var: string } | { op: string; args: Pattern[]; as?: string };
export type Match = Record<string, Node> & { root: Node };

export interface Context extends Facts {
  /** True when the value is known to be > 0 (sqrt(v + eps), exp(x), ...). */
  positive(n: Node): boolean;
  /** Per-pass memo for the canonical form. */
  memo: Map<Node, import("../monomial-form.js").Term[]>;
  /** Try to simplify `n` with the same rules in a context without the graph's facts. */
  simplify(n: Node): Node;
  /** A forward definition of a residual input, if the graph carries one. */
  factOf(input: Node): Node | undefined;
  /** True when `n` can be computed from the graph's inputs alone. */
  available(n: Node): boolean;
  /** The residual input whose forward definition `n` recomputes (compile/optimize/forward-values.ts). */
  residualFor?(n: Node): Node | undefined;
  /** True when the graph computes `n` for more than one consumer (so it is at hand anyway). */
  shared?(n: Node): boolean;
}

/**
 * What kind of algebra a rule does, so a derivation can be read in chapters:
 *   linearity   reductions split over terms and pull out constant factors
 *   factoring   like terms and like factors collected (x - x = 0, x * y / y = x)
 *   facts       what the forward pass proved about a residual (sum(x - mean(x)) = 0)
 *   layout      broadcasts, reshapes and views moved or merged (small values computed small)
 *   identities  constant folding and single-op identities
 *   user        rules added with defineRule that name no group
 */
export type RuleGroup = "linearity" | "factoring" | "facts" | "layout" | "identities" | "user";

export const ruleGroups: Readonly<Record<RuleGroup, string>> = Object.freeze({
  linearity: "linearity of sums",
  factoring: "collecting like terms and factors",
  facts: "cancellation through the forward's facts",
  layout: "layout and broadcasts",
  identities: "constants and identities",
  user: "user rules",
});

export const isRuleGroup = (g: unknown): g is RuleGroup => typeof g === "string" && Object.hasOwn(ruleGroups, g);

export interface Rule {
  readonly name: string;
  /** The law it applies, in the builder's vocabulary: "sum(a * bcast(c)) = c * sum(a)". */
  readonly law: string;
  readonly group: RuleGroup;
  readonly pattern: Pattern;
  readonly guard?: (m: Match, ctx: Context) => boolean;
  /** The replacement, or null to decline. */
  readonly rewrite: (m: Match, ctx: Context) => Node | null;
  /** Rules that assume finite values (x - x = 0, x * 0 = 0) say so. */
  readonly assumesFinite?: boolean;
  /**
   * Rules whose replacement can cancel catastrophically (a centred sum expanded into a difference
   * of large sums): the engine keeps such a replacement only when it removes a reduction outright
   * (sum(out * (dout - s)) = s - s = 0 when sum(out) = 1), never for depth alone.
   */
  readonly cancellationHazard?: boolean;
  /** Where it was defined, for messages and the viewer. */
  readonly source?: string;
}

/** A pattern variable. */
export const v = (name: string): Pattern => ({ var: name });

/**
 * Pattern builders named like the builder's ops: P.sum(P.add(a, c)). Only registered ops (gradc's
 * and those added with defineOp) have one: a misspelt name is an error naming it.
 */
export const P = new Proxy({} as Record<string, (...args: Pattern[]) => Pattern>, {
  get: (_t, op) => {
    if (typeof op !== "string") return undefined;
    if (!hasOp(op))
      throw new GradcError(
        `P.${op}: no op named "${op}" is registered${nearestOp(op)}; a pattern names ops as the builder does (P.exp, P.broadcastTo) or a user op after defineOp`,
      );
    return (...args: Pattern[]) => ({ op, args });
  },
  has: (_t, op) => typeof op === "string" && hasOp(op),
});

/** ", did you mean "exp"?" for the registered op nearest to a misspelt name (edit distance <= 2), else "". */
function nearestOp(name: string): string {
  let best = "",
    bestD = 3;
  for (const { name: n } of allOps()) {
    const d = editDistance(name.toLowerCase(), n.toLowerCase());
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best ? ` (did you mean "${best}"?)` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** Any node, with its inputs matched by `args`: any(x) matches every unary node. */
export const any = (...args: Pattern[]): Pattern => ({ op: "*", args });

export interface RuleOptions {
  /** The law as text, shown by the viewer: "sum(a + b) = sum(a) + sum(b)" (gradc's own rules all give one; without it, the pattern is shown). */
  law?: string;
  /** Which chapter of a derivation it belongs to (default "user"). */
  group?: RuleGroup;
  guard?: Rule["guard"];
  assumesFinite?: boolean;
  cancellationHazard?: boolean;
}

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Make a rule: a kebab-case name, a pattern (v, P.op, any), the replacement built with builder ops
 * from the matched nodes (or null to decline), and options: its law, a group, a guard. A rule that
 * holds only for finite values says so.
 *
 *   const x = v("x");
 *   rule("log-of-exp", P.log(P.exp(x)), ({ x }) => x, { law: "log(exp(x)) = x", assumesFinite: true })
 */
export function rule(name: string, pattern: Pattern, rewrite: Rule["rewrite"], opts: RuleOptions = {}): Rule {
  if (typeof name !== "string" || !KEBAB.test(name)) throw new GradcError(`rule: the name must be kebab-case (log-of-exp), got ${JSON.stringify(name)}`);
  if (opts.law !== undefined && (typeof opts.law !== "string" || !opts.law.trim()))
    throw new GradcError(`rule(${name}): law must be text such as "log(exp(x)) = x", got ${JSON.stringify(opts.law)}`);
  const problem = patternProblem(pattern);
  if (problem) throw new GradcError(`rule(${name}): bad pattern: ${problem}`);
  const law = opts.law ?? `${patternText(pattern)} = (rewritten by ${name})`;
  const source = new Error().stack
    ?.split("\n")[2]
    ?.trim()
    .replace(/^at\s+/, "");
  const r: Rule = {
    name,
    law,
    group: opts.group ?? "user",
    pattern,
    rewrite,
    guard: opts.guard,
    assumesFinite: opts.assumesFinite,
    cancellationHazard: opts.cancellationHazard,
    source,
  };
  validateRule(r, "rule");
  return Object.freeze(r);
}

/** Check a rule record wherever one enters (rule, defineRule, checkRule): a GradcError saying what is wrong. */
export function validateRule(r: Rule, caller = "defineRule"): void {
  if (typeof r !== "object" || r === null)
    throw new GradcError(`${caller}: expects a rule (from rule(name, pattern, rewrite)), got ${r === null ? "null" : typeof r}`);
  if (typeof r.name !== "string" || !KEBAB.test(r.name))
    throw new GradcError(`${caller}: the name must be kebab-case (log-of-exp), got ${JSON.stringify(r.name)}`);
  const who = `${caller}(${r.name})`;
  if (typeof r.rewrite !== "function") throw new GradcError(`${who}: rewrite must be a function (match, ctx) => node | null, got ${typeof r.rewrite}`);
  if (r.guard !== undefined && typeof r.guard !== "function")
    throw new GradcError(`${who}: guard must be a function (match, ctx) => boolean, got ${typeof r.guard}`);
  if (typeof r.law !== "string" || !r.law.trim())
    throw new GradcError(`${who}: law must be text such as "log(exp(x)) = x" (build rules with rule(...)), got ${JSON.stringify(r.law)}`);
  if (!isRuleGroup(r.group)) throw new GradcError(`${who}: group must be one of ${Object.keys(ruleGroups).join(", ")}, got ${JSON.stringify(r.group)}`);
  const problem = patternProblem(r.pattern);
  if (problem) throw new GradcError(`${who}: bad pattern: ${problem}`);
}

/** What is wrong with a pattern, or null. Patterns: v("x"), P.op(...args), any(...args). */
function patternProblem(p: Pattern, path = "pattern"): string | null {
  if (typeof p !== "object" || p === null) return `${path} is ${p === null ? "null" : typeof p}, not a pattern (use v("x"), P.op(...) or any(...))`;
  if ("var" in p)
    return typeof p.var === "string" && p.var.length > 0 && p.var !== "root"
      ? null
      : `${path}: a variable needs a name other than "root", got ${JSON.stringify(p.var)}`;
  if (!("op" in p) || typeof p.op !== "string" || !Array.isArray(p.args)) return `${path} is not a pattern (use v("x"), P.op(...) or any(...))`;
  if (p.op !== "*" && !hasOp(p.op)) return `${path} names op "${p.op}", which is not registered`;
  for (let i = 0; i < p.args.length; i++) {
    const inner = patternProblem(p.args[i], `${path}.args[${i}]`);
    if (inner) return inner;
  }
  return null;
}

/** A pattern as text in the builder's vocabulary: sum(mul(a, broadcastTo(c))); any node is "f". */
export function patternText(p: Pattern): string {
  if ("var" in p) return p.var;
  const op = p.op === "*" ? "f" : p.op;
  return `${op}(${p.args.map(patternText).join(", ")})`;
}

export function match(p: Pattern, n: Node, into: Record<string, Node> = {}): Record<string, Node> | null {
  if ("var" in p) {
    const bound = into[p.var];
    if (bound && bound !== n) return null;
    return { ...into, [p.var]: n };
  }
  if ((p.op !== "*" && p.op !== n.op) || p.args.length > n.inputs.length) return null;
  if (p.as) into = { ...into, [p.as]: n };
  if (p.args.length === 0) return into;
  const tryOrder = (order: number[]) => {
    let acc: Record<string, Node> | null = into;
    for (let i = 0; i < order.length && acc; i++) acc = match(p.args[i], n.inputs[order[i]], acc);
    return acc;
  };
  const direct = tryOrder(p.args.map((_, i) => i));
  if (direct || p.args.length !== 2 || n.inputs.length !== 2 || !lookup(n.op).tags?.includes("commutative")) return direct;
  return tryOrder([1, 0]);
}
