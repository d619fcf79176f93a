// The README's table for the softmax family and attention: each zoo graph's backward as derived by
// autodiff and as optimized, with its reductions (how many, how deep, how many elements they
// sweep) and its compiled kernels and sweeps.
//
//   node dist/bench/derive-table.js [--json]

import "../ops/index.js"; // registers the builtin primitives
import type { Graph } from "../core/graph.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";
import { compile } from "../compile/codegen/compile.js";
import { zoo } from "../ops/zoo.js";

export interface Figures {
  nodes: number;
  depth: number;
  reductions: number;
  /** Elements read by all reductions together. */
  swept: number;
  kernels: number;
  sweeps: number;
}

export function figures(g: Graph): Figures {
  const s = stats(g);
  const reductions = g.nodes().filter((n) => n.inputs.length > 0 && n.def.kind === "reduce");
  const { kernels, sweeps } = compile(g).stats;
  return {
    nodes: s.nodes,
    depth: s.reductionDepth,
    reductions: reductions.length,
    swept: reductions.reduce((m, n) => m + n.inputs[0].size, 0),
    kernels,
    sweeps,
  };
}

export const families = ["softmax", "log-softmax", "logsumexp", "softmax-cross-entropy", "attention"];

export function deriveTable(): { graph: string; shape: number[]; derived: Figures; optimized: Figures }[] {
  return families.map((name) => {
    const entry = zoo[name];
    const g = entry.build(entry.shape);
    const derived = vjp(g, { of: "out" }).backward;
    return { graph: name, shape: [...entry.shape], derived: figures(derived), optimized: figures(optimize(derived)) };
  });
}

function main() {
  const rows = deriveTable();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const cols = (f: Figures) => [f.nodes, f.depth, f.reductions, f.swept, f.kernels, f.sweeps].join(" | ");
  console.log(
    "| graph | shape | derived: nodes | depth | reductions | elements swept | kernels | sweeps | optimized: nodes | depth | reductions | elements swept | kernels | sweeps |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.graph} | ${r.shape.join("x")} | ${cols(r.derived)} | ${cols(r.optimized)} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
