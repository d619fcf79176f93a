// gradc: record a computation, derive its gradient graph, simplify it by algebra, compile it.

import "./ops/index.js"; // the explicit step: registers the builtin primitives (core never imports ops)

export { tensor, zeros, full, Tensor, type DType, type Shape } from "./core/tensor.js";
export { RandomState, defaultRandom } from "./nn/random.js";
import { RandomState } from "./nn/random.js";
/** numpy's legacy RandomState, bit for bit: random(231).randn(2, 3) draws what np.random.seed(231); np.random.randn(2, 3) draws. */
export const random = (seed?: number | readonly number[]): RandomState => new RandomState(seed);
export { GradcError } from "./core/errors.js";
export { Node, apply, scope } from "./core/node.js";
export { Graph, printGraph, toposort, substitute } from "./core/graph.js";
export { trace, type InputSpec } from "./core/trace.js";
export { evaluate, type InputValue } from "./core/evaluate.js";
export { register, lookup, allOps, type OpDef, type Attrs, type Aval } from "./core/registry.js";
export { grad, vjp, type GradOptions, type Vjp } from "./compile/autodiff/index.js";
export { jvp, linearize, hvp, jacfwd, jacrev, hessian, type JvpOptions, type JacobianOptions, type Linearized } from "./compile/autodiff/index.js";
export { primitives } from "./ops/index.js";
export { matmulAsSum } from "./ops/contraction.js";

import * as builder from "./core/builder.js";
import * as composites from "./ops/composites.js";
/** The builder vocabulary and the composites: ops.add, ops.sum, ops.batchnorm, ... */
export const ops = { ...builder, ...composites };
export { type OptimizedVjp } from "./compile/optimize/index.js";
export { optimize, type OptimizeOptions, type OptimizeResult, type RewriteStep, type StopReason } from "./compile/optimize/index.js";
export { stats, type GraphStats } from "./compile/optimize/index.js";
export { zoo, zooGraph } from "./ops/zoo.js";
export { compile, type CompileOptions, type Executable, type KernelInfo, type CompiledStats } from "./compile/codegen/index.js";
export { defineOp, removeOp, type OpSpec, type DefinedOp } from "./ops/define.js";
export { defineRule, removeRule, userRules, rule } from "./compile/optimize/index.js";
export { P, v, any, type Rule, type Pattern, type Match, type Context } from "./compile/optimize/index.js";
export { ruleGroups, type RuleGroup } from "./compile/optimize/index.js";
export { checkOp, checkRule, type CheckOpOptions, type CheckOpReport, type CheckRuleOptions, type CheckRuleReport } from "./compile/check/index.js";
export { evalNumericalGradient, evalNumericalGradientArray, relError, maxAbs, maxAbsDiff, randomTensor, seededRandom } from "./compile/check/index.js";
export { batchnormForwardRef, batchnormBackwardAlt, columnStats, type BatchnormCache } from "./nn/batchnorm-reference.js";
export { view, viewData, type ViewOptions, type ViewResult } from "./viz/view.js";
export { renderSvg, type SvgPanel } from "./viz/svg.js";
export { FullyConnectedNet, type NetOptions, type Normalization, type LossAndGrads } from "./nn/net.js";
export { Solver, type SolverOptions, type SolverData, type Model } from "./nn/solver.js";
export { sgd, sgdMomentum, rmsprop, adam, updateRules, type OptimConfig, type UpdateRule } from "./nn/optim.js";
export { exportOnnx, onnxModel, toDot, toJSON, fromJSON, ONNX_OPSET } from "./compile/export/index.js";
export {
  flatten,
  unflatten,
  mapTree,
  cloneTree,
  checkTree,
  init,
  initializers,
  fans,
  xavierUniform,
  xavierNormal,
  kaimingNormal,
  kaimingUniform,
  type Tree,
  type Flat,
} from "./nn/tree.js";
export { valueAndGrad, jit, type ValueAndGrad, type ValueAndGradOptions, type Jitted, type NodeTree, type InputTree } from "./nn/value-and-grad.js";
/** Optimizers over parameter trees (PyTorch's conventions): optim.adam({ lr }), optim.sgd({ momentum, nesterov }), optim.schedules.cosine(...). */
export { trainStep, type TrainStep, type TrainStepOptions } from "./nn/train-step.js";
export * as optim from "./nn/optimizers.js";
export { type Optimizer, type OptimizerState, type Schedule, type LearningRate, type GraphUpdate } from "./nn/optimizers.js";
export { ArrayDataset, accuracy, argmax, checkLabels, labelTensor, type Batch, type LabelArray } from "./nn/dataset.js";
export { loadCifar10, loadCifarBatch, loadMnist, loadDataset, findCifarSubset, CIFAR10_CLASSES, type Dataset } from "./nn/data.js";
export { treeModel, type ModelSpec, type TreeModel } from "./nn/model.js";
export { type NaNStop } from "./nn/solver.js";
export { saveSafetensors, loadSafetensors, type Safetensors } from "./nn/safetensors.js";
export { saveParams, loadParams, saveCheckpoint, restoreCheckpoint } from "./nn/checkpoint.js";
