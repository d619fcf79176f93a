// What the plain `compile(g).run(feeds)` costs beside training-loop mode, item by item, for the
// batchnorm backward (docs/compiler.md, "Plain `run` and training-loop mode"): the plain run with
// pooled outputs (the default), the same with `native: false` (plain new output arrays),
// `reuseOutputs` with the inputs copied in, and training-loop mode (`reuseOutputs` and inputs in
// `inputArray`s). CPU milliseconds per call (user + system, so page faults count and other
// processes on a loaded machine count less than in wall time), best of three interleaved rounds.
//
//   node dist/bench/outputs.js                      # ~1 minute
//   node dist/bench/outputs.js --sizes 4096x1024

import "../ops/index.js"; // registers the builtin primitives
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import os from "node:os";
import { Tensor, type DType } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { compile } from "../compile/codegen/compile.js";
import { nativeKernels, nativeStatus } from "../compile/codegen/native/addon.js";
import { optimize } from "../compile/optimize/optimize.js";
import { mulberry32 } from "../core/mulberry32.js";
import { zooGraph } from "../ops/zoo.js";
import { DEFAULT_SIZES, parseSizes } from "./batchnorm.js";
import { placeInputs } from "./program.js";

const CASES = ["plain", "unpooled", "loopCopy", "loop"] as const;
type CaseId = (typeof CASES)[number];

/** CPU milliseconds per call over `reps` calls, after one warm-up call. */
function cpuPerCall(f: () => unknown, reps: number): number {
  f();
  const start = process.cpuUsage();
  for (let i = 0; i < reps; i++) f();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000 / reps;
}

function cases(N: number, D: number, dtype: DType): Record<CaseId, () => unknown> {
  const bwd = optimize(vjp(zooGraph("batchnorm", [N, D], dtype)).backward);
  const random = mulberry32(231);
  const inputs = Object.fromEntries(
    bwd.inputs.map((x) => {
      const a = dtype === "f32" ? new Float32Array(x.size) : new Float64Array(x.size);
      for (let i = 0; i < a.length; i++) a[i] = random() + 0.5;
      return [x.name, new Tensor(a, x.shape)];
    }),
  );
  const plain = compile(bwd),
    unpooled = compile(bwd, { native: false }),
    loop = compile(bwd, { reuseOutputs: true });
  const placed = placeInputs(loop, inputs);
  return { plain: () => plain.run(inputs), unpooled: () => unpooled.run(inputs), loopCopy: () => loop.run(inputs), loop: () => loop.run(placed) };
}

export function runOutputsBench(sizes: [number, number][], log = console.log): string {
  const rows: string[] = [];
  for (const [N, D] of sizes) {
    for (const dtype of ["f64", "f32"] as const) {
      const c = cases(N, D, dtype);
      const reps = Math.max(10, Math.min(300, Math.floor(1e8 / (N * D))));
      const best = Object.fromEntries(CASES.map((id) => [id, Infinity])) as Record<CaseId, number>;
      for (let round = 0; round < 3; round++) for (const id of CASES) best[id] = Math.min(best[id], cpuPerCall(c[id], reps));
      const cell = (id: CaseId) => `${best[id].toFixed(3)} (${(best[id] / best.loop).toFixed(2)}x)`;
      rows.push(`| ${N}x${D} | ${dtype} | ${cell("plain")} | ${cell("unpooled")} | ${cell("loopCopy")} | ${best.loop.toFixed(3)} |`);
      log(rows.at(-1)!);
    }
  }
  const pool = nativeKernels()?.pool();
  return [
    `## Plain \`run\` against training-loop mode, batchnorm backward: CPU ms per call (x the loop mode)`,
    `Machine: ${os.cpus()[0]?.model ?? "unknown"}, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}; native addon: ${nativeStatus()}. Command: \`node dist/bench/outputs.js${process.argv
      .slice(2)
      .map((a) => ` ${a}`)
      .join("")}\`.`,
    "",
    "| size | dtype | plain `run` (pooled outputs) | plain `run`, `native: false` | `reuseOutputs`, inputs copied | training-loop mode |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    pool
      ? `Output pool after the run: ${pool.mapped} blocks mapped, ${pool.reused} handed out again, ${(pool.mappedBytes / 2 ** 20).toFixed(0)} MiB mapped.`
      : "No output pool (the native addon is not loaded): the first two columns run the same code.",
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { sizes: { type: "string" } } });
  const sizes = values.sizes ? parseSizes(values.sizes) : DEFAULT_SIZES;
  console.log("\n" + runOutputsBench(sizes, () => {}));
}
