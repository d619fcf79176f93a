// view(graph): the viewer's self-contained HTML page for a traced forward graph (its derived
// backward, the optimizer's derivation, the compiled kernels), written to a file when asked.

import { writeFileSync } from "node:fs";
import { checkOutputPath } from "./output-path.js";
import type { Graph } from "../core/graph.js";
import { viewData, type ViewOptions as DataOptions } from "./data.js";
import type { PageData } from "./model.js";
import { buildPage } from "./page.js";
import { checkGraph, checkRecord } from "../core/args.js";

export { viewData } from "./data.js";

export interface ViewOptions extends DataOptions {
  /** Write the page to this file; `view` returns its absolute path. */
  out?: string;
}

export interface ViewResult {
  html: string;
  /** Where the page was written, when `out` was given. */
  path?: string;
  data: PageData;
}

/**
 * The viewer page for a traced forward graph: the derivation (every rewrite with its law, a proof
 * sketch), the step player, forward, derived and optimized backward with its kernels as clusters,
 * an editor that re-derives in the page, and the bench chart when given. One HTML file, no network.
 *
 *   const g = trace({ x: [200, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out);
 *   const { path } = view(g, { out: "bn.html" });   // open it in a browser
 */
export function view(graph: Graph, opts: ViewOptions = {}): ViewResult {
  checkGraph("view", "the graph", graph);
  checkRecord("view", "options", opts);
  const path = opts.out === undefined ? undefined : checkOutputPath("view", "out", opts.out); // before the work
  const data = viewData(graph, opts);
  const html = buildPage(data);
  if (!path) return { html, data };
  writeFileSync(path, html);
  return { html, path, data };
}
