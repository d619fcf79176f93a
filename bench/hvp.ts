// Hessian-vector products, measured: the compiled forward-over-reverse HVP of a graph against the
// finite-difference alternative (two compiled gradient evaluations, at x + h v and x - h v), in
// one run, interleaved rounds, medians. Also the shape of the derived and optimized HVP graphs.
//
//   node dist/bench/hvp.js [--shape 1024,256] [--quick]

import "../ops/index.js"; // registers the builtin primitives
import { parseArgs } from "node:util";
import { grad } from "../compile/autodiff/reverse.js";
import { hvp } from "../compile/autodiff/jacobian.js";
import { optimize } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";
import { compile } from "../compile/codegen/compile.js";
import { zooGraph } from "../ops/zoo.js";
import { FullyConnectedNet } from "../nn/net.js";
import { RandomState } from "../nn/random.js";
import type { Graph } from "../core/graph.js";
import type { Tensor } from "../core/tensor.js";
import { better, fullTiming, quickTiming, timeOnce, type Timing } from "./timing.js";

interface Case {
  name: string;
  graph: Graph;
  of: string;
  wrt: string[];
  feed: Record<string, Tensor>;
}

function batchnormCase(shape: number[], rs: RandomState): Case {
  const graph = zooGraph("batchnorm", shape);
  const feed = Object.fromEntries(graph.inputs.map((x) => [x.name, rs.randnTensor(x.shape)]));
  return { name: `batchnorm ${shape.join("x")} (out wrt x, gamma, beta)`, graph, of: "out", wrt: graph.inputNames, feed };
}

function netCase(batch: number, rs: RandomState): Case {
  const net = new FullyConnectedNet([100, 100, 100, 100, 100], { normalization: "batchnorm", seed: 231, weightScale: 5e-2 });
  const graph = net.graph("train", batch);
  const X = rs.randnTensor([batch, net.inputDim]);
  const y = rs.randnTensor([batch]);
  for (let i = 0; i < batch; i++) y.data[i] = i % net.numClasses;
  return {
    name: `6-layer net [100]x5 with batchnorm, batch ${batch} (loss wrt all parameters)`,
    graph,
    of: "loss",
    wrt: Object.keys(net.params),
    feed: { X, y, ...net.params, ...net.state },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { shape: { type: "string", default: "1024,256" }, quick: { type: "boolean", default: false } } });
  const timing = values.quick ? quickTiming : fullTiming;
  const rs = new RandomState(231);
  const shape = values.shape!.split(",").map(Number);
  const cases = [batchnormCase(shape, rs), netCase(50, rs)];
  for (const c of cases) {
    const derived = hvp(c.graph, { of: c.of, wrt: c.wrt });
    const t0 = performance.now();
    const fast = optimize(derived);
    const optimizeMs = performance.now() - t0;
    const [sd, so] = [stats(derived), stats(fast)];
    const exe = compile(fast);
    const gradExe = compile(optimize(grad(c.graph, { of: c.of, wrt: c.wrt })));
    const dirs = Object.fromEntries(c.wrt.map((k) => [`${k}_dot`, rs.randnTensor(c.feed[k].shape)]));
    const ct = derived.inputs.filter((x) => !(x.name in c.feed) && !(x.name in dirs));
    const cts = Object.fromEntries(ct.map((x) => [x.name, rs.randnTensor(x.shape)]));
    const hvpFeed = { ...c.feed, ...dirs, ...cts };
    const gradFeed = { ...c.feed, ...cts };
    console.log(`\n${c.name}`);
    console.log(
      `  HVP graph: derived ${sd.nodes} nodes, reduction depth ${sd.reductionDepth}, ${sd.fullSizeReductions} full-size reductions; optimized (${optimizeMs.toFixed(0)} ms) ${so.nodes} nodes, depth ${so.reductionDepth}, ${so.fullSizeReductions} full-size reductions; compiled ${exe.stats.kernels} kernels, ${exe.stats.sweeps} sweeps`,
    );
    let tHvp: Timing | undefined, tTwo: Timing | undefined;
    for (let r = 0; r < timing.rounds; r++) {
      tHvp = better(
        tHvp,
        await timeOnce(
          "compiled HVP",
          () => exe.run(hvpFeed),
          timing,
          () => {},
        ),
      );
      tTwo = better(
        tTwo,
        await timeOnce(
          "two compiled gradients",
          () => (gradExe.run(gradFeed), gradExe.run(gradFeed)),
          timing,
          () => {},
        ),
      );
    }
    console.log(
      `  compiled HVP ${tHvp!.ms.toFixed(3)} ms; two compiled gradient evaluations ${tTwo!.ms.toFixed(3)} ms; ratio (two gradients / HVP) ${(tTwo!.ms / tHvp!.ms).toFixed(2)}`,
    );
  }
}

await main();
