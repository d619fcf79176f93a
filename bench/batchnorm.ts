// `npm run bench`: the batchnorm backward, every way the issue lists, at the notebook's size and
// two large ones, float64 (float32 against TF.js). Prints benny's ops/s per case, then a markdown
// table of time per call and ratio to the fused kernel, and writes the results as JSON.
//
//   npm run bench                       # full run, ~5 minutes
//   node dist/bench/batchnorm.js --quick --out /tmp/bn.json
//   node dist/bench/batchnorm.js --sizes 100x500,2048x512 --no-outside

import "../ops/index.js"; // registers the builtin primitives
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { runChild, type ChildReply, type ChildRequest } from "./child.js";
import type { CompileTiming } from "./compile-worker.js";
import { checkCase, setupSize } from "./gradc.js";
import type { CompiledStats } from "../compile/codegen/compile.js";
import { probeBytes } from "./probe.js";
import { addRatios, checkTargets, markdownTable, ROWS, targetsTable, type Cell, type Row, type TargetResult } from "./report.js";
import { better, fmtMs, fullTiming, quickTiming, SLOW_MS, timeOnce, type Timing, type TimingOptions } from "./timing.js";

export interface BenchOptions {
  quick?: boolean;
  sizes?: [number, number][];
  /** Run the outside references (TF.js, jax-js) in child processes (default true). */
  outside?: boolean;
  /** Time compile in a fresh child process (default true). */
  compileTime?: boolean;
  seed?: number;
  log?: (line: string) => void;
}

export interface BenchResult {
  benchmark: "batchnorm-backward";
  date: string;
  command: string;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; v8: string; loadavgStart: number[]; loadavgEnd: number[] };
  timing: TimingOptions;
  seed: number;
  sizes: { N: number; D: number }[];
  rows: Row[];
  /** Probe bandwidth per size in GB/s (bytes moved by the two sweeps / probe time). */
  probeGBs: (number | null)[];
  /** compile's stats of the float64 fused executable per size: kernels, sweeps, bytes per call */
  fusedStats: CompiledStats[];
  compile: CompileTiming[] | null;
  targets: TargetResult[];
  notes: string[];
}

export const DEFAULT_SIZES: [number, number][] = [
  [100, 500],
  [1024, 1024],
  [4096, 1024],
];

/** The order cases are timed in at each size (each round): the fast ones first, on a quiet heap. */
const IN_PROCESS = ["fused", "alt-specialized", "probe", "fused-f32", "fused-copy", "alt", "staged", "interpreted", "naive"];

export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const log = opts.log ?? console.log;
  // quick mode leaves out the largest size: it is a smoke run, not a measurement
  const sizes = opts.sizes ?? (opts.quick ? DEFAULT_SIZES.slice(0, 2) : DEFAULT_SIZES);
  const timing = opts.quick ? quickTiming : fullTiming;
  const seed = opts.seed ?? 231;
  const notes: string[] = [];
  const loadavgStart = os.loadavg();
  const cells = new Map<string, Cell[]>(ROWS.map((r) => [r.id, []]));

  const fusedStats: CompiledStats[] = [];

  for (const [N, D] of sizes) {
    log(`\n# batchnorm backward ${N}x${D} (in-process)`);
    const setup = setupSize(N, D, seed);
    fusedStats.push(setup.fusedStats);
    const best = new Map<string, Timing>();
    for (let round = 0; round < timing.rounds; round++) {
      for (const id of IN_PROCESS) {
        const prev = best.get(id);
        if (prev && prev.ms >= SLOW_MS) continue;
        const c = setup.cases.find((k) => k.id === id)!;
        best.set(id, better(prev, await timeOnce(`${id} ${N}x${D}${round ? ` (round ${round + 1})` : ""}`, c.run, timing, log)));
      }
    }
    for (const id of IN_PROCESS) {
      const relErr = checkCase(setup.cases.find((k) => k.id === id)!, setup.reference);
      cells.get(id)!.push({ N, D, ...best.get(id)!, relErr });
    }
  }

  const request: ChildRequest = { sizes, timing, seed };
  const children: [string, string[], string[]][] = [
    ["tfjs-worker", ["wasm"], ["tfjs-wasm"]],
    ["tfjs-worker", ["cpu"], ["tfjs-cpu"]],
    ["jaxjs-worker", [], ["jaxjs-f32", "jaxjs-f64"]],
  ];
  for (const [script, args, ids] of children) {
    let reply: ChildReply;
    if (opts.outside === false) reply = { rows: [], notes: [], error: "outside references not run (--no-outside)" };
    else {
      log(`\n# ${ids.join(", ")} (child process)`);
      reply = await runChild(script, args, request, log);
    }
    notes.push(...reply.notes);
    if (reply.error && opts.outside !== false) notes.push(`${ids.join(", ")}: ${reply.error}`);
    for (const id of ids) {
      const got = reply.rows.find((r) => r.id === id);
      cells.set(
        id,
        sizes.map(([N, D], k) => {
          const c = got?.cells[k];
          if (!c || c.error || !c.timing) return { N, D, skipped: c?.error ?? reply.error ?? "no result" };
          return { N, D, ...c.timing, forwardMs: c.forward?.ms, relErr: c.relErr };
        }),
      );
    }
  }

  let compileTimes: CompileTiming[] | null = null;
  if (opts.compileTime !== false) {
    log("\n# compile time (fresh child process)");
    const reply = await runChild("compile-worker", [], { ...request, sizes: [[1024, 1024]] }, log);
    notes.push(...reply.notes.map((n) => `compile time: ${n}`));
    if (reply.error) notes.push(`compile time: ${reply.error}`);
    compileTimes = (reply.extra as CompileTiming[] | undefined) ?? null;
  }

  const rows: Row[] = ROWS.map((def) => ({ ...def, cells: cells.get(def.id)! }));
  addRatios(rows);
  const probe = rows.find((r) => r.id === "probe")!;
  const bn = compileTimes?.find((c) => c.what.startsWith("batchnorm"));
  const compileMs = bn ? bn.totalMs : null;
  notes.push(
    "† TF.js and jax-js rows run tf.grads / jit(grad) from x, recomputing the forward (how their users get gradients); gradc rows start from the forward's residuals.",
  );
  return {
    benchmark: "batchnorm-backward",
    date: new Date().toISOString(),
    command: ["node", "dist/bench/batchnorm.js", ...process.argv.slice(2)].join(" "),
    machine: { ...machine(), loadavgStart, loadavgEnd: os.loadavg() },
    timing,
    seed,
    sizes: sizes.map(([N, D]) => ({ N, D })),
    rows,
    probeGBs: probe.cells.map((c) => (c.ms === undefined ? null : probeBytes(c.N, c.D) / (c.ms / 1000) / 1e9)),
    fusedStats,
    compile: compileTimes,
    targets: checkTargets(rows, compileMs),
    notes,
  };
}

