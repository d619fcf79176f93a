// The statistics `inspect` prints for a graph before and after the optimizer (docs/stats.md), as
// data and as the two-column table, shared by the backward and the --hvp views.

import type { GraphStats } from "../compile/optimize/stats.js";

export type Stats = Pick<GraphStats, "reductionDepth" | "reductions" | "reducedElements" | "fullSizeReductions" | "elementwisePerElement">;

export const statsOf = (s: GraphStats): Stats => ({
  reductionDepth: s.reductionDepth,
  reductions: s.reductions,
  reducedElements: s.reducedElements,
  fullSizeReductions: s.fullSizeReductions,
  elementwisePerElement: s.elementwisePerElement,
});

/** The table's lines: a heading row naming the two columns, then one row per statistic. */
export function statsTable(title: string, columns: [string, string], a: Stats & { nodes: number }, b: Stats & { nodes: number }): string[] {
  const row = (label: string, x: number | string, y: number | string) => `  ${label.padEnd(26)}${String(x).padStart(8)}${String(y).padStart(11)}`;
  return [
    `${title.padEnd(28)}${columns[0].padStart(8)}${columns[1].padStart(11)}`,
    row("nodes", a.nodes, b.nodes),
    row("reduction depth", a.reductionDepth, b.reductionDepth),
    row("reductions", a.reductions, b.reductions),
    row("elements reduced", a.reducedElements, b.reducedElements),
    row("full-size reductions", a.fullSizeReductions, b.fullSizeReductions),
    row("elementwise ops / element", a.elementwisePerElement, b.elementwisePerElement),
  ];
}
