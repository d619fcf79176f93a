// The self-contained HTML page: d3's minified bundle, the layout, drawing and client functions
// (inlined by their source) and the data as JSON, in one file that opens from disk with no network.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { layoutDag } from "./layout.js";
import { drawGraph, GRAPH_CSS } from "./draw.js";
import { main, makePane, renderBench, renderKernels, setupPlayer, showInfo, statsTable } from "./client.js";
import type { PageData } from "./model.js";

/** Where d3's minified UMD bundle is (d3's "exports" hide dist/: found from its entry point). */
export function d3BundlePath(): string {
  let dir = dirname(createRequire(import.meta.url).resolve("d3"));
  while (!existsSync(join(dir, "dist", "d3.min.js")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, "dist", "d3.min.js");
}

let d3Source: string | undefined;
/** d3's UMD bundle from node_modules (defines the global `d3`). */
export function d3Bundle(): string {
  d3Source ??= readFileSync(d3BundlePath(), "utf8");
  return d3Source;
}

/** JSON that is safe inside a <script> element: no `<` survives, so `</script>` cannot close it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Code inlined into a <script>: a literal `</script` inside it would end the element early. */
const scriptCode = (code: string) => code.replace(/<\/(script)/gi, "<\\/$1");

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE_CSS = `
body { font: 14px system-ui, sans-serif; margin: 0 20px 40px; color: #1d232a; }
h1 { font-size: 20px; margin: 16px 0 2px; } h2 { font-size: 16px; margin: 26px 0 6px; }
.sub { color: #56606b; margin-bottom: 8px; }
.pane { height: 640px; border: 1px solid #cfd5db; border-radius: 6px; background: #fbfcfd; overflow: hidden; position: relative; }
.pane svg.graph { width: 100%; height: 100%; cursor: grab; display: block; }
.row { display: flex; gap: 12px; } .row > div { flex: 1; min-width: 0; }
.caption { font-weight: 600; margin: 4px 0; }
#info { position: sticky; top: 0; z-index: 5; background: #fffdf3; border: 1px solid #e4d9a8; border-radius: 6px; padding: 6px 10px; margin: 8px 0; font-size: 13px; }
#info code { font: 12.5px ui-monospace, Menlo, Consolas, monospace; }
#info span.k { color: #56606b; margin-left: 12px; }
table.stats { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
table.stats td, table.stats th { border-bottom: 1px solid #e3e7eb; padding: 3px 12px; text-align: right; }
table.stats td:first-child { text-align: left; color: #56606b; }
table.stats td.changed { color: #1a7a2a; font-weight: 700; }
.node, .kernel { cursor: pointer; }
.node.sel rect { stroke: #111; stroke-width: 3px; }
.node.in rect { stroke: #1f6fd1; stroke-width: 3px; }
.node.out rect { stroke: #c2410c; stroke-width: 3px; }
.edge.in { stroke: #1f6fd1; stroke-width: 2.5px; stroke-opacity: 1; }
.edge.out { stroke: #c2410c; stroke-width: 2.5px; stroke-opacity: 1; }
.node.matched rect { stroke: #e08a00; stroke-width: 3.5px; fill: #ffe1a8; }
.node.vanish rect { stroke: #c62828; stroke-width: 3px; stroke-dasharray: 5 3; fill: #ffd9d9; }
.node.vanish text { text-decoration: line-through; fill: #9b1c1c; }
.node.produced rect { stroke: #15803d; stroke-width: 3.5px; fill: #bff0c9; }
#player .controls { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
#player input[type=range] { flex: 1; }
#player-rule { font: 600 15px ui-monospace, Menlo, monospace; color: #7c2d12; }
.legend-key span { display: inline-block; padding: 1px 8px; margin-right: 6px; border-radius: 4px; border: 1px solid #999; font-size: 12px; }
#player.empty > :not(h2):not(.sub) { display: none; }
#bench-section.empty, #backward-section.empty { display: none; }
details.kernel-info pre { background: #f5f7f9; padding: 8px; overflow: auto; max-height: 420px; font-size: 12px; }
svg.bench text.legend, svg.bench text.axis-label { font: 12px system-ui, sans-serif; fill: #333; }
${GRAPH_CSS}`;

const BODY = `
<h1 id="title"></h1>
<div class="sub" id="subtitle"></div>
<div id="info">Hover a node: <code id="info-text">—</code>
  <span class="k">shape</span> <code id="info-shape">—</code>
  <span class="k">dtype</span> <code id="info-dtype">—</code>
  <span class="k">kind</span> <span id="info-kind">—</span>
  <span class="k">forward value</span> <code id="info-from">—</code>
  <span class="k">(click: inputs blue, consumers orange; drag and scroll to pan and zoom)</span></div>
<div class="legend-key"><span class="kind-input" style="background:#d7ecff">input</span><span style="background:#f1f1f1">constant</span><span style="background:#e3f4e1">elementwise</span><span style="background:#fde2c8">reduction</span><span style="background:#efe6fa">broadcast / reshape</span><span style="border:2px solid #8a2b2b">output</span></div>
<section id="forward-section"><h2>Forward graph</h2><div class="pane" id="pane-forward"></div><div id="stats-forward"></div></section>
<section id="backward-section"><h2>Backward: derived by autodiff vs optimized (kernels drawn as clusters)</h2>
<div class="row"><div><div class="caption">derived (naive)</div><div class="pane" id="pane-backward"></div></div>
<div><div class="caption">optimized</div><div class="pane" id="pane-optimized"></div></div></div>
<div id="stats-compare"></div></section>
<section id="player"><h2>Rewrite player</h2><div class="sub" id="player-note"></div>
<div class="controls"><button id="player-first">first</button><button id="player-prev">◀ step</button>
<input type="range" id="player-slider" min="1" max="1" value="1"><button id="player-next">step ▶</button><button id="player-last">last</button></div>
<div>rule: <span id="player-rule"></span></div><div id="player-counts"></div>
<div class="legend-key"><span style="background:#ffe1a8">matched</span><span style="background:#ffd9d9">vanishes (cancels)</span><span style="background:#bff0c9">produced</span></div>
<div class="row"><div><div class="caption">before the step</div><div class="pane" id="player-before"></div></div>
<div><div class="caption">after the step</div><div class="pane" id="player-after"></div></div></div></section>
<section id="kernels-section"><h2>Compiled kernels</h2><div id="kernels"></div></section>
<section id="bench-section"><h2>Benchmark: time per call</h2><div id="bench"></div></section>`;

/** The whole page as one HTML string. */
export function buildPage(data: PageData): string {
  const functions = [layoutDag, drawGraph, showInfo, makePane, statsTable, setupPlayer, renderKernels, renderBench, main];
  const code = functions.map((f) => f.toString()).join("\n\n");
  const boot = `
var data = JSON.parse(document.getElementById("gradc-data").textContent);
document.getElementById("title").textContent = data.title;
document.getElementById("subtitle").textContent = data.subtitle;
main(d3, data);`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<style>${PAGE_CSS}</style></head>
<body>${BODY}
<script>${scriptCode(d3Bundle())}</script>
<script type="application/json" id="gradc-data">${scriptJson(data)}</script>
<script>"use strict";
${scriptCode(code)}
${boot}
</script>
</body></html>
`;
}
