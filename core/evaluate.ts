// The interpreter: node by node with the reference kernels. This is gradc's "naive" execution
// and the semantic reference that every compiled form is tested against.

import { GradcError } from "./errors.js";
import type { Graph } from "./graph.js";
import { numbering, printNode } from "./graph.js";
import type { Node } from "./node.js";
import { bindSymbols, graphSymbols, specialize } from "./symbolic.js";
import { sameShape, shapeStr, Tensor, tensor } from "./tensor.js";

export type InputValue = Tensor | number | readonly unknown[] | Float64Array | Float32Array;

/** Check and convert user inputs against a graph's input nodes: names, shapes, dtypes. */
export function bindInputs(g: Graph, inputs: Readonly<Record<string, InputValue>>, who = "evaluate"): Map<Node, Tensor> {
  const values = new Map<Node, Tensor>();
  const expected = g.inputNames;
  const extra = Object.keys(inputs).filter((k) => !expected.includes(k));
  if (extra.length) throw new GradcError(`${who}: unexpected input(s) ${extra.map((k) => `"${k}"`).join(", ")}: the graph takes ${expected.join(", ")}`);
  for (const x of g.inputs) {
    const v = Object.hasOwn(inputs, x.name) ? inputs[x.name] : undefined; // an input named "constructor" is not Object's
    if (v === undefined) throw new GradcError(`${who}: missing input "${x.name}" (${x.dtype}${shapeStr(x.shape)}): the graph takes ${expected.join(", ")}`);
    const t = v instanceof Tensor ? v : toTensor(v, x, who);
    if (!sameShape(t.shape, x.shape)) throw new GradcError(`${who}: input "${x.name}" has shape ${shapeStr(t.shape)}, the graph expects ${x.dtype}${shapeStr(x.shape)}`);
    if (t.dtype !== x.dtype) throw new GradcError(`${who}: input "${x.name}" is ${t.dtype}, the graph expects ${x.dtype}${shapeStr(x.shape)}`);
    values.set(x, t);
  }
  return values;
}

function toTensor(v: InputValue, x: Node, who: string): Tensor {
  try {
    if (typeof v === "number") return tensor(v, x.shape.length === 0 ? [] : undefined, x.dtype);
    if (v instanceof Float64Array || v instanceof Float32Array) {
      return v.length === x.size ? tensor(v, x.shape) : tensor(v);
    }
    return tensor(v as never, undefined, x.dtype);
  } catch (e) {
    // a ragged or non-numeric array: say which input, and what the graph expects
    if (!(e instanceof GradcError)) throw e;
    throw new GradcError(`${who}: input "${x.name}" (the graph expects ${x.dtype}${shapeStr(x.shape)}): ${e.message}`);
  }
}

/**
 * Run a graph with the reference kernels.
 *
 *   const g = trace({ x: [2, 3] }, ({ x }) => x.sum(0));
 *   evaluate(g, { x: tensor([[1, 2, 3], [4, 5, 6]]) }).out   // f64[3] [5,7,9]
 */
export function evaluate(g: Graph, inputs: Readonly<Record<string, InputValue>>): Record<string, Tensor> {
  // symbolic sizes (trace({ x: ["N", 3] })): bound from the inputs, run at those sizes
  if (graphSymbols(g).length) return evaluate(specialize(g, bindSymbols(g, inputs)), inputs);
  const values = bindInputs(g, inputs);
  for (const n of g.nodes()) {
    if (values.has(n)) continue;
    const args = n.inputs.map((x) => values.get(x)!);
    let out: Tensor;
    try {
      out = n.def.impl(args, n.attrs, n);
    } catch (e) {
      if (e instanceof GradcError) throw e;
      throw new GradcError(`evaluate: ${n.op} failed: ${(e as Error).message}\n  at ${printNode(n, numbering(g))}`);
    }
    values.set(n, out);
  }
  return Object.fromEntries(Object.entries(g.outputs).map(([k, v]) => [k, values.get(v)!]));
}
