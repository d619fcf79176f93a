// Rules as data: a name, a pattern written with the builder's op names, an optional guard and a
// replacement built with builder ops. Patterns match structurally (commutative ops both ways).

import { GradcError } from "../../../core/errors.js";
import type { Node } from "../../../core/node.js";
import { lookup } from "../../../core/registry.js";
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

/** Pattern builders named like the builder's ops: P.sum(P.add(a, c)). */
export const P = new Proxy({} as Record<string, (...args: Pattern[]) => Pattern>, {
  get: (_t, op: string) => (...args: Pattern[]) => ({ op, args }),
});

/** Any node, with its inputs matched by `args`: any(x) matches every unary node. */
export const any = (...args: Pattern[]): Pattern => ({ op: "*", args });

export interface RuleOptions {
  /** The law as text (required for gradc's own rules): "sum(a + b) = sum(a) + sum(b)". */
  law: string;
  group: RuleGroup;
  guard?: Rule["guard"];
  assumesFinite?: boolean;
  cancellationHazard?: boolean;
}

export function rule(name: string, pattern: Pattern, rewrite: Rule["rewrite"], opts: RuleOptions): Rule {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) throw new GradcError(`rule: name "${name}" must be kebab-case (like "log-of-exp")`);
  if (typeof opts?.law !== "string" || !opts.law.trim()) throw new GradcError(`rule(${name}): needs its law as text, e.g. { law: "log(exp(x)) = x" }`);
  if (!isRuleGroup(opts.group)) throw new GradcError(`rule(${name}): group must be one of ${Object.keys(ruleGroups).join(", ")}, got ${JSON.stringify(opts.group)}`);
  const source = new Error().stack?.split("\n")[2]?.trim().replace(/^at\s+/, "");
  return Object.freeze({ name, law: opts.law, group: opts.group, pattern, rewrite, guard: opts.guard, assumesFinite: opts.assumesFinite, cancellationHazard: opts.cancellationHazard, source });
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
