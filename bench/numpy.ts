// gradc against the seed's numpy code in one run: the batchnorm backward (numpy's
// batchnorm_backward_alt) at the benchmark's sizes and one training iteration of the notebook's
// 6-layer net with batchnorm (FullyConnectedNet.loss), float64 and float32, single-threaded
// OpenBLAS; plus the bandwidth probe, the 128-bit arithmetic peak and the matrix products'
// GFLOP/s. Both sides: wall-clock median per call, two interleaved rounds (numpy, gradc, numpy,
// gradc), the better round's median each. (CPU time would be robust to other processes, but it
// counts Node's garbage-collector and compiler threads against gradc: 6.4 ms of CPU for a 3.4 ms
// float64 iteration.)
//
//   node dist/bench/numpy.js                       # ~1 minute; writes bench/results/numpy.json
//   node dist/bench/numpy.js --sizes 100x500 --reps 10

import "../ops/index.js";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { evaluate } from "../core/evaluate.js";
import { RandomState } from "../nn/random.js";
import { Tensor, type DType } from "../core/tensor.js";
import { trace } from "../core/trace.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { compile } from "../compile/codegen/compile.js";
import { optimize } from "../compile/optimize/optimize.js";
import { zooGraph } from "../ops/zoo.js";
import { FullyConnectedNet } from "../nn/net.js";
import { findCifarSubset } from "../nn/data.js";
import { measureNativePeak, measurePeak } from "./peak.js";
import { nativeKernels } from "../compile/codegen/native/addon.js";
import { specializeProbe } from "./probe.js";
import { DEFAULT_SIZES, parseSizes } from "./batchnorm.js";
import { addRatios, placeInputs, type BenchReport } from "./program.js";
import { attentionCase, runTorch } from "./torch.js";

/** Attention's sequence lengths (d = 64) in the side-by-side table. */
const ATTENTION_T = [128, 512, 1024];
/** Heads of the attention rows: one ([T,d], plain products) and several ([H,T,d], batched products). */
const ATTENTION_HEADS = [1, 4];

const here = dirname(fileURLToPath(import.meta.url));
/** bench/numpy_bench.py in the sources (dist/bench -> ../../bench). */
const SCRIPT = join(here, "..", "..", "bench", "numpy_bench.py");

export interface NumpyComparison {
  date: string;
  command: string;
  machine: { cpu: string; cores: number; node: string; loadavgStart: number[]; loadavgEnd: number[] };
  numpy: string | null;
  /** Why there are no numpy figures, when there are none. */
  numpyMissing?: string;
  /** PyTorch's version (eager, one thread; bench/torch.ts), or null with why in torchMissing. */
  torch: string | null;
  torchMissing?: string;
  /** Attention forward + backward, d = 64, one head and several: gradc's plain run and PyTorch eager. */
  attention: { heads: number; T: number; d: number; dtype: DType; gradcMs: number; torchMs: number | null }[];
  /** gradcMs: the default run (fresh outputs); fusedMs: with reuseOutputs and inputs placed (inputArray), the benchmark's "fused" row (the one the probe target is about). */
  batchnorm: { N: number; D: number; dtype: DType; gradcMs: number; fusedMs: number; numpyMs: number | null; torchMs: number | null; probeMs: number | null }[];
  /** wasmMs: the same iteration with the native kernels off (`native: false`: WebAssembly products), when they are built. */
  iteration: { dtype: DType; gradcMs: number; numpyMs: number | null; torchMs: number | null; wasmMs?: number }[];
  /** The iteration with the large products split over two threads: wall-clock ms, one thread vs two, same run. */
  threaded: { dtype: DType; oneThreadWallMs: number; twoThreadsWallMs: number }[];
  /** `gradc experiment deep` against nn/numpy_reference.py end to end, or why it was not run. */
  experiment: { dtype: DType; gradcS: number; numpyS: number | null }[] | { skipped: string };
  /** f64/f32: 128-bit WebAssembly lanes (bench/peak.ts); native: the addon's vectors (512-bit with AVX-512), same measure. */
  peakGFlops: { f64: number; f32: number; native?: { f64: number; f32: number; bits: number } };
  /** kernel: which back end ran it; ofPeak is against that back end's peak. */
  matmul: { what: string; dtype: DType; ms: number; gflops: number; ofPeak: number; kernel?: "native" | "wasm" }[];
}

