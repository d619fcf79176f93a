// Accuracy of derived vs optimized gradients against a double-double reference (spec/precise.ts):
// the measurements behind the accuracy property test and `node dist/bench/accuracy.js`.

import { evaluate } from "../../core/evaluate.js";
import type { Graph } from "../../core/graph.js";
import { Tensor, type DType } from "../../core/tensor.js";
import { grad } from "../../compile/autodiff/reverse.js";
import { optimize } from "../../compile/optimize/optimize.js";
import { zooGraph } from "../../ops/zoo.js";
import { labelInputs, seeded } from "../../compile/check/random-graphs.js";
import { evaluatePrecise, normwiseError } from "./precise.js";

export interface DataShape {
  /** Standard deviation of x per feature. */
  scale: number;
  /** mean / std of x. */
  ratio: number;
  /** Feature 0 holds one value repeated (its xhat is exactly 0). */
  constantChannel?: boolean;
}

export interface ErrorPair {
  naive: number;
  optimized: number;
}

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** Inputs for a normalization's gradient graph: x with the given scale and offset, the rest O(1). */
export function normalizationInputs(g: Graph, data: DataShape, seed: number, dtype: DType): Record<string, Tensor> {
  const r = seeded(seed);
  const out: Record<string, Tensor> = {};
  const classes = labelInputs(g);
  for (const x of g.inputs) {
    const v = dtype === "f32" ? new Float32Array(x.size) : new Float64Array(x.size);
    const features = x.shape[x.shape.length - 1];
    const c = classes.get(x);
    for (let i = 0; i < v.length; i++) {
      if (c !== undefined) v[i] = Math.floor(c * r());
      else if (x.name !== "x") v[i] = x.name === "gamma" ? 0.5 + r() : gauss(r);
      else if (data.constantChannel && i % features === 0) v[i] = data.ratio * data.scale;
      else v[i] = data.scale * (data.ratio + gauss(r));
    }
    out[x.name] = new Tensor(v, x.shape);
  }
  return out;
}

/**
 * Normwise errors of each output of grad(zoo graph) in `dtype`, derived and optimized, against the
 * double-double evaluation of the float64 graph on the same (rounded) inputs.
 */
export function zooGradientErrors(name: string, shape: readonly number[], dtype: DType, data: DataShape, seed: number): Record<string, ErrorPair> {
  const exact = grad(zooGraph(name, shape, "f64"), { of: "out" });
  const derived = grad(zooGraph(name, shape, dtype), { of: "out" });
  const optimized = optimize(derived);
  const inputs = normalizationInputs(derived, data, seed, dtype);
  const as64 = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new Tensor(Float64Array.from(t.data), t.shape)]));
  const want = evaluatePrecise(exact, as64);
  const naive = evaluate(derived, inputs),
    fast = evaluate(optimized, inputs);
  return Object.fromEntries(
    Object.keys(want).map((k) => [k, { naive: normwiseError(naive[k].data, want[k]), optimized: normwiseError(fast[k].data, want[k]) }]),
  );
}