function machine() {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}

/** The human summary: machine, table, targets, compile times, notes. */
export function summarize(r: BenchResult): string {
  const m = r.machine;
  const parts = [
    `## Batchnorm backward, median time per call (x ratio to fused, same run)`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; load average ${m.loadavgStart[0].toFixed(1)} at the start, ${m.loadavgEnd[0].toFixed(1)} at the end. Command: \`${r.command}\`.`,
    `Median time per call in the best of ${r.timing.rounds} interleaved round(s) (benny, maxTime ${r.timing.maxTime} s, >= ${r.timing.minSamples} samples per round; one round for cases over ${SLOW_MS} ms).`,
    "",
    markdownTable(r.rows),
    "",
    `Probe bandwidth: ${r.probeGBs.map((g, k) => `${r.sizes[k].N}x${r.sizes[k].D} ${g === null ? "n/a" : g.toFixed(1)} GB/s`).join(", ")}.`,
  ];
  const outside = r.rows.filter((row) => row.cells.some((c) => c.forwardMs !== undefined));
  if (outside.length) {
    parts.push(
      "",
      `Forward alone (median), inside the † rows' times: ${outside.map((row) => `${row.id} ${row.cells.map((c) => (c.forwardMs === undefined ? "n/a" : fmtMs(c.forwardMs))).join(" / ")}`).join("; ")}.`,
    );
  }
  if (r.compile) {
    parts.push(
      "",
      "| compile (first call, fresh process) | trace | grad | optimize | codegen | total | nodes: backward -> optimized |",
      "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    for (const c of r.compile) {
      const ms = (x: number) => x.toFixed(1);
      parts.push(
        `| ${c.what} | ${ms(c.traceMs)} | ${ms(c.gradMs)} | ${ms(c.optimizeMs)} | ${ms(c.codegenMs)} | ${ms(c.totalMs)} | ${c.backwardNodes} -> ${c.optimizedNodes} |`,
      );
    }
  }
  parts.push("", targetsTable(r.targets), "", ...r.notes.map((n) => `- ${n}`));
  return parts.join("\n");
}

/** --sizes NxD[,NxD...] (also bench/numpy.ts's). */
export function parseSizes(s: string): [number, number][] {
  return s.split(",").map((p) => {
    const m = /^(\d+)x(\d+)$/.exec(p.trim());
    if (!m || +m[1] < 1 || +m[2] < 1) {
      // a flag typed wrong: one line, before any work (not a stack trace)
      console.error(`--sizes: expected NxD[,NxD...] with N, D >= 1, got "${p}"`);
      process.exit(2);
    }
    return [+m[1], +m[2]];
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string", default: "bench/results/batchnorm.json" },
      sizes: { type: "string" },
      "no-outside": { type: "boolean", default: false },
    },
  });
  const result = await runBench({ quick: values.quick, sizes: values.sizes ? parseSizes(values.sizes) : undefined, outside: !values["no-outside"] });
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(result, null, 2) + "\n");
  console.log("\n" + summarize(result) + `\n\nResults written to ${values.out}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
