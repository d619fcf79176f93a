// Convolution against numpy and PyTorch eager, one thread each, float32 and float64:
//   conv: forward + backward of a 3x3 conv, padding 1, bias (x [32,3,32,32], w [32,3,3,3]):
//         gradc's derived, optimized, compiled gradient graph (outputs y, dx, dw, db);
//   net:  one training iteration of ThreeLayerConvNet (32 filters 7x7, hidden 100, batch 50).
// numpy runs an im2col reference written for the benchmark (bench/conv_bench.py) in a python3
// child with OPENBLAS_NUM_THREADS=1; PyTorch eager runs in Debian's /usr/bin/python3 when it has
// torch (torch.set_num_threads(1)). Both children run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
// unset (this machine sets them; they slow OpenBLAS's products 1.6x). Median wall-clock ms per
// call; gradc is timed before and after the children and keeps its better round. With --cpu, each
// side's process CPU time instead (robust on a loaded machine; Node's GC threads count for gradc).
//
//   node dist/bench/conv.js              # writes bench/results/conv.json
//   node dist/bench/conv.js --reps 5 --cpu

import "../ops/index.js";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Tensor, type DType } from "../core/tensor.js";
import { trace } from "../core/trace.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { compile } from "../compile/codegen/compile.js";
import { nativeStatus } from "../compile/codegen/native/addon.js";
import { conv } from "../ops/conv-builders.js";
import { ThreeLayerConvNet } from "../nn/convnet.js";
import { RandomState } from "../nn/random.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(here, "..", "..", "bench", "conv_bench.py");
const DTYPES: DType[] = ["f32", "f64"];

type Rows = Record<string, { conv: number; net: number }>;

/** Wall-clock ms, or the process's CPU ms (user + system, every thread: Node's GC threads count against gradc). */
let clock: () => number = () => performance.now();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function medianMs(f: () => unknown, reps: number): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = clock();
    f();
    ts.push(clock() - t);
  }
  ts.sort((p, q) => p - q);
  return ts[Math.floor(ts.length / 2)];
}

function randn(rng: RandomState, shape: number[], dtype: DType, scale = 1): Tensor {
  const v = rng.randn(...shape);
  for (let i = 0; i < v.length; i++) v[i] *= scale;
  return new Tensor(dtype === "f32" ? Float32Array.from(v) : v, shape);
}

/** gradc's conv fwd+bwd and net iteration, prepared once per dtype, each a function to time. */
function gradcCases(dtype: DType): { conv: () => unknown; net: () => unknown } {
  const rng = new RandomState(0);
  const g = trace({ x: { shape: [32, 3, 32, 32], dtype }, w: { shape: [32, 3, 3, 3], dtype }, bias: { shape: [32], dtype } }, ({ x, w, bias }) => ({
    out: conv(x, w, { padding: 1, bias }),
  }));
  const exe = compile(optimize(grad(g, { of: "out", withValue: true })), { reuseOutputs: true });
  const inputs = {
    x: randn(rng, [32, 3, 32, 32], dtype),
    w: randn(rng, [32, 3, 3, 3], dtype),
    bias: randn(rng, [32], dtype),
    dout: randn(rng, [32, 32, 32, 32], dtype),
  };
  const net = new ThreeLayerConvNet({ dtype, seed: 0, reuseOutputs: true });
  const X = randn(rng, [50, 3, 32, 32], dtype);
  const y = Array.from({ length: 50 }, (_, i) => i % 10);
  return { conv: () => exe.run(inputs), net: () => net.loss(X, y) };
}

function gradcRound(cases: Record<DType, ReturnType<typeof gradcCases>>, reps: number): Rows {
  return Object.fromEntries(DTYPES.map((d) => [d, { conv: medianMs(cases[d].conv, reps), net: medianMs(cases[d].net, Math.max(3, reps >> 1)) }]));
}

