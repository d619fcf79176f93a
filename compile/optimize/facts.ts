// What the optimizer knows about values: signs (for cancelling x/x) and, for a backward graph from
// `vjp`, how the forward defined each residual input.

import type { Graph } from "../../core/graph.js";
import { toposort } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import type { Context } from "./rules/rule.js";
import { Rewriter, type Limits } from "./rewrite.js";
import { ruleTables } from "./rules/index.js";
import { forwardValues } from "./forward-values.js";
import { sharedValues } from "./contraction.js";

const NO_LIMITS: Limits = { maxIterations: 100_000, maxNodes: 1_000_000, timeLimitMs: 10_000 };

/** A strict upper bound of a bounded function's values over the reals (sigmoid, tanh, tanh^2 < 1), else Infinity. */
function upperBound(n: Node): number {
  if (n.op === "sigmoid" || n.op === "tanh") return 1;
  if (n.op === "square" && n.inputs[0].op === "tanh") return 1;
  if (n.op === "broadcastTo" || n.op === "reshape" || n.op === "transpose") return upperBound(n.inputs[0]);
  return Number.POSITIVE_INFINITY;
}

/** A strict lower bound of a bounded function's values over the reals (tanh > -1, sigmoid > 0), else -Infinity. */
function lowerBound(n: Node): number {
  if (n.op === "tanh") return -1;
  if (n.op === "sigmoid") return 0;
  if (n.op === "broadcastTo" || n.op === "reshape" || n.op === "transpose") return lowerBound(n.inputs[0]);
  return Number.NEGATIVE_INFINITY;
}

// Ops by what their sign follows from (each set read with the node's inputs a, c).
const NONNEG_ALWAYS = new Set(["square", "sqrt", "exp"]);
const NONNEG_IF_BOTH = new Set(["add", "mul", "div", "maximum"]);
const NONNEG_IF_FIRST = new Set(["recip", "sum", "broadcastTo", "reshape", "transpose", "rsqrt"]);
const POSITIVE_ALWAYS = new Set(["exp", "sigmoid", "dim"]); // dim: a symbolic size is bound to a positive integer
const POSITIVE_IF_BOTH = new Set(["mul", "div"]);
const POSITIVE_IF_FIRST = new Set(["sqrt", "rsqrt", "recip", "broadcastTo", "reshape", "transpose", "sum"]);

/** Sign facts, x >= 0 and x > 0, read off the ops and the backward's residual definitions (memoized per node). */
function signFacts(factOf: (x: Node) => Node | undefined) {
  const pos = new Map<Node, boolean>();
  const nonneg = new Map<Node, boolean>();

  function isNonneg(n: Node): boolean {
    const hit = nonneg.get(n);
    if (hit !== undefined) return hit;
    nonneg.set(n, false); // cycles cannot happen, but recursion through facts is guarded anyway
    const [a, c] = n.inputs;
    const fact = n.op === "input" ? factOf(n) : undefined;
    const r =
      (n.op === "const" && n.value >= 0) ||
      (fact !== undefined && isNonneg(fact)) ||
      NONNEG_ALWAYS.has(n.op) ||
      (NONNEG_IF_BOTH.has(n.op) && isNonneg(a) && isNonneg(c)) ||
      (NONNEG_IF_FIRST.has(n.op) && isNonneg(a));
    nonneg.set(n, r);
    return r || isPositive(n);
  }

  function isPositive(n: Node): boolean {
    const hit = pos.get(n);
    if (hit !== undefined) return hit;
    pos.set(n, false);
    const [a, c] = n.inputs;
    const fact = n.op === "input" ? factOf(n) : undefined;
    const r =
      (n.op === "const" && n.value > 0) ||
      (fact !== undefined && isPositive(fact)) ||
      POSITIVE_ALWAYS.has(n.op) ||
      // a complement of a bounded function: 1 - sigmoid(x), 1 - tanh(x)^2, 1 + tanh(x) (each > 0 for real x)
      (n.op === "sub" && a.isConst && a.value >= upperBound(c)) ||
      (n.op === "add" && positiveSum(a, c)) ||
      (POSITIVE_IF_BOTH.has(n.op) && isPositive(a) && isPositive(c)) ||
      (POSITIVE_IF_FIRST.has(n.op) && isPositive(a));
    pos.set(n, r);
    return r;
  }

  const positiveSum = (a: Node, c: Node) =>
    (isPositive(a) && isNonneg(c)) || (isNonneg(a) && isPositive(c)) || (a.isConst && a.value >= -lowerBound(c)) || (c.isConst && c.value >= -lowerBound(a));

  return { isNonneg, isPositive };
}

export function analysis(g: Graph, limits: Limits = NO_LIMITS): Context {
  const facts = new Map(Object.entries(g.facts).map(([name, def]) => [name, def]));
  const inputs = new Set(g.inputs);
  const factOf = (x: Node) => (x.isInput && inputs.has(x) ? facts.get(x.name) : undefined);
  const { isPositive } = signFacts(factOf);

  let forwardRewriter: Rewriter | undefined;
  const ctx: Context = {
    memo: new Map(),
    positive: isPositive,
    nonzero: (n) => (n.isConst ? n.value !== 0 : isPositive(n)),
    factOf,
    available: (n) => toposort([n]).every((m) => m.inputs.length > 0 || m.isConst || inputs.has(m) || m.op === "iota" || m.op === "dim"),
    simplify(n: Node) {
      // forward definitions live in a world without the backward's facts; one rewriter for the
      // whole pass, so the forward's nodes are normalized once however often they are asked about
      const inner = { ...ctx, memo: new Map(), factOf: () => undefined, residualFor: () => undefined, shared: () => false } as Context;
      forwardRewriter ??= new Rewriter(ruleTables, inner, limits);
      return forwardRewriter.normalize(n);
    },
  };
  ctx.residualFor = forwardValues(g, (n) => ctx.simplify(n));
  ctx.shared = sharedValues(g);
  return ctx;
}
