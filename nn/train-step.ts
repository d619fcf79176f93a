// A whole training step as one executable: the loss's forward, its derived backward and the
// optimizer's update (written with builder ops by each optimizer: nn/optimizers.ts) traced into
// one graph, optimized and compiled together, so the update's elementwise ops fuse with the
// stage that produces each gradient and no gradient is handed back to JavaScript. Parameters and
// optimizer state stay in the caller's arrays: each step reads them and writes their next values
// back over them, so a training loop allocates nothing per step but the executable's small
// result record.

import { GradcError } from "../core/errors.js";
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { Tensor, sameShape, shapeStr, type DType } from "../core/tensor.js";
import * as b from "../core/builder.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile, type CompileOptions, type Executable } from "../compile/codegen/compile.js";
import type { Optimizer, OptimizerState } from "./optimizers.js";
import { flatten, type Flat, type Tree } from "./tree.js";
import { dtypeOf, flattenInputs, signature, stateOf, traceTrees, type InputTree, type NodeTree, type WithState } from "./value-and-grad.js";

export interface TrainStepOptions extends CompileOptions {
  /** Optimize the whole step's graph before compiling it (default true). */
  optimize?: boolean;
}

export interface TrainStep {
  /** One step: returns the loss of the batch; params and the optimizer's state are updated in place. */
  (params: Tree, state: OptimizerState, inputs: InputTree): number;
  /** The same with flat parameters (by path); `like` is the tree fn receives (default the flat record). */
  flat(params: Flat, state: OptimizerState, inputs: InputTree, like?: Tree): number;
  /** The step's graph for these arguments (inputs: parameters, opt.<slot>.<path>, opt.<scalar>, the batch; outputs: loss, next.<path>, opt.<slot>.<path>). */
  graph(params: Tree, inputs: InputTree): Graph;
  /** Its executable (compiled on first use). */
  executable(params: Tree, inputs: InputTree): Executable;
}

interface Entry {
  exe: Executable;
  graph: Graph;
  /** Reused feeds: the step's scalars are tensors of shape [] whose one value is set each step. */
  scalars: Record<string, Tensor>;
}

/**
 * Forward, backward and the optimizer's update of `fn`'s scalar loss compiled as one executable,
 * cached per signature (every parameter's and input's path, shape and dtype).
 *
 *   const opt = optim.adam({ lr: 1e-3 });
 *   const step = trainStep((p, { X, y }) => ops.softmaxCrossEntropy(ops.affine(X, p.W, p.b), y), opt);
 *   const state = opt.init(params);
 *   for (const { X, y } of data.batches(64)) step(params, state, { X, y });   // params, state updated in place
 */
export function trainStep(fn: (params: NodeTree, inputs: NodeTree) => Node | WithState, optimizer: Optimizer, opts: TrainStepOptions = {}): TrainStep {
  if (typeof fn !== "function") throw new GradcError("trainStep: the loss must be a function (params, inputs) => scalar node");
  if (!optimizer || typeof optimizer.graph?.apply !== "function")
    throw new GradcError("trainStep: the optimizer has no graph form (use one of optim.sgd, rmsprop, adam, adamw)");
  const { optimize: opt = true, ...compileOptions } = opts;
  const rule = optimizer.graph;
  const cache = new Map<string, Entry>();
  const prepared = (pflat: Flat, itree: InputTree, ptree: Tree) => {
    const iflat = flattenInputs(itree, dtypeOf(pflat));
    const key = signature(pflat, iflat);
    let entry = cache.get(key);
    if (!entry) {
      const graph = stepGraph(traceTrees("trainStep", fn, ptree, pflat, itree, iflat, true), optimizer, pflat, iflat);
      const compiled = opt ? optimize(graph) : graph;
      const dtype = dtypeOf(pflat);
      const names = Object.keys(rule.scalars(1, 1));
      entry = {
        exe: compile(compiled, { ...compileOptions, reuseOutputs: true }),
        graph: compiled,
        scalars: Object.fromEntries(names.map((s) => [s, scalarTensor(dtype)])),
      };
      cache.set(key, entry);
    }
    return { entry, iflat };
  };
  const flatCall = (pflat: Flat, state: OptimizerState, inputs: InputTree, ptree: Tree = pflat): number => {
    const { entry, iflat } = prepared(pflat, inputs, ptree);
    const slots = rule.slots.map((s) => slotFlat(optimizer.name, state, s, pflat));
    const feeds: Record<string, Tensor> = { ...pflat, ...iflat };
    rule.slots.forEach((s, i) => {
      for (const [k, t] of Object.entries(slots[i])) feeds[`opt.${s}.${k}`] = t;
    });
    const lr = optimizer.learningRate(state.step);
    const t = state.step + 1;
    for (const [s, v] of Object.entries(rule.scalars(lr, t))) {
      entry.scalars[s].data[0] = v;
      feeds[`opt.${s}`] = entry.scalars[s];
    }
    const out = entry.exe.run(feeds);
    state.step = t;
    // the next values over the old ones: the outputs are the executable's buffers, read once here
    for (const [k, w] of Object.entries(pflat)) w.data.set(out[`next.${k}`].data);
    rule.slots.forEach((s, i) => {
      for (const [k, m] of Object.entries(slots[i])) m.data.set(out[`opt.${s}.${k}`].data);
    });
    // a model's state (`{ loss, state }`): its next value over the input `state.<path>` it came from
    for (const [k, t] of Object.entries(stateOf(out))) {
      const into = iflat[`state.${k}`];
      if (!into) throw new GradcError(`trainStep: the loss returned state "${k}", but no input "state.${k}" holds it (pass the state as inputs.state)`);
      into.data.set(t.data);
    }
    return out.loss.data[0];
  };
  const call = ((params: Tree, state: OptimizerState, inputs: InputTree) => flatCall(flatten(params), state, inputs, params)) as TrainStep;
  call.flat = (params, state, inputs, like) => flatCall(params, state, inputs, like);
  call.graph = (params, inputs) => prepared(flatten(params), inputs, params).entry.graph;
  call.executable = (params, inputs) => prepared(flatten(params), inputs, params).entry.exe;
  return call;
}

