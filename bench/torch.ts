// PyTorch eager rows for the side-by-side benchmark (bench/numpy.ts): bench/torch_bench.py in a
// child process of a python3 that has torch, one thread. A comparison only: gradc never depends
// on PyTorch, and where no python3 has it the benchmark says so and goes on without the rows.
//
// Debian's torch (`apt-get install python3-torch libopenblas0-pthread`) belongs to /usr/bin/python3,
// which need not be the first python3 on PATH: both are tried, /usr/bin/python3 first. Some
// machines set OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which slow OpenBLAS's products about 1.6x:
// they are unset in the child only.

import "../ops/index.js"; // registers the builtin primitives
import { execFileSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluate } from "../core/evaluate.js";
import { Tensor, type DType } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { compile } from "../compile/codegen/compile.js";
import { optimize } from "../compile/optimize/optimize.js";
import { zooGraph } from "../ops/zoo.js";
import { mulberry32 } from "../core/mulberry32.js";

const here = dirname(fileURLToPath(import.meta.url));
/** bench/torch_bench.py in the sources (dist/bench -> ../../bench). */
const SCRIPT = join(here, "..", "..", "bench", "torch_bench.py");
const PYTHONS = ["/usr/bin/python3", "python3"];

export interface TorchOut {
  torch: string;
  threads: number;
  batchnorm: { N: number; D: number; dtype: DType; ms: number }[];
  iteration: Partial<Record<DType, number>>;
  attention: { heads: number; T: number; d: number; dtype: DType; ms: number }[];
}

/** The child's environment: one thread for every library, the two OpenBLAS tuning variables unset. */
export function torchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

let found: { python: string } | { missing: string } | undefined;

/** The first python3 that imports torch, or why there is none (asked once per process). */
export function torchPython(): { python: string } | { missing: string } {
  if (found) return found;
  const tried: string[] = [];
  for (const python of PYTHONS) {
    const r = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { env: torchEnv(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (r.status === 0) return (found = { python });
    tried.push(`${python}: ${r.error ? "not found" : "no torch"}`);
  }
  return (found = { missing: `no python3 with torch (${tried.join("; ")}); on Debian: apt-get install python3-torch libopenblas0-pthread` });
}

/** Run bench/torch_bench.py; when no python3 has torch, say so instead. */
export function runTorch(sizes: [number, number][], reps: number, T: number[], iteration = true, heads: number[] = [1]): { out?: TorchOut; error?: string } {
  const p = torchPython();
  if ("missing" in p) return { error: p.missing };
  try {
    const text = execFileSync(p.python, [SCRIPT, JSON.stringify({ sizes, reps, T, iteration, heads })], {
      env: torchEnv(),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 1 << 24,
    });
    return { out: JSON.parse(text) as TorchOut };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { error: `torch run failed: ${(err.stderr || err.message).trim().split("\n").pop()}` };
  }
}

/**
 * gradc's attention forward then backward (zooGraph("attention", [T, d]) for one head, [H, T, d]
 * for H) through the plain API: the pair `optimize(vjp(g))` (the forward cut to the residuals the
 * optimized backward reads, as autograd saves only what its backward uses), `compile(forward).run`,
 * then `compile(backward).run` on its residuals, one thread, fresh outputs each call (as PyTorch
 * eager allocates its own).
 */
export function attentionCase(T: number, d: number, dtype: DType, heads = 1): () => unknown {
  const { forward, backward } = optimize(vjp(zooGraph("attention", heads === 1 ? [T, d] : [heads, T, d], dtype)));
  const fwd = compile(forward);
  const bwd = compile(backward);
  const r = mulberry32(1);
  const random = (shape: readonly number[]) => {
    const n = shape.reduce((m, s) => m * s, 1);
    const data = dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = 2 * r() - 1;
    return new Tensor(data, shape);
  };
  const fin = Object.fromEntries(forward.inputs.map((x) => [x.name, random(x.shape)]));
  const dout = random(bwd.graph.input("dout").shape);
  // the compiled pair agrees with the interpreter before it is timed
  const want = evaluate(forward, fin);
  const got = fwd.run(fin);
  for (const k of Object.keys(want)) {
    let scale = 0;
    let diff = 0;
    want[k].data.forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      diff = Math.max(diff, Math.abs(v - got[k].data[i]));
    });
    if (!(diff <= (dtype === "f32" ? 1e-4 : 1e-12) * Math.max(scale, 1)))
      throw new Error(`attention case: forward output ${k} differs from evaluate by ${diff}`);
  }
  return () => {
    const out = fwd.run(fin);
    const feed = Object.fromEntries(bwd.graph.inputs.map((x) => [x.name, out[x.name] ?? fin[x.name] ?? dout]));
    return bwd.run(feed);
  };
}
