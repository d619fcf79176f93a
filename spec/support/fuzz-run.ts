// npm run fuzz -- --graphs 100000 [--seed 1] [--replay SEED]
// npm run fuzz -- --json --graphs 100000: hostile JSON graph files instead (spec/support/json-fuzz.ts)
// Random graphs over the whole registry (spec/support/fuzz-walk.ts), each checked evaluate vs compile vs
// optimize (spec/support/fuzz-check.ts). Prints every mismatch with its seed, a triage (real vs near-tie
// comparisons flipped by rounding), op coverage, time and peak memory. Exit status 1 on a real
// mismatch. The loop yields to the event loop every 100 graphs so memory stays bounded.

import "../../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { parseArgs } from "node:util";
import { printGraph } from "../../core/graph.js";
import { walkCase, walkedOps } from "./fuzz-walk.js";
import { checkCase, type Mismatch } from "./fuzz-check.js";
import { defineFuzzOps } from "./fuzz-ops.js";
import { checkJsonCase, jsonCase } from "./json-fuzz.js";

const { values } = parseArgs({
  options: {
    graphs: { type: "string", default: "10000" },
    seed: { type: "string", default: "1" },
    replay: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
defineFuzzOps();
if (values.json) process.exit(await runJsonFuzz(Number(values.graphs), Number(values.seed), values.replay === undefined ? undefined : Number(values.replay)));

if (values.replay !== undefined) {
  const c = walkCase(Number(values.replay));
  console.log(`seed ${c.seed}: ${c.dtype}, gradient order ${c.order}, ops ${c.ops.join(", ")}`);
  console.log(printGraph(c.graph));
  const found = checkCase(c);
  for (const m of found) console.log(`${m.kind} ${m.variant}: ${m.what}`);
  if (found.length === 0) console.log("no mismatch");
  process.exit(found.some((m) => m.kind === "real") ? 1 : 0);
}

const graphs = Number(values.graphs);
const first = Number(values.seed);
if (!Number.isInteger(graphs) || graphs < 1 || !Number.isInteger(first)) {
  console.error("fuzz: --graphs must be a positive integer and --seed an integer");
  process.exit(2);
}
const { ops, unsampled } = walkedOps();
console.log(`fuzz: ${graphs} graphs from seed ${first}; walking ${ops.length} ops (${ops.map((d) => d.name).join(", ")})`);
if (unsampled.length) console.log(`fuzz: not walked (no sampler): ${unsampled.join(", ")}`);

const t0 = performance.now();
const mismatches: Mismatch[] = [];
const generatorErrors: string[] = [];
const coverage = new Map<string, number>();
const orders = [0, 0, 0];
let f32 = 0;
for (let i = 0; i < graphs; i++) {
  const seed = first + i;
  try {
    const c = walkCase(seed);
    orders[c.order]++;
    if (c.dtype === "f32") f32++;
    for (const op of new Set(c.graph.nodes().map((n) => n.op))) coverage.set(op, (coverage.get(op) ?? 0) + 1);
    for (const m of checkCase(c)) {
      mismatches.push(m);
      console.log(`mismatch (${m.kind}) seed ${m.seed} ${m.variant}: ${m.what}`);
    }
  } catch (e) {
    generatorErrors.push(`seed ${seed}: ${(e as Error).message.split("\n")[0]}`);
    console.log(`case error seed ${seed}: ${(e as Error).message.split("\n")[0]}`);
  }
  if ((i + 1) % 100 === 0) await new Promise((r) => setImmediate(r)); // the job ends: weakly held nodes can go
  if ((i + 1) % 10000 === 0)
    console.log(`  ${i + 1} graphs, ${((performance.now() - t0) / 1000).toFixed(0)} s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
}
const real = mismatches.filter((m) => m.kind === "real");
const ulp = mismatches.length - real.length;
const never = ops.map((d) => d.name).filter((name) => !coverage.has(name));
console.log(
  `fuzz: ${graphs} graphs (${f32} float32; forward ${orders[0]}, gradient ${orders[1]}, second order ${orders[2]}) in ${((performance.now() - t0) / 1000).toFixed(1)} s, peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
console.log(`fuzz: mismatches: ${real.length} real, ${ulp} near-tie (comparisons flipped by rounding); ${generatorErrors.length} case errors`);
console.log(
  `fuzz: graphs per op: ${[...coverage]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ")}`,
);
if (never.length) console.log(`fuzz: walked ops never in a graph: ${never.join(", ")}`);
for (const m of real.slice(0, 50))
  console.log(`  real: seed ${m.seed} ${m.variant}: ${m.what}   (replay: node dist/spec/support/fuzz-run.js --replay ${m.seed})`);
process.exit(real.length || generatorErrors.length ? 1 : 0);

/** The JSON fuzzer's run: every finding with its seed and edits, a count by edit, time and memory; 1 when anything was found. */
async function runJsonFuzz(files: number, first: number, replay?: number): Promise<number> {
  if (replay !== undefined) {
    const c = jsonCase(replay);
    console.log(`seed ${replay}: edits ${c.edits.join(", ")}\n${c.text}`);
    const found = checkJsonCase(c);
    for (const f of found) console.log(`finding: ${f.what}`);
    return found.length ? 1 : 0;
  }
  const t0 = performance.now();
  let findings = 0;
  const byEdit = new Map<string, number>();
  for (let i = 0; i < files; i++) {
    const c = jsonCase(first + i);
    for (const e of c.edits) byEdit.set(e, (byEdit.get(e) ?? 0) + 1);
    for (const f of checkJsonCase(c)) {
      findings++;
      console.log(`finding seed ${f.seed} (${f.edits.join(", ")}): ${f.what}   (replay: node dist/spec/support/fuzz-run.js --json --replay ${f.seed})`);
    }
    if ((i + 1) % 100 === 0) await new Promise((r) => setImmediate(r));
    if ((i + 1) % 10000 === 0)
      console.log(`  ${i + 1} files, ${((performance.now() - t0) / 1000).toFixed(0)} s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
  }
  console.log(
    `fuzz --json: ${files} hostile files from seed ${first} in ${((performance.now() - t0) / 1000).toFixed(1)} s, peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB: ${findings} findings`,
  );
  console.log(
    `fuzz --json: edits: ${[...byEdit]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
  );
  return findings ? 1 : 0;
}