/** A comparison child: its rows, or why there are none. */
function child(python: string, which: "numpy" | "torch", reps: number, cpu: boolean): { version: string; rows: Rows } | { missing: string } {
  const env: Record<string, string | undefined> = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(python, [SCRIPT, JSON.stringify({ which, reps, dtypes: DTYPES, clock: cpu ? "cpu" : "wall" })], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { missing: `${python} ${which}: ${(r.error?.message ?? r.stderr ?? "").trim().split("\n").at(-1)}` };
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

function hasTorch(python: string): boolean {
  return spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
}

export function runConvBench(reps: number, cpu = false, log: (line: string) => void = console.log) {
  clock = cpu ? cpuMs : () => performance.now();
  const load0 = os.loadavg();
  const cases = { f32: gradcCases("f32"), f64: gradcCases("f64") };
  log(`# gradc round 1 (native kernels: ${nativeStatus()})`);
  const first = gradcRound(cases, reps);
  log("# numpy (python3, im2col reference, OPENBLAS_NUM_THREADS=1)");
  const np = child("python3", "numpy", reps, cpu);
  const torchPython = "/usr/bin/python3";
  log("# PyTorch eager (/usr/bin/python3, one thread)");
  const torch = hasTorch(torchPython)
    ? child(torchPython, "torch", reps, cpu)
    : { missing: `${torchPython} has no torch (apt-get install python3-torch libopenblas0-pthread)` };
  log("# gradc round 2");
  const second = gradcRound(cases, reps);
  const gradc: Rows = Object.fromEntries(DTYPES.map((d) => [d, { conv: Math.min(first[d].conv, second[d].conv), net: Math.min(first[d].net, second[d].net) }]));
  const rows = DTYPES.flatMap((d) =>
    (["conv", "net"] as const).map((what) => ({
      what: what === "conv" ? "conv fwd+bwd [32,3,32,32] * [32,3,3,3], pad 1" : "ThreeLayerConvNet iteration, batch 50",
      dtype: d,
      gradcMs: gradc[d][what],
      numpyMs: "rows" in np ? np.rows[d][what] : null,
      torchMs: "rows" in torch ? torch.rows[d][what] : null,
    })),
  );
  const fmt = (v: number | null) => (v === null ? "-" : v.toFixed(2));
  const ratio = (v: number | null, g: number) => (v === null ? "-" : `${(v / g).toFixed(2)}x`);
  log("| case | dtype | gradc ms | numpy ms | numpy / gradc | torch ms | torch / gradc |");
  log("|---|---|---|---|---|---|---|");
  for (const r of rows)
    log(
      `| ${r.what} | ${r.dtype} | ${fmt(r.gradcMs)} | ${fmt(r.numpyMs)} | ${ratio(r.numpyMs, r.gradcMs)} | ${fmt(r.torchMs)} | ${ratio(r.torchMs, r.gradcMs)} |`,
    );
  const load1 = os.loadavg();
  log(
    `${cpu ? "CPU" : "wall-clock"} ms per call; load average ${load0[0].toFixed(1)} at the start, ${load1[0].toFixed(1)} at the end (${os.cpus().length} cores)${"missing" in np ? `; numpy: ${np.missing}` : ""}${"missing" in torch ? `; torch: ${torch.missing}` : ""}`,
  );
  return {
    date: new Date().toISOString(),
    command: `node dist/bench/conv.js --reps ${reps}${cpu ? " --cpu" : ""}`,
    clock: cpu ? "cpu" : "wall",
    machine: { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, node: process.version, loadavgStart: load0, loadavgEnd: load1 },
    native: nativeStatus(),
    numpy: "version" in np ? np.version : null,
    torch: "version" in torch ? torch.version : null,
    rows,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { reps: { type: "string", default: "10" }, cpu: { type: "boolean", default: false }, out: { type: "string", default: "bench/results/conv.json" } },
  });
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) {
    console.error(`bench/conv: --reps must be a positive integer, got "${values.reps}"`);
    process.exit(2);
  }
  const res = runConvBench(reps, values.cpu);
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(res, null, 1) + "\n");
  console.log(`wrote ${values.out}`);
}
