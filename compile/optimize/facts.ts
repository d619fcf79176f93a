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

export function analysis(g: Graph, limits: Limits = NO_LIMITS): Context {
  const facts = new Map(Object.entries(g.facts).map(([name, def]) => [name, def]));
  const inputs = new Set(g.inputs);
  const pos = new Map<Node, boolean>();
  const nonneg = new Map<Node, boolean>();

  const factOf = (x: Node) => (x.isInput && inputs.has(x) ? facts.get(x.name) : undefined);

  function isNonneg(n: Node): boolean {
    const hit = nonneg.get(n);
    if (hit !== undefined) return hit;
    nonneg.set(n, false); // cycles cannot happen, but recursion through facts is guarded anyway
    const [a, c] = n.inputs;
    let r: boolean;
    switch (n.op) {
      case "const": r = n.value >= 0; break;
      case "input": { const f = factOf(n); r = f ? isNonneg(f) : false; break; }
      case "square": case "sqrt": case "exp": r = true; break;
      case "add": case "mul": case "div": case "maximum": r = isNonneg(a) && isNonneg(c); break;
      case "recip": case "sum": case "broadcastTo": case "reshape": case "transpose": case "rsqrt": r = isNonneg(a); break;
      default: r = false;
    }
    nonneg.set(n, r);
    return r || isPositive(n);
  }

  function isPositive(n: Node): boolean {
    const hit = pos.get(n);
    if (hit !== undefined) return hit;
    pos.set(n, false);
    const [a, c] = n.inputs;
    let r: boolean;
    switch (n.op) {
      case "const": r = n.value > 0; break;
      case "input": { const f = factOf(n); r = f ? isPositive(f) : false; break; }
      case "exp": case "sigmoid": case "dim": r = true; break; // a symbolic size is bound to a positive integer
      // a complement of a bounded function: 1 - sigmoid(x), 1 - tanh(x)^2, 1 + tanh(x) (each > 0 for real x)
      case "sub": r = a.isConst && a.value >= upperBound(c); break;
      case "sqrt": case "rsqrt": case "recip": case "broadcastTo": case "reshape": case "transpose": case "sum": r = isPositive(a); break;
      case "add": r = (isPositive(a) && isNonneg(c)) || (isNonneg(a) && isPositive(c)) || (a.isConst && a.value >= -lowerBound(c)) || (c.isConst && c.value >= -lowerBound(a)); break;
      case "mul": case "div": r = isPositive(a) && isPositive(c); break;
      case "square": r = false; break;
      default: r = false;
    }
    pos.set(n, r);
    return r;
  }

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