/** The fastest call's wall-clock milliseconds (for products against the peak, itself a best of runs). */
export function wallBest(f: () => unknown, reps: number): number {
  f();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    f();
    best = Math.min(best, performance.now() - s);
  }
  return best;
}

/** Median wall-clock milliseconds per call. */
export function wallMedian(f: () => unknown, reps: number): number {
  f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(reps / 2)];
}

// Repetitions by work, the same rule as numpy_bench.py's reps_for: about 2e9 element-operations per
// case (small cases get many calls, whose first ones pay for page faults and the allocator's warm-up;
// with 30 calls the 100x500 median moved between 0.08 and 0.17 ms from run to run), at most 20 * reps.
const repsFor = (work: number, reps: number) => Math.max(5, Math.min(20 * reps, Math.floor(2e9 / Math.max(work, 1))));
/** The training iteration's repetitions (numpy_bench.py uses the same). */
const iterationReps = (reps: number) => 4 * reps;

function batchnormCase(N: number, D: number, dtype: DType, seed: number) {
  const v = vjp(zooGraph("batchnorm", [N, D], dtype));
  const rs = new RandomState(seed);
  const t = (shape: number[]) => {
    const d = rs.randn(...shape) as Float64Array;
    return new Tensor(dtype === "f32" ? Float32Array.from(d) : d, shape);
  };
  const fwd = evaluate(v.forward, { x: t([N, D]), gamma: t([D]), beta: t([D]) });
  const bwd = optimize(v.backward);
  const all: Record<string, Tensor> = { ...fwd, gamma: t([D]), dout: t([N, D]) };
  const inputs = Object.fromEntries(bwd.inputNames.map((k) => [k, all[k]]));
  // the default run: fresh output arrays every call, as numpy's function returns new arrays
  const exe = compile(bwd);
  const fused = compile(bwd, { reuseOutputs: true });
  const placed = placeInputs(fused, inputs);
  return { run: () => exe.run(inputs), fused: () => fused.run(placed) };
}

function iterationCase(dtype: DType, threads = false, native = true) {
  const rs = new RandomState(231);
  const x = rs.randn(50, 3072) as Float64Array;
  const X = new Tensor(dtype === "f32" ? Float32Array.from(x) : x, [50, 3072]);
  const y = rs.randint(10, undefined, [50]);
  const net = new FullyConnectedNet([100, 100, 100, 100, 100], { weightScale: 2e-2, normalization: "batchnorm", seed: 231, dtype, threads, native });
  return () => net.loss(X, y);
}

/** The notebook net's matrix products, alone: GFLOP/s against the measured peak. */
function matmulCases(dtype: DType, native: boolean): { what: string; run: () => unknown; flops: number }[] {
  const shapes: [string, number[], number[], (a: any, c: any) => any][] = [
    ["X @ W1: 50x3072 @ 3072x100", [50, 3072], [3072, 100], (a, c) => a.matmul(c)],
    ["dW1 = X^T @ da: 3072x50 @ 50x100", [50, 3072], [50, 100], (a, c) => a.T.matmul(c)],
    ["da @ W^T: 50x100 @ 100x100", [50, 100], [100, 100], (a, c) => a.matmul(c.T)],
  ];
  return shapes.map(([what, as, cs, f]) => {
    const g = trace({ a: { shape: as, dtype }, c: { shape: cs, dtype } }, ({ a, c }) => ({ out: f(a, c) }));
    const rs = new RandomState(1);
    const mk = (s: number[]) => new Tensor(dtype === "f32" ? Float32Array.from(rs.randn(...s) as Float64Array) : (rs.randn(...s) as Float64Array), s);
    const x = { a: mk(as), c: mk(cs) };
    const exe = compile(g, { reuseOutputs: true, native });
    const out = g.outputs.out;
    const k = g.nodes().find((n) => n.op === "matmul")!.inputs[0].shape[1];
    return { what, run: () => exe.run(x), flops: 2 * out.shape[0] * out.shape[1] * k };
  });
}

