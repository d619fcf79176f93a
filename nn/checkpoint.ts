// Checkpoints as safetensors files: the parameters under their paths ("layer1.W"), so other tools
// read them as they are, plus what resuming needs under prefixes: "optim.<slot>.<path>" (the
// optimizer's state tree) or "optim.<path>.<key>" (the notebook rules' configs), "best.<path>",
// "solver.order"; the step count, histories and the minibatch stream's state go in the metadata.
// A run restored from a checkpoint continues with the same numbers as one never interrupted.

import { GradcError } from "../core/errors.js";
import { Tensor } from "../core/tensor.js";
import { loadSafetensors, saveSafetensors } from "./safetensors.js";
import { checkTree, flatten, unflatten, type Flat, type Tree } from "./tree.js";
import type { Solver } from "./solver.js";
import type { OptimConfig } from "./optim.js";

const FORMAT = "gradc-checkpoint-1";

/**
 * Save a parameter tree (names = paths).
 *
 *   saveParams("model.safetensors", params);
 */
export function saveParams(file: string, params: Tree, metadata: Record<string, string> = {}): void {
  saveSafetensors(file, flatten(params), metadata);
}

/**
 * Load parameters saved by saveParams or a checkpoint, checked against a tree of the model's
 * (names, shapes, dtypes: an error naming the file and the parameter), returned in its shape.
 *
 *   const params = loadParams("model.safetensors", model.init(rng));
 */
export function loadParams(file: string, like: Tree): Tree {
  const { tensors } = loadSafetensors(file);
  const params: Flat = {};
  for (const [k, t] of Object.entries(tensors)) if (!/^(optim|best|solver|state)\./.test(k)) params[k] = t;
  checkTree(flatten(like), params, file);
  return unflatten(like, params);
}

/** Save everything a Solver needs to continue: parameters, optimizer state, best parameters, counters and the stream. */
export function saveCheckpoint(solver: Solver, file: string): void {
  const tensors: Flat = { ...solver.model.params };
  const configs: Record<string, Record<string, number>> = {};
  if (solver.optimizerState) {
    for (const [slot, tree] of Object.entries(solver.optimizerState.slots)) {
      for (const [k, t] of Object.entries(flatten(tree))) tensors[`optim.${slot}.${k}`] = t;
    }
  } else {
    for (const [k, c] of Object.entries(solver.optimConfigs)) {
      configs[k] = {};
      for (const [key, v] of Object.entries(c)) {
        if (v instanceof Tensor) tensors[`optim.${k}.${key}`] = v;
        else if (typeof v === "number") configs[k][key] = v;
      }
    }
  }
  for (const [k, t] of Object.entries(solver.bestParams)) tensors[`best.${k}`] = t;
  for (const [k, t] of Object.entries(modelState(solver))) tensors[`state.${k}`] = t;
  if (solver.order) tensors["solver.order"] = new Tensor(Float64Array.from(solver.order), [solver.order.length]);
  const state = {
    epoch: solver.epoch,
    iteration: solver.iteration,
    optimizer: solver.optimizer?.name ?? null,
    step: solver.optimizerState?.step ?? null,
    configs,
    lossHistory: solver.lossHistory,
    trainAccHistory: solver.trainAccHistory,
    valAccHistory: solver.valAccHistory,
    bestValAcc: solver.bestValAcc,
    rng: solver.rng.getState(),
  };
  saveSafetensors(file, tensors, { format: FORMAT, solver: JSON.stringify(state) });
}

/** A stateful model's non-trained state (the notebook net's batchnorm running averages). */
const modelState = (solver: Solver): Flat => (solver.model as { state?: Flat }).state ?? {};

/**
 * Restore a Solver from saveCheckpoint's file, before train(): every parameter checked against
 * the model's (an error naming the file and the parameter), then the optimizer state, the counters
 * and the stream, so train() continues where the saved run was.
 */
export function restoreCheckpoint(solver: Solver, file: string): void {
  const { tensors, metadata } = loadSafetensors(file);
  if (metadata.format !== FORMAT || typeof metadata.solver !== "string") {
    throw new GradcError(`restoreCheckpoint: ${file} is not a gradc training checkpoint (it holds no solver state; loadParams reads its parameters)`);
  }
  const params: Flat = {},
    best: Flat = {};
  const optim: Flat = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith("optim.")) optim[k.slice(6)] = t;
    else if (k.startsWith("best.")) best[k.slice(5)] = t;
    else if (k.startsWith("state.")) {
      const have = modelState(solver)[k.slice(6)];
      if (!have || have.size !== t.size) throw new GradcError(`restoreCheckpoint: ${file}: "${k}" is not part of this model's state`);
      have.data.set(t.data);
    } else if (k !== "solver.order") params[k] = t;
  }
  checkTree(solver.model.params, params, file);
  const state = JSON.parse(metadata.solver);
  if ((solver.optimizer?.name ?? null) !== state.optimizer) {
    throw new GradcError(
      `restoreCheckpoint: ${file} was saved with the ${state.optimizer ?? "notebook's update rule"} optimizer, this run uses ${solver.optimizer?.name ?? "the notebook's update rule"}`,
    );
  }
  for (const [k, t] of Object.entries(params)) solver.model.params[k].data.set(t.data);
  if (solver.optimizerState) {
    for (const [slot, tree] of Object.entries(solver.optimizerState.slots)) {
      const want = flatten(tree);
      const got = Object.fromEntries(
        Object.entries(optim)
          .filter(([k]) => k.startsWith(`${slot}.`))
          .map(([k, t]) => [k.slice(slot.length + 1), t]),
      );
      checkTree(want, got, `${file} (optimizer slot ${slot})`);
      for (const [k, t] of Object.entries(want)) t.data.set(got[k].data);
    }
    solver.optimizerState.step = state.step;
  } else {
    for (const [k, c] of Object.entries(solver.optimConfigs)) {
      const restored: OptimConfig = { ...c, ...(state.configs[k] ?? {}) };
      for (const [key, t] of Object.entries(optim)) if (key.startsWith(`${k}.`)) (restored as Record<string, unknown>)[key.slice(k.length + 1)] = t;
      solver.optimConfigs[k] = restored;
    }
  }
  if (Object.keys(best).length > 0) {
    checkTree(solver.model.params, best, `${file} (best parameters)`);
    solver.bestParams = best;
  }
  solver.order = tensors["solver.order"] ? Int32Array.from(tensors["solver.order"].data) : null;
  solver.epoch = state.epoch;
  solver.iteration = state.iteration;
  solver.lossHistory = state.lossHistory;
  solver.trainAccHistory = state.trainAccHistory;
  solver.valAccHistory = state.valAccHistory;
  solver.bestValAcc = state.bestValAcc;
  solver.rng.setState(state.rng);
}
