// The derived attention backward, naive against optimized, in the same run: interpreted (the
// reference interpreter, node by node) and compiled (fused loop kernels), float64 and float32,
// median CPU time per call.
// The optimized form reads the forward's output O for the row statistic rowsum(dO * O) instead of
// reducing dP * P over [T,T] (compile/optimize/contraction.ts).
//
//   node dist/bench/attention.js [--T 512] [--d 64] [--rounds 7] [--json]

import "../ops/index.js"; // registers the builtin primitives
import { parseArgs } from "node:util";
import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import { Tensor, type DType } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";
import { compile } from "../compile/codegen/compile.js";
import { zooGraph } from "../ops/zoo.js";
import { mulberry32 } from "../core/mulberry32.js";

export interface AttentionBenchRow {
  dtype: DType;
  mode: "interpreted" | "compiled";
  naiveMs: number;
  optimizedMs: number;
  /** naive / optimized: above 1 means the optimized backward is faster. */
  speedup: number;
}

const random = (shape: readonly number[], dtype: DType, r: () => number) => {
  const n = shape.reduce((m, s) => m * s, 1);
  const data = dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = 2 * r() - 1;
  return new Tensor(data, shape);
};

/** CPU milliseconds of this process (user + system): a shared machine's load does not count. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Median CPU milliseconds per call of each function, timed in interleaved rounds. CPU time, not
 * wall time: on a machine shared with other jobs, waiting for a core is not the code's cost.
 */
function timeInterleaved(fns: (() => unknown)[], rounds: number): number[] {
  const samples: number[][] = fns.map(() => []);
  for (const f of fns) f(); // warm-up (and compile caches)
  for (let k = 0; k < rounds; k++) {
    fns.forEach((f, i) => {
      const t0 = cpuMs();
      f();
      samples[i].push(cpuMs() - t0);
    });
  }
  return samples.map((s) => s.sort((p, q) => p - q)[Math.floor(s.length / 2)]);
}

export function benchAttention(T: number, d: number, rounds: number, log: (line: string) => void = console.log): AttentionBenchRow[] {
  const rows: AttentionBenchRow[] = [];
  for (const dtype of ["f64", "f32"] as DType[]) {
    const { forward, backward } = vjp(zooGraph("attention", [T, d], dtype));
    const optimized = optimize(backward);
    const r = mulberry32(1);
    const fin = Object.fromEntries(forward.inputs.map((x) => [x.name, random(x.shape, dtype, r)]));
    const fout = evaluate(forward, fin);
    const dout = random(backward.input("dout").shape, dtype, r);
    // each backward takes what it reads: the optimized one reads the forward's output O too
    const feed = (g: Graph) => Object.fromEntries(g.inputs.map((x) => [x.name, fout[x.name] ?? fin[x.name] ?? dout]));
    const inputs = feed(backward),
      optInputs = feed(optimized);
    const describe = (g: Graph) => {
      const s = stats(g);
      const reduced = g
        .nodes()
        .filter((n) => n.def?.kind === "reduce")
        .map((n) => `[${n.inputs[0].shape}]`);
      return `${s.nodes} nodes, reductions over ${reduced.join(" ") || "nothing"}`;
    };
    log(`attention backward at T=${T}, d=${d}, ${dtype}: naive ${describe(backward)}; optimized ${describe(optimized)}`);
    const [ni, oi] = timeInterleaved([() => evaluate(backward, inputs), () => evaluate(optimized, optInputs)], rounds);
    rows.push({ dtype, mode: "interpreted", naiveMs: ni, optimizedMs: oi, speedup: ni / oi });
    const naiveExe = compile(backward),
      optExe = compile(optimized);
    const [nc, oc] = timeInterleaved([() => naiveExe.run(inputs), () => optExe.run(optInputs)], rounds);
    rows.push({ dtype, mode: "compiled", naiveMs: nc, optimizedMs: oc, speedup: nc / oc });
    // the two agree (the bench times the same function twice over)
    const a = optExe.run(optInputs),
      c = evaluate(backward, inputs);
    for (const k of Object.keys(c)) {
      let diff = 0,
        scale = 0;
      c[k].data.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - a[k].data[i]));
        scale = Math.max(scale, Math.abs(v));
      });
      if (!(diff <= (dtype === "f32" ? 1e-3 : 1e-10) * scale)) throw new Error(`attention bench: ${k} differs by ${diff} (scale ${scale}) in ${dtype}`);
    }
  }
  return rows;
}

function main() {
  const { values } = parseArgs({
    options: {
      T: { type: "string", default: "512" },
      d: { type: "string", default: "64" },
      rounds: { type: "string", default: "7" },
      json: { type: "boolean", default: false },
    },
  });
  const [T, d, rounds] = [values.T, values.d, values.rounds].map(Number);
  if (![T, d, rounds].every((v) => Number.isInteger(v) && v > 0 && v <= 1 << 14))
    throw new Error("attention bench: --T, --d and --rounds must be positive integers");
  const rows = benchAttention(T, d, rounds, values.json ? () => {} : console.log);
  if (values.json) {
    console.log(JSON.stringify({ T, d, rounds, rows }, null, 2));
    return;
  }
  console.log(`\n${"dtype".padEnd(6)}${"mode".padEnd(13)}${"naive".padStart(11)}${"optimized".padStart(11)}${"naive/opt".padStart(11)}`);
  for (const r of rows) {
    console.log(
      `${r.dtype.padEnd(6)}${r.mode.padEnd(13)}${r.naiveMs.toFixed(2).padStart(8)} ms${r.optimizedMs.toFixed(2).padStart(8)} ms${r.speedup.toFixed(2).padStart(10)}x`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
