// valueAndGrad and jit over parameter trees: a JavaScript function of trees of nodes is traced
// once per input signature (every leaf's path, shape and dtype), differentiated as a graph,
// optimized and compiled, and the executable cached; later calls only run it.

import { GradcError } from "../core/errors.js";
import type { Graph } from "../core/graph.js";
import { Node } from "../core/node.js";
import { allocate, shapeStr, Tensor, type DType } from "../core/tensor.js";
import { trace, type InputSpec } from "../core/trace.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile, type CompileOptions, type Executable } from "../compile/codegen/compile.js";
import { flatten, unflatten, type Flat, type Tree } from "./tree.js";

/** What a traced function receives: trees of nodes shaped as the parameters and inputs handed in. */
export type NodeTree = Tree<Node>;
/** An input leaf: a tensor, or labels as an integer array (turned into a tensor of the parameters' dtype). */
export type InputLeaf = Tensor | Int32Array | Uint8Array | readonly number[];
export type InputTree = InputLeaf | { readonly [key: string]: InputTree };

export interface ValueAndGradOptions extends CompileOptions {
  /** The parameter paths to differentiate ("layer1.W"); default every leaf of the parameter tree. */
  wrt?: readonly string[];
  /** Optimize the graph before compiling it (default true). */
  optimize?: boolean;
}

export interface ValueAndGrad {
  (params: Tree, inputs: InputTree): { loss: number; grads: Tree };
  /** The same with flat parameters and gradients (by path): what trainers use; `like` is the tree fn receives (default the flat record). */
  flat(params: Flat, inputs: InputTree, like?: Tree): { loss: number; grads: Flat; state: Flat };
  /** The differentiated (and optimized) graph for these arguments: outputs loss and d<path>. */
  graph(params: Tree, inputs: InputTree): Graph;
}

const isInputLeaf = (x: unknown): boolean =>
  x instanceof Tensor || x instanceof Int32Array || x instanceof Uint8Array || (Array.isArray(x) && x.every((v) => typeof v === "number"));

/**
 * The loss and its gradient with respect to the parameters, as JAX's value_and_grad: `fn(params,
 * inputs)` builds a scalar loss from trees of nodes.
 *
 *   const step = valueAndGrad((p, { X, y }) => ops.softmaxCrossEntropy(ops.affine(X, p.W, p.b), y));
 *   const { loss, grads } = step({ W, b }, { X, y });     // grads: { W, b }
 */
export function valueAndGrad(fn: (params: NodeTree, inputs: NodeTree) => Node | WithState, opts: ValueAndGradOptions = {}): ValueAndGrad {
  const { wrt, optimize: opt = true, ...compileOptions } = opts;
  const cache = new Map<string, { exe: Executable; graph: Graph; wrt: string[] }>();
  const prepared = (pflat: Flat, itree: InputTree, ptree: Tree) => {
    const iflat = flattenInputs(itree, dtypeOf(pflat));
    const key = signature(pflat, iflat);
    let entry = cache.get(key);
    if (!entry) {
      const names = wrt ?? Object.keys(pflat);
      for (const w of names)
        if (!Object.hasOwn(pflat, w)) throw new GradcError(`valueAndGrad: wrt "${w}" is not a parameter: the parameters are ${Object.keys(pflat).join(", ")}`);
      const forward = traceTrees("valueAndGrad", fn, ptree, pflat, itree, iflat, true);
      const g = grad(forward, { of: "loss", wrt: names, withValue: true });
      const graph = opt ? optimize(g) : g;
      entry = { exe: compile(graph, compileOptions), graph, wrt: [...names] };
      cache.set(key, entry);
    }
    return { entry, feeds: { ...pflat, ...iflat } };
  };
  const flatCall = (pflat: Flat, inputs: InputTree, ptree: Tree = pflat) => {
    const { entry, feeds } = prepared(pflat, inputs, ptree);
    const out = entry.exe.run(feeds);
    const grads: Flat = {};
    for (const w of entry.wrt) grads[w] = out[`d${w}`];
    return { loss: out.loss.data[0], grads, state: stateOf(out) };
  };
  const call = ((params: Tree, inputs: InputTree) => {
    const { loss, grads } = flatCall(flatten(params), inputs, params);
    return { loss, grads: wrt ? grads : unflatten(params, grads) };
  }) as ValueAndGrad;
  call.flat = (params, inputs, like) => flatCall(params, inputs, like);
  call.graph = (params, inputs) => prepared(flatten(params), inputs, params).entry.graph;
  return call;
}

export interface Jitted {
  (params: Tree, inputs: InputTree): Tensor;
  flat(params: Flat, inputs: InputTree, like?: Tree): Tensor;
}

/**
 * A forward function of trees, traced, optimized and compiled once per input signature: for
 * predictions.
 *
 *   const predict = jit((p, { X }) => ops.affine(X, p.W, p.b));
 *   predict({ W, b }, { X })   // scores
 */
