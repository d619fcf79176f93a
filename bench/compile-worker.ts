// Child process: how long `compile` takes on first call in a fresh process (modules loaded, no
// gradc function run yet): trace + vjp/grad + optimize + codegen, for the batchnorm backward and
// for the backward of a 6-layer fully connected net (the notebook's FullyConnectedNet with
// hidden [100]*5, batchnorm, input 3072, 10 classes, batch 50).

import "../ops/index.js"; // registers the builtin primitives
import { serveChild } from "./child.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { trace, type InputSpec } from "../core/trace.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { compile } from "../compile/codegen/compile.js";
import { optimize } from "../compile/optimize/optimize.js";
import { affine, batchnorm, relu, softmaxCrossEntropy } from "../ops/composites.js";
import { zooGraph } from "../ops/zoo.js";

export interface CompileTiming {
  what: string;
  traceMs: number;
  gradMs: number;
  optimizeMs: number;
  /** schedule + codegen: the compile() call */
  codegenMs: number;
  totalMs: number;
  backwardNodes: number;
  optimizedNodes: number;
}

/** The 6-layer net's training loss: (affine - batchnorm - relu) x 5, affine, softmax loss. */
export function fullyConnectedNet(hidden = [100, 100, 100, 100, 100], inputDim = 3072, classes = 10, batch = 50): Graph {
  const dims = [inputDim, ...hidden, classes];
  const specs: Record<string, InputSpec> = { X: [batch, inputDim], y: [batch] };
  for (let l = 1; l < dims.length; l++) {
    specs[`W${l}`] = [dims[l - 1], dims[l]];
    specs[`b${l}`] = [dims[l]];
    if (l < dims.length - 1) {
      specs[`gamma${l}`] = [dims[l]];
      specs[`beta${l}`] = [dims[l]];
    }
  }
  return trace(specs, (p: Record<string, Node>) => {
    let h = p.X;
    for (let l = 1; l < dims.length - 1; l++) h = relu(batchnorm(affine(h, p[`W${l}`], p[`b${l}`]), p[`gamma${l}`], p[`beta${l}`]).out);
    const scores = affine(h, p[`W${dims.length - 1}`], p[`b${dims.length - 1}`]);
    return softmaxCrossEntropy(scores, p.y);
  });
}

function timeIt(what: string, traceFn: () => Graph, gradFn: (g: Graph) => Graph): CompileTiming {
  const t0 = performance.now();
  const g = traceFn();
  const t1 = performance.now();
  const back = gradFn(g);
  const t2 = performance.now();
  const opt = optimize(back);
  const t3 = performance.now();
  compile(opt);
  const t4 = performance.now();
  return {
    what,
    traceMs: t1 - t0,
    gradMs: t2 - t1,
    optimizeMs: t3 - t2,
    codegenMs: t4 - t3,
    totalMs: t4 - t0,
    backwardNodes: back.size,
    optimizedNodes: opt.size,
  };
}

serveChild(async (req) => {
  const [N, D] = req.sizes[0] ?? [1024, 1024];
  const params = ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4", "W5", "b5", "W6", "b6"];
  for (let l = 1; l <= 5; l++) params.push(`gamma${l}`, `beta${l}`);
  const timings = [
    timeIt(
      `batchnorm ${N}x${D}`,
      () => zooGraph("batchnorm", [N, D]),
      (g) => vjp(g).backward,
    ),
    timeIt(
      "6-layer net, batch 50",
      () => fullyConnectedNet(),
      (g) => grad(g, { wrt: params }),
    ),
  ];
  return { rows: [], notes: [], extra: timings };
});