const scalarTensor = (dtype: DType): Tensor => new Tensor(dtype === "f32" ? new Float32Array(1) : new Float64Array(1), []);

/** The state's slot s by path, checked against the parameters. */
function slotFlat(who: string, state: OptimizerState, s: string, pflat: Flat): Flat {
  const tree = state.slots[s];
  if (!tree) throw new GradcError(`trainStep (${who}): the state has no slot "${s}" (made by another optimizer?)`);
  const flat = flatten(tree);
  for (const [k, w] of Object.entries(pflat)) {
    const m = flat[k];
    if (!m || !sameShape(m.shape, w.shape) || m.dtype !== w.dtype) {
      throw new GradcError(
        `trainStep (${who}): slot ${s} has no ${w.dtype}${shapeStr(w.shape)} entry for parameter "${k}"${m ? ` (it is ${m.dtype}${shapeStr(m.shape)})` : ""}`,
      );
    }
  }
  return flat;
}

/**
 * The step as one graph: the traced forward's loss, every parameter's gradient (grad, withValue),
 * clipped by the global norm when the optimizer asks, then the optimizer's update of each
 * parameter and its slots.
 */
export function stepGraph(forward: Graph, optimizer: Optimizer, pflat: Flat, iflat: Flat): Graph {
  const rule = optimizer.graph;
  const paths = Object.keys(pflat);
  const g = grad(forward, { of: "loss", wrt: paths, withValue: true });
  const dtype = dtypeOf(pflat);
  const taken = new Set([...paths, ...Object.keys(iflat)]);
  const input = (name: string, shape: readonly number[]) => {
    if (taken.has(name)) throw new GradcError(`trainStep: "${name}" names a parameter or an input, and the optimizer's state too: rename it`);
    taken.add(name);
    return b.input(name, shape, dtype);
  };
  const scalars = Object.fromEntries(Object.keys(rule.scalars(1, 1)).map((s) => [s, input(`opt.${s}`, [])]));
  const slotInputs = rule.slots.map((s) => paths.map((k) => input(`opt.${s}.${k}`, pflat[k].shape)));
  const grads = paths.map((k) => g.outputs[`d${k}`]);
  const scale = rule.clipNorm === undefined ? null : clipScale(grads, rule.clipNorm);
  const outputs: Record<string, Node> = { loss: g.outputs.loss };
  for (const [k, n] of Object.entries(g.outputs)) if (k.startsWith("state.")) outputs[k] = n;
  const byName = new Map(g.inputs.map((x) => [x.name, x]));
  paths.forEach((k, i) => {
    const w = byName.get(k) ?? b.input(k, pflat[k].shape, dtype);
    const next = rule.apply(
      w,
      scale ? b.mul(grads[i], scale) : grads[i],
      slotInputs.map((xs) => xs[i]),
      scalars,
    );
    outputs[`next.${k}`] = next.w;
    rule.slots.forEach((s, j) => (outputs[`opt.${s}.${k}`] = next.slots[j]));
  });
  const inputs = [...paths.map((k) => byName.get(k) ?? b.input(k, pflat[k].shape, dtype)), ...Object.values(scalars), ...slotInputs.flat()];
  for (const x of g.inputs) if (!inputs.includes(x)) inputs.push(x);
  return new Graph(inputs, outputs);
}

/** min(1, c / (||g|| + 1e-6)) over all gradients together, as the eager optimizers' clipScale. */
function clipScale(grads: readonly Node[], maxNorm: number): Node {
  const squares = grads.map((d) => b.sum(b.square(d), undefined, false));
  const norm = b.sqrt(squares.reduce((s, x) => b.add(s, x)));
  return b.select(b.greater(norm, maxNorm), b.div(maxNorm, b.add(norm, 1e-6)), 1);
}
