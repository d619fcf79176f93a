// Optimizing a vjp pair together: the backward is optimized first, then the forward is cut down to
// the residuals the optimized backward still reads (cut only: its outputs stay the values as traced). A softmax's derived backward reads the argmax
// mask equal(x, max) and its count; the optimized one does not, so the forward stops computing them.

import { Graph, toposort } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import type { Vjp } from "../autodiff/reverse.js";
import type { OptimizeResult } from "./optimize.js";

export interface OptimizedVjp extends Vjp {
  /** The backward optimizer's run (its rewrite steps when asked for with { trace: true }). */
  optimizer: OptimizeResult;
  /** Residuals the derived backward read that the optimized one no longer needs. */
  dropped: string[];
}

/** A vjp pair (what `vjp` returns), told apart from a Graph. */
export function isVjp(x: unknown): x is Vjp {
  return typeof x === "object" && x !== null && "forward" in x && "backward" in x && Array.isArray((x as Vjp).residuals);
}

/**
 * `run` optimizes one graph (optimize with the caller's options). The backward keeps its
 * cotangent input even when unused, so callers always pass it; every other input it no longer
 * reads is dropped, and the forward returns only the residuals that remain.
 */
export function optimizePair(v: Vjp, run: (g: Graph) => OptimizeResult): OptimizedVjp {
  const result = run(v.backward);
  const reads = new Set<Node>(toposort(Object.values(result.graph.outputs)).filter((n) => n.isInput));
  const residualSet = new Set(v.residuals);
  // the cotangent stays an input; every other input is a residual (or a forward output the
  // optimizer chose to read, such as attention's O), kept only where the backward reads it
  const ct = v.backward.inputs.find((x) => !residualSet.has(x.name))?.name;
  const keep = result.graph.inputs.filter((x) => x.name === ct || reads.has(x));
  const kept = keep.map((x) => x.name).filter((name) => name !== ct);
  const own = new Set(v.outputs);
  const dropped = v.residuals.filter((name) => !kept.includes(name) && !own.has(name));
  const facts = Object.fromEntries(Object.entries(result.graph.facts).filter(([k]) => kept.includes(k) || own.has(k)));
  const backward = new Graph(keep, { ...result.graph.outputs }, facts);

  // the forward: its own outputs plus the residuals kept
  const fwdOut: Record<string, Node> = {};
  for (const [k, n] of Object.entries(v.forward.outputs)) if (own.has(k) || kept.includes(k)) fwdOut[k] = n;
  // cut, not rewritten: the forward computes the user's values exactly as traced
  const forward = new Graph(v.forward.inputs, fwdOut);
  return { forward, backward, residuals: kept, outputs: v.outputs, dropped, optimizer: { ...result, graph: backward } };
}
