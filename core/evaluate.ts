// The interpreter: node by node with the reference kernels. This is gradc's "naive" execution
// and the semantic reference that every compiled form is tested against.

import { GradcError } from "./errors.js";
import { checkGraph, checkRecord, plainRecord } from "./args.js";
import type { Graph } from "./graph.js";
import { numbering, printNode } from "./graph.js";
import type { Node } from "./node.js";
import { bindSymbols, graphSymbols, specialize } from "./symbolic.js";
import { allocate, sameShape, shapeStr, staleTensor, Tensor, tensor } from "./tensor.js";

export type InputValue = Tensor | number | readonly unknown[] | Float64Array | Float32Array;

/** Check and convert user inputs against a graph's input nodes: names, shapes, dtypes. */
export function bindInputs(g: Graph, inputs: Readonly<Record<string, InputValue>>, who = "evaluate"): Map<Node, Tensor> {
  checkRecord(who, "inputs", inputs);
  const values = new Map<Node, Tensor>();
  const expected = g.inputNames;
  const extra = Object.keys(inputs).filter((k) => !expected.includes(k));
  if (extra.length) throw new GradcError(`${who}: unexpected input(s) ${extra.map((k) => `"${k}"`).join(", ")}: the graph takes ${expected.join(", ")}`);
  for (const x of g.inputs) {
    const v = Object.hasOwn(inputs, x.name) ? inputs[x.name] : undefined; // an input named "constructor" is not Object's
    if (v === undefined) throw new GradcError(`${who}: missing input "${x.name}" (${x.dtype}${shapeStr(x.shape)}): the graph takes ${expected.join(", ")}`);
    const t = v instanceof Tensor ? v : toTensor(v, x, who);
    const stale = staleTensor(t);
    if (stale) throw new GradcError(`${who}: input "${x.name}": ${stale}`);
    if (!sameShape(t.shape, x.shape))
      throw new GradcError(`${who}: input "${x.name}" has shape ${shapeStr(t.shape)}, the graph expects ${x.dtype}${shapeStr(x.shape)}`);
    if (t.dtype !== x.dtype) throw new GradcError(`${who}: input "${x.name}" is ${t.dtype}, the graph expects ${x.dtype}${shapeStr(x.shape)}`);
    values.set(x, t);
  }
  return values;
}

function toTensor(v: InputValue, x: Node, who: string): Tensor {
  try {
    if (typeof v === "number") return tensor(v, x.shape.length === 0 ? [] : undefined, x.dtype);
    if (v instanceof Float64Array || v instanceof Float32Array) {
      if (v.length === 0 && v.buffer.byteLength === 0 && x.size > 0) throw new GradcError(`its buffer was transferred or detached (it reads 0 values)`);
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
  checkGraph("evaluate", "the graph", g);
  // symbolic sizes (trace({ x: ["N", 3] })): bound from the inputs, run at those sizes
  if (graphSymbols(g).length) return evaluate(specialize(g, bindSymbols(g, inputs)), inputs);
  const values = bindInputs(g, inputs);
  for (const n of g.nodes()) {
    if (values.has(n)) continue;
    const args = n.inputs.map((x) => values.get(x)!);
    let out: Tensor;
    try {
      // an empty result needs no kernel (a product of [1e308,0] and [0,0] would loop over 1e308 rows)
      out = n.size === 0 ? new Tensor(allocate(0, n.dtype), n.shape) : n.def.impl(args, n.attrs, n);
    } catch (e) {
      // a GradcError from a kernel (an allocation too large, a user kernel's own check) gets the node
      if (e instanceof GradcError) throw e.message.includes("\n  at ") ? e : new GradcError(`${e.message}\n  at ${printNode(n, numbering(g))}`);
      throw new GradcError(`evaluate: ${n.op} failed: ${(e as Error).message}\n  at ${printNode(n, numbering(g))}`);
    }
    checkKernelResult("evaluate", n, out, g);
    values.set(n, out);
  }
  return plainRecord(Object.entries(g.outputs).map(([k, v]) => [k, values.get(v)!] as const));
}

/**
 * A kernel's result must be a tensor of the node's shape and dtype: a user kernel (defineOp's
 * impl) that is right at its probe shape may not be at others. Checked on every call: the check
 * is a few comparisons against a loop over the data.
 */
export function checkKernelResult(who: string, n: Node, out: unknown, g?: Graph): asserts out is Tensor {
  if (out instanceof Tensor && out.dtype === n.dtype && sameShape(out.shape, n.shape)) return;
  const got = out instanceof Tensor ? `${out.dtype}${shapeStr(out.shape)}` : out === null ? "null" : typeof out;
  const at = g ? printNode(n, numbering(g)) : `${n.op} ${n}`;
  throw new GradcError(
    `${who}: the kernel of op ${n.op}${n.def.source ? ` (defined at ${n.def.source})` : ""} returned ${got} where the node is ${n.dtype}${shapeStr(n.shape)}\n  at ${at}`,
  );
}
