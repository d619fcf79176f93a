// A model as functions of a parameter tree: `{ init(rng), loss(params, batch), predict?(params, X) }`
// (a JAX/Flax-style model: no state of its own). `treeModel` turns it into the Solver's model
// interface (params plus loss(X, y) / loss(X)), its loss and gradients through valueAndGrad,
// its predictions through jit: each traced once per batch shape, optimized and compiled.

import { GradcError } from "../core/errors.js";
import type { Node } from "../core/node.js";
import { Tensor } from "../core/tensor.js";
import { RandomState } from "./random.js";
import { checkTree, flatten, unflatten, type Tree } from "./tree.js";
import { jit, traceTrees, valueAndGrad, type Jitted, type NodeTree, type ValueAndGrad, type WithState } from "./value-and-grad.js";
import type { LossAndGrads } from "./net.js";
import type { Optimizer, OptimizerState } from "./optimizers.js";
import { trainStep, type TrainStep } from "./train-step.js";

/** What a user writes: parameters from an initializer, a scalar loss and (for accuracy) the scores. */
export interface ModelSpec {
  /** The initial parameter tree, drawn from rng. (Or give `params`.) */
  init?: (rng: RandomState) => Tree;
  /** A fixed initial parameter tree. */
  params?: Tree;
  /**
   * The scalar loss of a batch: X [B, ...] and labels y [B] or [B, ...] (class indices as floats).
   * A model with state (initState) receives it third and returns `{ loss, state }`: the state's
   * next value, a tree of nodes shaped as it (batchnorm's running averages).
   */
  loss: (params: NodeTree, batch: { X: Node; y: Node }, state: NodeTree) => Node | WithState;
  /** Scores [B, ..., C] of a batch, for accuracy and predictions (state: the model's, read only). */
  predict?: (params: NodeTree, X: Node, state: NodeTree) => Node;
  /** The initial state tree: values the model keeps and updates but does not train (as flax's mutable collections). */
  initState?: () => Tree;
  /** Classes (labels are checked to be below it; default: the last axis of predict's scores). */
  numClasses?: number;
}

/** The Solver's view of a tree model. */
export interface TreeModel {
  /** The parameters flat by path ("layer1.W"): what the Solver updates and checkpoints. */
  params: Record<string, Tensor>;
  /** The parameters as the model's tree (same tensors). */
  readonly tree: Tree;
  /** The model's state by path (updated in place by each training step; empty without initState). */
  state: Record<string, Tensor>;
  readonly hasPredict: boolean;
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Tensor | ArrayLike<number>): LossAndGrads;
  /** Classes: the spec's numClasses, else the last axis of the scores of one example. */
  classes(example: Tensor): number | undefined;
  /**
   * One training step compiled whole (forward, backward, the optimizer's update: nn/train-step.ts):
   * the parameters and the state are updated in place; returns the loss.
   */
  step(X: Tensor, y: Tensor | ArrayLike<number>, optimizer: Optimizer, state: OptimizerState): number;
}

/** A spec (not a stateful model such as FullyConnectedNet): it has init, or is a plain object with params and loss. */
export const isModelSpec = (m: unknown): m is ModelSpec =>
  typeof m === "object" &&
  m !== null &&
  typeof (m as ModelSpec).loss === "function" &&
  (typeof (m as ModelSpec).init === "function" || ((m as ModelSpec).params !== undefined && Object.getPrototypeOf(m) === Object.prototype));

/**
 * A model spec made trainable by the Solver.
 *
 *   const model = treeModel({ init: (rng) => ({ W: init.heNormal(rng, [784, 10]), b: init.zeros([10]) }),
 *                             loss: (p, { X, y }) => ops.softmaxCrossEntropy(ops.affine(X, p.W, p.b), y),
 *                             predict: (p, X) => ops.affine(X, p.W, p.b) }, { seed: 0 });
 */
