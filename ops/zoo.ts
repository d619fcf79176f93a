// Named example graphs: the normalizations the CLI, the viewer, the benchmarks and the optimizer
// tests share. Each takes a shape and a dtype and returns a traced forward graph.

import { GradcError } from "../core/errors.js";
import type { Graph } from "../core/graph.js";
import { trace } from "../core/trace.js";
import type { DType } from "../core/tensor.js";
import { batchnorm, groupnorm, layernorm, rmsnorm } from "./composites.js";

export interface ZooEntry {
  summary: string;
  /** The default shape, e.g. [N, D] = [200, 3]. */
  shape: readonly number[];
  build(shape: readonly number[], dtype?: DType): Graph;
}

const need = (name: string, shape: readonly number[], rank: number) => {
  if (shape.length !== rank || !shape.every((s) => Number.isInteger(s) && s > 0)) {
    throw new GradcError(`${name}: expects a shape of ${rank} positive sizes, got [${shape.join(",")}]`);
  }
};

export const zoo: Record<string, ZooEntry> = {
  batchnorm: {
    summary: "batch normalization over axis 0 of [N,D] (train mode)",
    shape: [200, 3],
    build(shape, dtype = "f64") {
      need("batchnorm", shape, 2);
      const [, d] = shape;
      return trace({ x: { shape, dtype }, gamma: { shape: [d], dtype }, beta: { shape: [d], dtype } }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out);
    },
  },
  "spatial-batchnorm": {
    summary: "batch normalization over axes 0,2,3 of NCHW data",
    shape: [8, 4, 5, 5],
    build(shape, dtype = "f64") {
      need("spatial-batchnorm", shape, 4);
      const c = shape[1];
      return trace({ x: { shape, dtype }, gamma: { shape: [c], dtype }, beta: { shape: [c], dtype } }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta, { axes: [0, 2, 3] }).out);
    },
  },
  layernorm: {
    summary: "layer normalization over the last axis of [N,D]",
    shape: [200, 3],
    build(shape, dtype = "f64") {
      need("layernorm", shape, 2);
      const [, d] = shape;
      return trace({ x: { shape, dtype }, gamma: { shape: [d], dtype }, beta: { shape: [d], dtype } }, ({ x, gamma, beta }) => layernorm(x, gamma, beta));
    },
  },
  rmsnorm: {
    summary: "RMSNorm over the last axis of [N,D], learned scale",
    shape: [200, 3],
    build(shape, dtype = "f64") {
      need("rmsnorm", shape, 2);
      const [, d] = shape;
      return trace({ x: { shape, dtype }, gamma: { shape: [d], dtype } }, ({ x, gamma }) => rmsnorm(x, gamma));
    },
  },
  groupnorm: {
    summary: "group normalization of NCHW data, 2 groups, per-channel scale and shift",
    shape: [4, 6, 3, 3],
    build(shape, dtype = "f64") {
      need("groupnorm", shape, 4);
      const c = shape[1];
      const groups = c % 2 === 0 ? 2 : 1;
      return trace({ x: { shape, dtype }, gamma: { shape: [c], dtype }, beta: { shape: [c], dtype } }, ({ x, gamma, beta }) => groupnorm(x, gamma, beta, groups));
    },
  },
};

export function zooGraph(name: string, shape?: readonly number[], dtype?: DType): Graph {
  const entry = Object.hasOwn(zoo, name) ? zoo[name] : undefined;
  if (!entry) throw new GradcError(`unknown graph "${name}": built-in graphs are ${Object.keys(zoo).join(", ")}`);
  return entry.build(shape ?? entry.shape, dtype);
}
