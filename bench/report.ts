// The benchmark's rows as data, the markdown table, and the targets checked against one
// run's ratios. A ratio is a row's time over the fused kernel's time at the same size in the same
// run (float32 rows over the float32 fused kernel): 45 means the fused kernel is 45x faster.

import { fmtMs } from "./timing.js";

export interface RowDef {
  id: string;
  label: string;
  dtype: "f64" | "f32";
  /** the row the ratio divides by */
  baseline: "fused" | "fused-f32";
}

export const ROWS: readonly RowDef[] = [
  { id: "naive", label: "naive: evaluate(vjp backward)", dtype: "f64", baseline: "fused" },
  { id: "interpreted", label: "optimized, interpreted: evaluate(optimize(backward))", dtype: "f64", baseline: "fused" },
  { id: "fused", label: "**fused: compile(optimize(backward), {reuseOutputs}).run**", dtype: "f64", baseline: "fused" },
  { id: "fused-copy", label: "fused, default run (fresh output arrays)", dtype: "f64", baseline: "fused" },
  { id: "alt", label: "alt kernel, ordinary TS function", dtype: "f64", baseline: "fused" },
  { id: "alt-specialized", label: "alt kernel, hand-specialized (new Function)", dtype: "f64", baseline: "fused" },
  { id: "staged", label: "notebook's staged backward in TS", dtype: "f64", baseline: "fused" },
  { id: "probe", label: "bandwidth probe (the two sweeps' bytes)", dtype: "f64", baseline: "fused" },
  { id: "jaxjs-f64", label: "jax-js wasm jit(grad), f64 †", dtype: "f64", baseline: "fused" },
  { id: "fused-f32", label: "**fused, float32 {reuseOutputs}**", dtype: "f32", baseline: "fused-f32" },
  { id: "tfjs-wasm", label: "TF.js WASM tf.grads, f32 †", dtype: "f32", baseline: "fused-f32" },
  { id: "tfjs-cpu", label: "TF.js CPU tf.grads, f32 †", dtype: "f32", baseline: "fused-f32" },
  { id: "jaxjs-f32", label: "jax-js wasm jit(grad), f32 †", dtype: "f32", baseline: "fused-f32" },
];

export interface Cell {
  N: number;
  D: number;
  /** median ms per call */
  ms?: number;
  meanMs?: number;
  opsPerSec?: number;
  marginPct?: number;
  samples?: number;
  /** this row's time / the baseline's time; null when either is missing */
  ratio?: number | null;
  /** outside references: median ms of their forward alone (their grad recomputes it) */
  forwardMs?: number;
  /** max |got - want| / max |want| against the float64 alt kernel's gradients */
  relErr?: number;
  /** why there is no measurement */
  skipped?: string;
}

export interface Row extends RowDef {
  cells: Cell[];
}

/** Fill in every cell's ratio to its baseline row at the same size. */
export function addRatios(rows: Row[]): void {
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const row of rows) {
    row.cells.forEach((cell, k) => {
      const base = byId.get(row.baseline)?.cells[k];
      cell.ratio = cell.ms !== undefined && base?.ms !== undefined ? cell.ms / base.ms : null;
    });
  }
}

const sizeName = (c: { N: number; D: number }) => `${c.N}x${c.D}`;

/** Rows = implementations, columns = sizes, cells "time (x ratio)". */
export function markdownTable(rows: readonly Row[]): string {
  const sizes = rows[0]?.cells.map(sizeName) ?? [];
  const lines = [`| implementation | ${sizes.join(" | ")} |`, `| --- | ${sizes.map(() => "---:").join(" | ")} |`];
  for (const row of rows) {
    const cells = row.cells.map((c) => {
      if (c.ms === undefined) return "n/a";
      const ratio = c.ratio == null ? "" : ` (x${c.ratio >= 10 ? c.ratio.toFixed(0) : c.ratio.toFixed(2)})`;
      return `${fmtMs(c.ms)}${ratio}`;
    });
    lines.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export interface TargetResult {
  target: string;
  size: string;
  /** the measured ratio, oriented so that bigger is better for gradc */
  measured: number | null;
  required: number;
  met: boolean | null;
}

interface Target {
  target: string;
  row: string;
  required: number;
  largeOnly?: boolean;
}

const TARGETS: readonly Target[] = [
  { target: "fused >= 30x faster than naive", row: "naive", required: 30 },
  { target: "fused >= 2x faster than the ordinary alt function", row: "alt", required: 2 },
  { target: "fused >= 0.95x the hand-specialized alt kernel", row: "alt-specialized", required: 0.95 },
  { target: "fused f32 >= 5x faster than TF.js WASM", row: "tfjs-wasm", required: 5 },
  { target: "fused f32 >= 100x faster than TF.js CPU", row: "tfjs-cpu", required: 100 },
  { target: "fused within 2x of the bandwidth probe (probe/fused >= 0.5)", row: "probe", required: 0.5, largeOnly: true },
];

export function checkTargets(rows: readonly Row[], compileMs: number | null): TargetResult[] {
  const out: TargetResult[] = [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const t of TARGETS) {
    for (const cell of byId.get(t.row)?.cells ?? []) {
      if (t.largeOnly && cell.N * cell.D < 1024 * 1024) continue;
      const measured = cell.ratio ?? null;
      out.push({ target: t.target, size: sizeName(cell), measured, required: t.required, met: measured === null ? null : measured >= t.required });
    }
  }
  // for compile time smaller is better: express it as 100 ms / measured
  out.push({
    target: "compile (trace + vjp + optimize + codegen) of batchnorm < 100 ms, first call",
    size: "-",
    measured: compileMs,
    required: 100,
    met: compileMs === null ? null : compileMs < 100,
  });
  return out;
}

export function targetsTable(results: readonly TargetResult[]): string {
  const lines = ["| target | size | measured | met |", "| --- | --- | ---: | --- |"];
  for (const r of results) {
    const isCompile = r.size === "-";
    const measured = r.measured === null ? "n/a" : isCompile ? fmtMs(r.measured) : `x${r.measured.toPrecision(3)}`;
    const met =
      r.met === null
        ? "not measured"
        : r.met
          ? "yes"
          : isCompile
            ? `no (${(r.measured! / r.required).toFixed(2)}x over)`
            : `no (${((r.measured! / r.required) * 100).toFixed(0)}% of target)`;
    lines.push(`| ${r.target} | ${r.size} | ${measured} | ${met} |`);
  }
  return lines.join("\n");
}