export function treeModel(spec: ModelSpec, opts: { seed?: number; rng?: RandomState; params?: Tree } = {}): TreeModel {
  if (typeof spec.loss !== "function") throw new GradcError("model: loss must be a function (params, { X, y }) => scalar node");
  if (spec.predict !== undefined && typeof spec.predict !== "function") throw new GradcError("model: predict must be a function (params, X) => scores");
  const rng = opts.rng ?? new RandomState(opts.seed ?? 0);
  const first = opts.params ?? spec.params ?? (typeof spec.init === "function" ? spec.init(rng) : undefined);
  if (first === undefined) throw new GradcError("model: give init(rng) or params");
  let tree: Tree = first;
  let flat = flatten(tree);
  if (opts.params !== undefined && typeof spec.init === "function") checkTree(flatten(spec.init(new RandomState(0))), flat, "model: the parameters given");
  if (spec.initState !== undefined && typeof spec.initState !== "function") throw new GradcError("model: initState must be a function () => state tree");
  const stateTree: Tree | undefined = spec.initState?.();
  const state = stateTree === undefined ? {} : flatten(stateTree);
  // the state travels as the input `state` (a tree the function reads), its next value as outputs state.<path>
  const lossFn = (p: NodeTree, i: NodeTree) => {
    const { X, y, state: s } = i as { X: Node; y: Node; state?: NodeTree };
    return spec.loss(p, { X, y }, s === undefined ? {} : (unflatten(stateTree!, s as Record<string, Node>, (n) => n) as NodeTree));
  };
  const predictFn = (p: NodeTree, i: NodeTree) => {
    const { X, state: s } = i as { X: Node; state?: NodeTree };
    return spec.predict!(p, X, s === undefined ? {} : (unflatten(stateTree!, s as Record<string, Node>, (n) => n) as NodeTree));
  };
  const withState = <T extends object>(inputs: T) => (stateTree === undefined ? inputs : { ...inputs, state });
  const vg: ValueAndGrad = valueAndGrad(lossFn, { reuseOutputs: true });
  const predict: Jitted | undefined = spec.predict ? jit(predictFn) : undefined;
  const steps = new WeakMap<Optimizer, TrainStep>();
  const dtype = Object.values(flat)[0]?.dtype ?? "f64";
  const labelsOf = (y: Tensor | ArrayLike<number>) =>
    y instanceof Tensor ? asDtype(y) : new Tensor(dtype === "f32" ? Float32Array.from(y) : Float64Array.from(y), [y.length]);
  const asDtype = (X: Tensor) => (X.dtype === dtype ? X : new Tensor(dtype === "f32" ? new Float32Array(X.data) : new Float64Array(X.data), X.shape));
  const model = {
    get params() {
      return flat;
    },
    set params(p: Record<string, Tensor>) {
      flat = p;
      tree = unflatten(tree, p) as Tree;
    },
    get tree() {
      return unflatten(tree, flat) as Tree;
    },
    hasPredict: predict !== undefined,
    state,
    loss(X: Tensor, y?: Tensor | ArrayLike<number>) {
      if (y === undefined) {
        if (!predict) throw new GradcError("model: predict is not defined, so it gives no scores");
        return predict.flat(flat, withState({ X: asDtype(X) }), tree);
      }
      const out = vg.flat(flat, withState({ X: asDtype(X), y: labelsOf(y) }), tree);
      for (const [k, t] of Object.entries(out.state)) model.state[k].data.set(t.data);
      return out;
    },
    step(X: Tensor, y: Tensor | ArrayLike<number>, optimizer: Optimizer, optState: OptimizerState) {
      let step = steps.get(optimizer);
      if (!step) steps.set(optimizer, (step = trainStep(lossFn, optimizer)));
      return step.flat(flat, optState, withState({ X: asDtype(X), y: labelsOf(y) }), tree);
    },
    classes(example: Tensor) {
      if (spec.numClasses !== undefined) return spec.numClasses;
      if (!predict) return undefined;
      const X = asDtype(example);
      const inputs = withState({ X });
      const g = traceTrees(
        "predict",
        predictFn,
        tree,
        flat,
        inputs,
        { X, ...Object.fromEntries(Object.entries(state).map(([k, t]) => [`state.${k}`, t])) },
        false,
      );
      const shape = g.outputs.out.shape;
      return shape[shape.length - 1];
    },
  };
  return model as TreeModel;
}