/**
 * `gradc experiment deep` and the notebook's own code in numpy (nn/numpy_reference.py) on the
 * CIFAR-10 subset, end to end, each a fresh process: start-up, data loading, graph preparation
 * (gradc), two nets of 200 iterations, the accuracy checks. Wall-clock seconds, the better of two
 * interleaved rounds (numpy, gradc, numpy, gradc).
 */
export function experimentComparison(python = "python3"): NumpyComparison["experiment"] {
  const dir = findCifarSubset();
  if (!dir) return { skipped: "the CIFAR-10 subset is not at ../shared/data/cifar10 beside the project" };
  const cli = join(here, "..", "cli.js");
  const reference = join(here, "..", "..", "nn", "numpy_reference.py");
  const out = mkdtempSync(join(os.tmpdir(), "gradc-deep-"));
  const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
  const timed = (cmd: string, args: string[]): number | null => {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 24 });
    const s = (performance.now() - t0) / 1000;
    if (r.status !== 0) return null;
    return s;
  };
  try {
    return (["f32", "f64"] as const).map((dtype) => {
      let g = Infinity,
        n: number | null = Infinity;
      for (let round = 0; round < 2; round++) {
        const ns = timed(python, [reference, dir, "--dtype", dtype]);
        n = ns === null || n === null ? null : Math.min(n, ns);
        const gs = timed(process.execPath, [cli, "experiment", "deep", "--dtype", dtype, "--out", out]);
        if (gs === null) throw new Error(`gradc experiment deep --dtype ${dtype} failed`);
        g = Math.min(g, gs);
      }
      return { dtype, gradcS: g, numpyS: n };
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Run bench/numpy_bench.py; when python3 or numpy is missing, say which instead. */
export function runNumpy(sizes: [number, number][], reps: number, python = "python3", iteration = true): { out: any; error?: string } {
  try {
    const text = execFileSync(python, [SCRIPT, JSON.stringify({ sizes, reps, iteration })], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 1 << 20,
    });
    return { out: JSON.parse(text) };
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    const why =
      err.code === "ENOENT"
        ? `${python} not found`
        : /No module named .?numpy/.test(err.stderr ?? "")
          ? "python3 has no numpy"
          : `numpy run failed: ${(err.stderr || err.message).trim().split("\n").pop()}`;
    return { out: null, error: why };
  }
}

export function runNumpyComparison(opts: { sizes?: [number, number][]; reps?: number; log?: (s: string) => void } = {}): NumpyComparison {
  const log = opts.log ?? console.log;
  const sizes = opts.sizes ?? DEFAULT_SIZES;
  const reps = opts.reps ?? 30;
  const loadavgStart = os.loadavg();
  const best = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

  // two rounds, numpy then gradc each time; each figure is the better of its two medians
  const gradcBn = new Map<string, number>();
  const fusedBn = new Map<string, number>();
  const gradcIt = new Map<DType, number>();
  const wasmIt = new Map<DType, number>();
  const native = nativeKernels() !== null;
  const probe = new Map<string, number>();
  const numpyBn = new Map<string, number>();
  const numpyIt = new Map<DType, number>();
  let numpyVersion: string | null = null;
  let missing: string | undefined;
  const torchBn = new Map<string, number>();
  const torchIt = new Map<DType, number>();
  const torchAt = new Map<string, number>();
  const gradcAt = new Map<string, number>();
  let torchVersion: string | null = null;
  let torchMissing: string | undefined;
  for (let round = 0; round < 2; round++) {
    log(`# round ${round + 1}: numpy (child process, OPENBLAS_NUM_THREADS=1)`);
    const np = runNumpy(sizes, reps);
    if (np.out) {
      numpyVersion = np.out.numpy;
      for (const c of np.out.batchnorm) numpyBn.set(`${c.N}x${c.D}:${c.dtype}`, best(numpyBn.get(`${c.N}x${c.D}:${c.dtype}`) ?? null, c.ms)!);
      for (const [d, ms] of Object.entries(np.out.iteration)) numpyIt.set(d as DType, best(numpyIt.get(d as DType) ?? null, ms as number)!);
    } else missing = np.error;
    log(`# round ${round + 1}: PyTorch eager (child process, one thread)`);
    const pt = runTorch(sizes, reps, ATTENTION_T, true, ATTENTION_HEADS);
    if (pt.out) {
      torchVersion = pt.out.torch;
      for (const c of pt.out.batchnorm) torchBn.set(`${c.N}x${c.D}:${c.dtype}`, best(torchBn.get(`${c.N}x${c.D}:${c.dtype}`) ?? null, c.ms)!);
      for (const [d, ms] of Object.entries(pt.out.iteration)) torchIt.set(d as DType, best(torchIt.get(d as DType) ?? null, ms)!);
      for (const c of pt.out.attention) torchAt.set(`${c.heads}:${c.T}:${c.dtype}`, best(torchAt.get(`${c.heads}:${c.T}:${c.dtype}`) ?? null, c.ms)!);
    } else {
      torchMissing = pt.error;
      if (round === 0) log(`no PyTorch rows: ${pt.error}`);
    }
    log(`# round ${round + 1}: gradc`);
    for (const H of ATTENTION_HEADS) {
      for (const T of ATTENTION_T) {
        for (const dtype of ["f64", "f32"] as const) {
          const key = `${H}:${T}:${dtype}`;
          const ms = wallMedian(attentionCase(T, 64, dtype, H), repsFor(4 * H * T * T * 64, reps));
          gradcAt.set(key, best(gradcAt.get(key) ?? null, ms)!);
          log(`attention forward + backward ${H} head(s) T=${T} ${dtype}: ${ms.toFixed(3)} ms`);
        }
      }
    }
    for (const [N, D] of sizes) {
      for (const dtype of ["f64", "f32"] as const) {
        const key = `${N}x${D}:${dtype}`;
        const c = batchnormCase(N, D, dtype, 231);
        const ms = wallMedian(c.run, repsFor(10 * N * D, reps));
        gradcBn.set(key, best(gradcBn.get(key) ?? null, ms)!);
        fusedBn.set(key, best(fusedBn.get(key) ?? null, wallMedian(c.fused, repsFor(10 * N * D, reps)))!);
        log(`batchnorm backward ${key}: ${ms.toFixed(3)} ms`);
      }
      const bufs = { a: new Float64Array(N * D).fill(1), b: new Float64Array(N * D).fill(2), out: new Float64Array(N * D), acc: new Float64Array(D) };
      const p = wallMedian(specializeProbe(N, D, bufs), repsFor(10 * N * D, reps));
      probe.set(`${N}x${D}`, best(probe.get(`${N}x${D}`) ?? null, p)!);
    }
    for (const dtype of ["f64", "f32"] as const) {
      const ms = wallMedian(iterationCase(dtype), iterationReps(reps));
      gradcIt.set(dtype, best(gradcIt.get(dtype) ?? null, ms)!);
      log(`training iteration ${dtype}: ${ms.toFixed(3)} ms`);
      if (native) {
        // the same iteration with the native kernels off: the WebAssembly products, same run
        const w = wallMedian(iterationCase(dtype, false, false), iterationReps(reps));
        wasmIt.set(dtype, best(wasmIt.get(dtype) ?? null, w)!);
        log(`training iteration ${dtype}, native kernels off: ${w.toFixed(3)} ms`);
      }
    }
  }
  log("# two threads (one thread and two interleaved)");
  const threaded: NumpyComparison["threaded"] = (["f64", "f32"] as const).map((dtype) => {
    const one = iterationCase(dtype),
      two = iterationCase(dtype, true);
    let a = Infinity,
      b = Infinity;
    for (let r = 0; r < 3; r++) {
      a = Math.min(a, wallMedian(one, reps));
      b = Math.min(b, wallMedian(two, reps));
    }
    return { dtype, oneThreadWallMs: a, twoThreadsWallMs: b };
  });
  log("# experiment deep end to end (child processes: nn/numpy_reference.py, then gradc)");
  const experiment = experimentComparison();
  const [n64, n32] = [measureNativePeak("f64"), measureNativePeak("f32")];
  const peakGFlops: NumpyComparison["peakGFlops"] = {
    f64: measurePeak("f64"),
    f32: measurePeak("f32"),
    ...(n64 && n32 ? { native: { f64: n64.gflops, f32: n32.gflops, bits: n64.bits } } : {}),
  };
  const matmul: NumpyComparison["matmul"] = [];
  for (const dtype of ["f64", "f32"] as const) {
    for (const kernel of native ? (["native", "wasm"] as const) : (["wasm"] as const)) {
      for (const c of matmulCases(dtype, kernel === "native")) {
        const ms = wallBest(c.run, repsFor(c.flops / 4, reps * 4));
        const gflops = c.flops / (ms / 1000) / 1e9;
        const peak = kernel === "native" ? peakGFlops.native![dtype] : peakGFlops[dtype];
        matmul.push({ what: c.what, dtype, ms, gflops, ofPeak: gflops / peak, kernel });
      }
    }
  }
  return {
    date: new Date().toISOString(),
    command: ["node", "dist/bench/numpy.js", ...process.argv.slice(2)].join(" "),
    machine: { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, node: process.version, loadavgStart, loadavgEnd: os.loadavg() },
    numpy: numpyVersion,
    ...(missing && !numpyVersion ? { numpyMissing: missing } : {}),
    torch: torchVersion,
    ...(torchMissing && !torchVersion ? { torchMissing } : {}),
    attention: ATTENTION_HEADS.flatMap((heads) =>
      ATTENTION_T.flatMap((T) =>
        (["f64", "f32"] as const).map((dtype) => ({
          heads,
          T,
          d: 64,
          dtype,
          gradcMs: gradcAt.get(`${heads}:${T}:${dtype}`)!,
          torchMs: torchAt.get(`${heads}:${T}:${dtype}`) ?? null,
        })),
      ),
    ),
    batchnorm: sizes.flatMap(([N, D]) =>
      (["f64", "f32"] as const).map((dtype) => ({
        N,
        D,
        dtype,
        gradcMs: gradcBn.get(`${N}x${D}:${dtype}`)!,
        fusedMs: fusedBn.get(`${N}x${D}:${dtype}`)!,
        numpyMs: numpyBn.get(`${N}x${D}:${dtype}`) ?? null,
        torchMs: torchBn.get(`${N}x${D}:${dtype}`) ?? null,
        probeMs: probe.get(`${N}x${D}`) ?? null,
      })),
    ),
    iteration: (["f64", "f32"] as const).map((dtype) => ({
      dtype,
      gradcMs: gradcIt.get(dtype)!,
      numpyMs: numpyIt.get(dtype) ?? null,
      torchMs: torchIt.get(dtype) ?? null,
      ...(wasmIt.has(dtype) ? { wasmMs: wasmIt.get(dtype)! } : {}),
    })),
    threaded,
    experiment,
    peakGFlops,
    matmul,
  };
}

/**
 * `gradc bench batchnorm`: rows for numpy's batchnorm_backward_alt at the bench's shape, one per
 * dtype, with their ratio to gradc's compiled backward; a note instead when numpy is absent.
 */
export function addNumpyRows(report: BenchReport, N: number, D: number): void {
  const np = runNumpy([[N, D]], 30, "python3", false);
  if (!np.out) {
    report.notes.push(`numpy rows: none (${np.error}).`);
    return;
  }
  for (const c of np.out.batchnorm as { dtype: DType; ms: number }[]) {
    const baseline = `backward-compiled-${c.dtype}`;
    if (!report.rows.some((r) => r.id === baseline)) continue;
    report.rows.push({
      id: `backward-numpy-${c.dtype}`,
      label: "numpy `batchnorm_backward_alt` (the seed's code)",
      pass: "backward",
      dtype: c.dtype,
      baseline,
      ms: c.ms,
    });
  }
  addRatios(report.rows);
  report.notes.push(
    `numpy ${np.out.numpy} rows: the seed's batchnorm_backward_alt from the same kind of residuals, in a python3 child process with OPENBLAS_NUM_THREADS=1, median wall-clock time per call; ratio to gradc's compiled backward.`,
  );
}

const f = (x: number | null, d = 3) => (x === null ? "n/a" : x.toFixed(d));

/** Markdown: the ratio table (numpy / gradc: above 1, gradc is faster), the probe, the products. */
export function summarizeComparison(r: NumpyComparison): string {
  const m = r.machine;
  const lines = [
    `## gradc vs numpy, one run (median wall-clock ms per call, single thread both)`,
    `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}; numpy ${r.numpy ?? "absent"}${r.numpy ? " (OPENBLAS_NUM_THREADS=1)" : ""}; load average ${m.loadavgStart[0].toFixed(1)} at the start, ${m.loadavgEnd[0].toFixed(1)} at the end. Command: \`${r.command}\`.`,
  ];
  if (r.numpyMissing) lines.push("", `**No numpy rows: ${r.numpyMissing}.** gradc's figures below stand alone.`);
  const ratio = (a: number | null, b: number | null) => (a === null || b === null ? "n/a" : f(a / b, 2));
  lines.push(
    "",
    `### Side by side: gradc, PyTorch eager ${r.torch ?? "(absent)"} and numpy, one thread each`,
    "",
    ...(r.torchMissing ? [`**No PyTorch rows: ${r.torchMissing}.**`, ""] : []),
    "| work | dtype | gradc plain `run` ms | gradc loop mode ms | plain / loop | PyTorch eager ms | PyTorch / gradc plain | PyTorch / gradc loop | numpy ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...r.batchnorm.map(
      (c) =>
        `| batchnorm backward ${c.N}x${c.D} | ${c.dtype} | ${f(c.gradcMs)} | ${f(c.fusedMs)} | ${f(c.gradcMs / c.fusedMs, 2)} | ${f(c.torchMs)} | ${ratio(c.torchMs, c.gradcMs)} | ${ratio(c.torchMs, c.fusedMs)} | ${f(c.numpyMs)} |`,
    ),
    ...r.iteration.map(
      (c) =>
        `| training iteration, 6-layer net with batchnorm, batch 50 | ${c.dtype} | ${f(c.gradcMs)} | | | ${f(c.torchMs)} | ${ratio(c.torchMs, c.gradcMs)} | | ${f(c.numpyMs)} |`,
    ),
    ...r.attention.map(
      (c) =>
        `| attention forward + backward, T=${c.T}, d=${c.d}, ${c.heads === 1 ? "one head" : `${c.heads} heads`} | ${c.dtype} | ${f(c.gradcMs)} | | | ${f(c.torchMs)} | ${ratio(c.torchMs, c.gradcMs)} | | |`,
    ),
    "",
    "gradc plain `run`: `compile(g).run(feeds)` with no options (fresh outputs, large ones from the output pool; inputs copied where WebAssembly reads them; `node dist/bench/outputs.js` splits the difference); loop mode: `reuseOutputs` and inputs placed in the executable's `inputArray`s. PyTorch: `aten::native_batch_norm_backward` (its hand-written kernel), `nn.Sequential` of Linear/BatchNorm1d/ReLU with `cross_entropy` and `backward()`, and `softmax(q @ k.transpose(-2, -1) * scale) @ v` with `backward(dout)` (q, k, v [T,64], or [H,T,64] for H heads); `torch.set_num_threads(1)`, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in its child process. Above 1 in PyTorch / gradc: gradc is faster.",
    "",
    "| work | dtype | gradc ms | numpy ms | numpy / gradc | gradc reuseOutputs ms | that / probe |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...r.batchnorm.map(
      (c) =>
        `| batchnorm backward ${c.N}x${c.D} | ${c.dtype} | ${f(c.gradcMs)} | ${f(c.numpyMs)} | ${c.numpyMs === null ? "n/a" : f(c.numpyMs / c.gradcMs, 2)} | ${f(c.fusedMs)} | ${c.probeMs === null ? "n/a" : f(c.fusedMs / c.probeMs, 2)} |`,
    ),
    ...r.iteration.map(
      (c) =>
        `| training iteration, 6-layer net with batchnorm, batch 50 | ${c.dtype} | ${f(c.gradcMs)} | ${f(c.numpyMs)} | ${c.numpyMs === null ? "n/a" : f(c.numpyMs / c.gradcMs, 2)} | | |`,
    ),
    ...r.iteration
      .filter((c) => c.wasmMs !== undefined)
      .map(
        (c) =>
          `| the same, native kernels off (WebAssembly products) | ${c.dtype} | ${f(c.wasmMs!)} | ${f(c.numpyMs)} | ${c.numpyMs === null ? "n/a" : f(c.numpyMs / c.wasmMs!, 2)} | | |`,
      ),
    "",
    `Batchnorm: gradc's default run (\`compile(optimize(backward)).run\`, fresh output arrays, as numpy's function returns new arrays) against numpy's \`batchnorm_backward_alt\`; the reuseOutputs run (outputs in the executable's buffers and inputs in its \`inputArray\`s, the batchnorm table's "fused" row) against the probe: the float64 streaming probe over the same two sweeps' bytes (bench/probe.ts; the float32 runs move half its bytes). Iteration: \`net.loss(X, y)\`, forward and every gradient, both sides.`,
    "",
    ...("skipped" in r.experiment
      ? [`\`experiment deep\` end to end: not run (${r.experiment.skipped}).`]
      : [
          "| end to end: `gradc experiment deep` vs the notebook's code in numpy (`nn/numpy_reference.py`), CIFAR-10 subset, each a fresh process | dtype | gradc s | numpy s | numpy / gradc |",
          "| --- | --- | ---: | ---: | ---: |",
          ...r.experiment.map(
            (c) =>
              `| experiment deep (2 nets x 200 iterations, accuracy checks, start-up and data loading) | ${c.dtype} | ${f(c.gradcS, 2)} | ${f(c.numpyS, 2)} | ${c.numpyS === null ? "n/a" : f(c.numpyS / c.gradcS, 2)} |`,
          ),
        ]),
    "",
    `Two cores (its own rows, not compared with numpy): the iteration with \`threads: true\` (the first layer's two products split C with a helper thread: the native kernels' own, or the WebAssembly worker when they are off), one thread and two interleaved in the same run: ${r.threaded.map((t) => `${t.dtype} ${f(t.oneThreadWallMs)} -> ${f(t.twoThreadsWallMs)} ms (x${f(t.oneThreadWallMs / t.twoThreadsWallMs, 2)})`).join(", ")}.`,
    "",
    `Peak of 128-bit lanes (mul + add, no FMA; bench/peak.ts): f64x2 ${f(r.peakGFlops.f64, 1)} GFLOP/s, f32x4 ${f(r.peakGFlops.f32, 1)} GFLOP/s.` +
      (r.peakGFlops.native
        ? ` Native kernels' peak, the same loop in ${r.peakGFlops.native.bits}-bit vectors: f64 ${f(r.peakGFlops.native.f64, 1)} GFLOP/s, f32 ${f(r.peakGFlops.native.f32, 1)} GFLOP/s.`
        : " Native kernels: not built."),
    "",
    "| matrix product (fastest of its calls, as the peak is the best of its runs) | dtype | ms | GFLOP/s | of peak |",
    "| --- | --- | ---: | ---: | ---: |",
    ...r.matmul.map(
      (c) =>
        `| ${c.what}${c.kernel ? (c.kernel === "native" ? " (native)" : " (WebAssembly)") : ""} | ${c.dtype} | ${f(c.ms)} | ${f(c.gflops, 1)} | ${(c.ofPeak * 100).toFixed(0)}% |`,
    ),
    "",
    "Each product's share is of its own back end's peak: the native kernels' against the native peak, WebAssembly's against the 128-bit one.",
  );
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { sizes: { type: "string" }, reps: { type: "string" }, out: { type: "string", default: "bench/results/numpy.json" } },
  });
  // the output path is checked (its folder made) before the minutes of work, not after
  mkdirSync(dirname(values.out!), { recursive: true });
  const r = runNumpyComparison({ sizes: values.sizes ? parseSizes(values.sizes) : undefined, reps: values.reps ? Number(values.reps) : undefined });
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(r, null, 2) + "\n");
  console.log("\n" + summarizeComparison(r) + `\n\nResults written to ${values.out}`);
}
