// How a network's traced graphs are executed: the naive way (the autodiff graph as derived, run
// node by node by the interpreter) or the compiled way (optimized by algebra, then compiled to
// fused JavaScript kernels). The switch exists so the two can be timed and checked against
// each other on the same network.

import type { Graph } from "../core/graph.js";
import { evaluate, type InputValue } from "../core/evaluate.js";
import type { Tensor } from "../core/tensor.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile, type CompileOptions } from "../compile/codegen/compile.js";

export type Engine = "compiled" | "interpreted";

export interface Runner {
  run(inputs: Readonly<Record<string, InputValue>>): Record<string, Tensor>;
  /** The graph actually executed (after optimization, for the compiled engine). */
  graph: Graph;
  /** Milliseconds spent preparing it (optimize + compile). */
  prepareMs: number;
}

/**
 * Prepare a graph for repeated execution.
 *
 *   const r = makeRunner(grad(lossGraph, { withValue: true }), "compiled");
 *   r.run({ X, y, W1, b1 }).loss
 */
export function makeRunner(graph: Graph, engine: Engine, options: CompileOptions = {}): Runner {
  const t0 = performance.now();
  if (engine === "interpreted") {
    return { graph, prepareMs: 0, run: (inputs) => evaluate(graph, inputs) };
  }
  const optimized = optimize(graph);
  const compiled = compile(optimized, options);
  return { graph: optimized, prepareMs: performance.now() - t0, run: (inputs) => compiled.run(inputs) };
}
