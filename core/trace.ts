// trace: call a function with symbolic inputs and record what it computes as a Graph.

import { GradcError } from "./errors.js";
import { Graph } from "./graph.js";
import { input, withDefaultDtype } from "./builder.js";
import { Node } from "./node.js";
import { checkShape, type DType, type Shape } from "./tensor.js";
import { concreteSize, symbolicSize } from "./symbolic.js";

/** A shape may name a symbolic size: ["N", 3] (see core/symbolic.ts). */
export type Dim = number | string;
export type InputSpec = readonly Dim[] | { shape: readonly Dim[]; dtype?: DType };
export type Outputs = Node | Record<string, Node>;

/**
 * Record a computation. Each entry of `inputs` names an input and gives its shape (and dtype);
 * `fn` receives symbolic tensors and returns one node (named "out") or named nodes.
 *
 *   const g = trace({ x: [4, 5] }, ({ x }) => x.sub(x.mean(0)).square().mean(0));
 *   const h = trace({ x: ["N", 5] }, ...)   // N symbolic: evaluate and compile bind it from x
 */
export function trace<K extends string>(inputs: Record<K, InputSpec>, fn: (xs: Record<K, Node>) => Outputs, opts: { dtype?: DType } = {}): Graph {
  const nodes = {} as Record<K, Node>;
  for (const [name, spec] of Object.entries(inputs) as [K, InputSpec][]) {
    const dims = Array.isArray(spec) ? (spec as readonly Dim[]) : (spec as { shape: readonly Dim[] }).shape;
    if (!Array.isArray(dims)) throw new GradcError(`trace: input "${name}" needs a shape (an array of sizes), got ${JSON.stringify(spec)}`);
    const shape: Shape = dims.map((d) => (typeof d === "string" ? symbolicSize(d, `trace: input "${name}"`) : concreteSize(d, `trace: input "${name}"`)));
    checkShape(shape, `trace: input "${name}"`);
    const dtype = (!Array.isArray(spec) && (spec as { dtype?: DType }).dtype) || opts.dtype || "f64";
    nodes[name] = input(name, shape, dtype);
  }
  // literals, constants and iota without a dtype take the trace's (its inputs' when all agree)
  const dtypes = new Set(Object.values<Node>(nodes).map((x) => x.dtype));
  const dtype = opts.dtype ?? (dtypes.size === 1 ? [...dtypes][0] : "f64");
  const result = withDefaultDtype(dtype, () => fn(nodes));
  const outputs = result instanceof Node ? { out: result } : result;
  if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs) || Object.keys(outputs).length === 0) {
    throw new GradcError(
      `trace: the function must return a node or a record of named nodes, got ${Array.isArray(outputs) ? "an array" : (JSON.stringify(outputs) ?? typeof outputs)}`,
    );
  }
  for (const [k, v] of Object.entries(outputs)) {
    if (!(v instanceof Node)) throw new GradcError(`trace: output "${k}" is not a graph node (got ${typeof v}); return nodes built from the inputs`);
  }
  return new Graph(Object.values(nodes), outputs);
}