export function jit(fn: (params: NodeTree, inputs: NodeTree) => Node, opts: CompileOptions & { optimize?: boolean } = {}): Jitted {
  const { optimize: opt = true, ...compileOptions } = opts;
  const cache = new Map<string, Executable>();
  const flatCall = (pflat: Flat, itree: InputTree, ptree: Tree = pflat): Tensor => {
    const iflat = flattenInputs(itree, dtypeOf(pflat));
    const key = signature(pflat, iflat);
    let exe = cache.get(key);
    if (!exe) {
      const g = traceTrees("jit", fn, ptree, pflat, itree, iflat, false);
      exe = compile(opt ? optimize(g) : g, compileOptions);
      cache.set(key, exe);
    }
    return exe.run({ ...pflat, ...iflat }).out;
  };
  const call = ((params: Tree, inputs: InputTree) => flatCall(flatten(params), inputs, params)) as Jitted;
  call.flat = (params, inputs, like) => flatCall(params, inputs, like);
  return call;
}

/** Trace fn over the trees; the output is "loss" (a scalar) or "out". Errors name the parameters' shapes. */
export function traceTrees(
  where: string,
  fn: (p: NodeTree, i: NodeTree) => Node | WithState,
  ptree: Tree,
  pflat: Flat,
  itree: InputTree,
  iflat: Flat,
  scalar: boolean,
): Graph {
  for (const k of Object.keys(iflat)) {
    if (Object.hasOwn(pflat, k)) throw new GradcError(`${where}: "${k}" names both a parameter and an input: rename one`);
  }
  const specs: Record<string, InputSpec> = {};
  for (const [k, t] of Object.entries({ ...pflat, ...iflat })) specs[k] = { shape: t.shape, dtype: t.dtype };
  const describe = () =>
    Object.entries(pflat)
      .map(([k, t]) => `${k} ${t.dtype}${shapeStr(t.shape)}`)
      .join(", ");
  try {
    return trace(specs, (xs): Record<string, Node> => {
      const result: Node | WithState = fn(unflatten(ptree, xs) as NodeTree, unflatten(itree, xs, (x) => x, isInputLeaf) as NodeTree);
      const { out, state } = splitState(where, result);
      if (scalar && out.size !== 1) throw new GradcError(`${where}: the loss must be a scalar, got ${out}`);
      const outputs: Record<string, Node> = scalar ? { loss: out.rank === 0 ? out : out.reshape([]) } : { out };
      for (const [k, n] of Object.entries(state)) outputs[`state.${k}`] = n;
      return outputs;
    });
  } catch (e) {
    if (!(e instanceof GradcError)) throw e;
    throw new GradcError(
      `${where}: tracing the model failed with parameters ${describe()} and inputs ${Object.entries(iflat)
        .map(([k, t]) => `${k} ${t.dtype}${shapeStr(t.shape)}`)
        .join(", ")}:\n${e.message}`,
    );
  }
}

/**
 * What a function of trees may return besides a node: the node and the next value of a state tree
 * (batchnorm's running averages), as flax's mutable collections. The state's leaves become
 * outputs `state.<path>`; they are not differentiated.
 */
export interface WithState {
  loss: Node;
  state: NodeTree;
}

function splitState(where: string, result: unknown): { out: Node; state: Flat<Node> } {
  if (result instanceof Node) return { out: result, state: {} };
  const r = result as Partial<WithState> | null;
  if (typeof r === "object" && r !== null && r.loss instanceof Node && r.state !== undefined) {
    return { out: r.loss, state: flatten<Node>(r.state as Tree<Node>, (x) => x instanceof Node) };
  }
  throw new GradcError(`${where}: the function must return a node (or { loss, state }), got ${result === null ? "null" : typeof result}`);
}

/** The outputs `state.<path>` of a run, by path. */
export function stateOf(out: Record<string, Tensor>): Flat {
  const state: Flat = {};
  for (const [k, t] of Object.entries(out)) if (k.startsWith("state.")) state[k.slice(6)] = t;
  return state;
}

export function signature(pflat: Flat, iflat: Flat): string {
  const part = (f: Flat) =>
    Object.entries(f)
      .map(([k, t]) => `${JSON.stringify(k)}:${t.dtype}${shapeStr(t.shape)}`)
      .join(",");
  return `${part(pflat)}|${part(iflat)}`;
}

export function dtypeOf(pflat: Flat): DType {
  const first = Object.values(pflat)[0];
  return first ? first.dtype : "f64";
}

/** The input tree's leaves as tensors: integer arrays become tensors of the parameters' dtype. */
export function flattenInputs(itree: InputTree, dtype: DType): Flat {
  const raw = flatten<InputLeaf>(itree as Tree<InputLeaf>, isInputLeaf);
  const out: Flat = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v instanceof Tensor) {
      out[k] = v;
      continue;
    }
    const data = allocate(v.length, dtype);
    for (let i = 0; i < v.length; i++) data[i] = v[i];
    out[k] = new Tensor(data, [v.length]);
  }
  return out;
}
