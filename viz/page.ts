// The self-contained HTML page: gradc bundled for the browser by esbuild (the viewer with the
// parts of d3 it uses, and the compiler, so the page's editor re-derives offline) and the data as
// JSON, in one file that opens from disk with no network.

import { existsSync, readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GradcError } from "../core/errors.js";
import { GRAPH_CSS } from "./draw.js";
import type { PageData, VizKernel } from "./model.js";
import { pageGradc } from "./page-api.js";

const require = createRequire(import.meta.url);

/** Where d3's minified UMD bundle is (d3's "exports" hide dist/: found from its entry point). */
export function d3BundlePath(): string {
  let dir = dirname(require.resolve("d3"));
  while (!existsSync(join(dir, "dist", "d3.min.js")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, "dist", "d3.min.js");
}

let d3Source: string | undefined;
/** d3's UMD bundle from node_modules (defines the global `d3`). */
export function d3Bundle(): string {
  d3Source ??= readFileSync(d3BundlePath(), "utf8");
  return d3Source;
}

let gradcSource: string | undefined;
/** Where `npm pack` leaves the viewer bundle (viz/prebuild.ts), for installs without esbuild. */
export const PREBUILT_BUNDLE = fileURLToPath(new URL("./viewer.bundle.js", import.meta.url));

/** esbuild when it is installed (a devDependency: the clone has it, an installed gradc may not). */
export function loadEsbuild(): typeof import("esbuild") | null {
  try {
    return require("esbuild") as typeof import("esbuild");
  } catch {
    return null;
  }
}

/** viz/browser.js and everything it imports, one minified script defining the global `gradcViewer`. */
export function bundleViewer(esbuild: typeof import("esbuild")): string {
  const entry = fileURLToPath(new URL("./browser.js", import.meta.url));
  const out = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "iife",
    globalName: "gradcViewer",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0].text;
}

/**
 * gradc for the browser. With esbuild (about 0.1 s, once per process) it is bundled from the
 * compiled files beside this one, so it is never stale; an installed package without esbuild
 * reads the bundle `npm pack` wrote.
 */
export function gradcBundle(): string {
  if (gradcSource) return gradcSource;
  const esbuild = loadEsbuild();
  if (esbuild) gradcSource = bundleViewer(esbuild);
  else if (existsSync(PREBUILT_BUNDLE)) gradcSource = readFileSync(PREBUILT_BUNDLE, "utf8");
  else
    throw new GradcError(
      `gradc view: the viewer needs esbuild to bundle it (npm i -D esbuild), or the bundle a packed gradc carries (${PREBUILT_BUNDLE} is missing)`,
    );
  return gradcSource;
}

/** JSON that is safe inside a <script> element: no `<` survives, so `</script>` cannot close it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Code inlined into a <script>: a literal `</script` inside it would end the element early. */
const scriptCode = (code: string) => code.replace(/<\/(script)/gi, "<\\/$1");

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE_CSS = `
body { font: 14px system-ui, sans-serif; margin: 0 390px 40px 20px; color: #1d232a; }
h1 { font-size: 20px; margin: 16px 0 2px; } h2 { font-size: 16px; margin: 26px 0 6px; } h3.group { font-size: 13.5px; margin: 14px 0 4px; color: #3b4a63; }
.sub { color: #56606b; margin-bottom: 8px; }
#toolbar { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
#toolbar input { width: 260px; padding: 4px 8px; font: 13px ui-monospace, Menlo, monospace; }
.pane { height: 700px; border: 1px solid #cfd5db; border-radius: 6px; background: #fbfcfd; overflow: hidden; position: relative; display: flex; flex-direction: column; }
.pane-bar { display: flex; gap: 6px; padding: 4px; border-bottom: 1px solid #e3e7eb; background: #f4f6f8; }
.pane-bar button { font-size: 12px; }
.pane svg.graph { flex: 1; width: 100%; min-height: 0; cursor: grab; display: block; }
.row { display: flex; gap: 12px; } .row > div { flex: 1; min-width: 0; }
.caption { font-weight: 600; margin: 4px 0; }
#panel { position: fixed; right: 0; top: 0; bottom: 0; width: 360px; overflow: auto; background: #fffdf3; border-left: 1px solid #e4d9a8; padding: 10px 12px; font-size: 13px; box-sizing: border-box; }
#panel h2 { margin-top: 4px; }
#panel code, #panel pre { font: 12.5px ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }
#panel dt { color: #56606b; margin-top: 6px; } #panel dd { margin: 0 0 0 8px; }
#editor { width: 100%; height: 150px; font: 12.5px ui-monospace, Menlo, monospace; box-sizing: border-box; }
#editor-status.error { color: #b91c1c; } #editor-status.ok { color: #166534; }
table.stats { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
table.stats td, table.stats th { border-bottom: 1px solid #e3e7eb; padding: 3px 12px; text-align: right; }
table.stats td:first-child { text-align: left; color: #56606b; }
table.stats td.changed { color: #1a7a2a; font-weight: 700; }
#summary { background: #f0f7ff; border: 1px solid #bcd6f5; border-radius: 6px; padding: 8px 8px 8px 28px; }
#summary li { margin: 4px 0; } #summary .law { color: #6b7280; font-size: 12px; }
ol.steps { padding-left: 32px; margin: 0; } li.step { margin: 3px 0; padding: 3px 6px; border-radius: 4px; cursor: pointer; }
li.step:hover { background: #f3f4f6; } li.step.current { background: #fff3c4; }
li.step .rule { font: 600 12.5px ui-monospace, Menlo, monospace; color: #7c2d12; margin-right: 10px; }
li.step .law { color: #4b5563; font-size: 12.5px; }
li.step .step-eq code { font: 13px ui-monospace, Menlo, monospace; }
li.step .step-text { color: #6b7280; font-size: 11.5px; } li.step .step-text code { font: 11.5px ui-monospace, Menlo, monospace; }
li.step .cancel { color: #b91c1c; font-weight: 600; font-size: 12.5px; }
#steps { max-height: 520px; overflow: auto; border: 1px solid #e3e7eb; border-radius: 6px; padding: 4px 8px; }
.node, .cluster text { cursor: pointer; }
.node.sel rect { stroke: #111; stroke-width: 3px; }
.node.in rect { stroke: #1f6fd1; stroke-width: 3px; }
.node.out rect { stroke: #c2410c; stroke-width: 3px; }
.node.found rect { stroke: #db2777; stroke-width: 4px; }
.edge.in { stroke: #1f6fd1; stroke-width: 2.5px; stroke-opacity: 1; }
.edge.out { stroke: #c2410c; stroke-width: 2.5px; stroke-opacity: 1; }
.node.matched rect { stroke: #e08a00; stroke-width: 3.5px; fill: #ffe1a8; }
.node.rewritten rect { stroke: #6b7280; stroke-width: 2px; stroke-dasharray: 5 3; }
.node.cancelled rect { stroke: #c62828; stroke-width: 3px; stroke-dasharray: 5 3; fill: #ffd9d9; }
.node.cancelled text { text-decoration: line-through; fill: #9b1c1c; }
.node.produced rect { stroke: #15803d; stroke-width: 3.5px; fill: #bff0c9; }
#player .controls { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
#player input[type=range] { flex: 1; }
#player-rule { font: 600 14px ui-monospace, Menlo, monospace; color: #7c2d12; }
.legend-key span { display: inline-block; padding: 1px 8px; margin-right: 6px; border-radius: 4px; border: 1px solid #999; font-size: 12px; }
#player.empty, #bench-section.empty, #backward-section.empty, #derivation-section.empty, #kernels-section.empty { display: none; }
.overview { position: absolute; right: 6px; bottom: 6px; width: 200px; height: 130px; background: rgba(255,255,255,0.92); border: 1px solid #9aa3ad; border-radius: 4px; cursor: crosshair; }
.overview .lens { fill: #1f6fd1; fill-opacity: 0.12; stroke: #1f6fd1; stroke-width: 1.5px; vector-effect: non-scaling-stroke; }
details.kernel-info pre { background: #f5f7f9; padding: 8px; overflow: auto; max-height: 420px; font-size: 12px; }
svg.bench text { font: 12px system-ui, sans-serif; fill: #333; }
svg.bench text.legend { font: 12px ui-monospace, Menlo, monospace; }
svg.bench .bar rect { fill: #9bb5dc; } svg.bench .bar.fused rect { fill: #1d4ed8; } svg.bench .bar.fused text.legend { font-weight: 700; fill: #1d4ed8; }
svg.bench line.one { stroke: #1d4ed8; stroke-dasharray: 3 3; }
${GRAPH_CSS}`;

const BODY = `
<aside id="panel"><h2>Selected node</h2>
<dl><dt>text form</dt><dd><code id="info-text">hover or click a box</code></dd>
<dt>shape</dt><dd><code id="info-shape">—</code></dd><dt>dtype</dt><dd><code id="info-dtype">—</code></dd>
<dt>kind</dt><dd id="info-kind">—</dd><dt>forward value</dt><dd><code id="info-from">—</code></dd>
<dt>name scope</dt><dd><code id="info-scope">—</code></dd><dt>kernel</dt><dd><code id="info-kernel">—</code></dd>
<dt>values</dt><dd id="info-stats">—</dd></dl>
<p class="sub">Click a box: its inputs turn blue, its consumers orange. Drag and scroll to pan and zoom; "fit" shows the whole graph. A folded box (▸) unfolds on click; a cluster's ▾ label folds it.</p>
<h2>Edit and re-derive</h2>
<textarea id="editor" spellcheck="false"></textarea>
<div><button id="rederive">re-derive</button> <span id="editor-status" class="sub">Edit the traced function; gradc runs in this page.</span></div>
</aside>
<h1 id="title"></h1>
<div class="sub" id="subtitle"></div>
<div id="toolbar"><input id="search" placeholder="search: %7, sum, xhat, layer 3"><button id="search-go">find</button><span id="search-status" class="sub"></span></div>
<div class="legend-key"><span style="background:#d7ecff">input</span><span style="background:#f1f1f1">constant</span><span style="background:#e3f4e1">elementwise</span><span style="background:#fde2c8">reduction</span><span style="background:#efe6fa">broadcast / reshape</span><span style="background:#fff3b0">matmul</span><span style="background:#e8eefb">▸ folded scope</span><span style="border:2px solid #8a2b2b">output</span></div>
<section id="derivation-section"><h2>Derivation</h2><div class="sub" id="derivation-note"></div>
<div class="caption">Proof sketch: the steps that changed the reduction depth or the number of full-size reductions</div>
<ol id="summary"></ol>
<div class="caption">Every step, by kind of algebra (click one to see it in the player)</div><div id="steps"></div></section>
<section id="player"><h2>Step player</h2>
<div class="controls"><button id="player-first">first</button><button id="player-prev">◀ step</button>
<input type="range" id="player-slider" min="1" max="1" value="1"><button id="player-next">step ▶</button><button id="player-last">last</button></div>
<div>rule: <span id="player-rule"></span></div><div id="player-counts"></div>
<div class="legend-key"><span style="background:#ffe1a8">matched</span><span style="border:2px dashed #6b7280">rewritten</span><span style="background:#ffd9d9">cancelled</span><span style="background:#bff0c9">new</span></div>
<div class="row"><div><div class="caption">before the step</div><div class="pane" id="player-before"></div></div>
<div><div class="caption">after the step</div><div class="pane" id="player-after"></div></div></div></section>
<section id="backward-section"><h2>Backward: derived by autodiff vs optimized (kernels as clusters)</h2>
<div class="row"><div><div class="caption">derived (naive)</div><div class="pane" id="pane-backward"></div></div>
<div><div class="caption">optimized, one cluster per compiled kernel</div><div class="pane" id="pane-optimized"></div></div></div>
<div id="stats-compare"></div></section>
<section id="forward-section"><h2>Forward graph</h2><div class="pane" id="pane-forward"></div><div id="stats-forward"></div></section>
<section id="kernels-section"><h2>Compiled kernels</h2><div id="kernels"></div></section>
<section id="bench-section"><h2>Benchmark: time per call as a multiple of the fused kernel's</h2><div id="bench"></div></section>`;

/** Node rows as arrays, scopes and sources interned: about half the bytes of the objects. */
export function packNodes(data: PageData): { rows: unknown[][]; strings: string[] } {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const intern = (s: string) => {
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = strings.push(s) - 1));
    return i;
  };
  const rows = data.nodes.map((n) => [
    n.id,
    intern(n.op),
    intern(n.kind),
    n.shape,
    intern(n.dtype),
    n.title === n.op ? -1 : intern(n.title),
    intern(n.attrs),
    intern(n.operand),
    intern(n.from),
    n.inputs,
    intern(n.scope),
    n.values ?? 0,
  ]);
  return { rows, strings };
}

/**
 * The page's data as embedded: node rows packed, kernel sources gzipped (the page inflates one
 * when it is opened); the whole JSON is then gzipped and written base64 (a 2,000-node backward's
 * full rewrite history is mostly repeated text: about a seventh of the bytes).
 */
export function packPage(data: PageData): object {
  const kernels = data.kernels?.map((k): VizKernel => ({ ...k, source: "", sourceGz: gzipSync(k.source, { level: 9 }).toString("base64") })) ?? null;
  return { ...data, nodes: [], kernels, packed: packNodes(data) };
}

/** The JSON a written page carries (for tests and tools reading a page). */
export function pageJson(html: string): unknown {
  const m = html.match(/<script type="application\/octet-stream" id="gradc-data" data-encoding="gzip\+base64">([A-Za-z0-9+/=]*)<\/script>/);
  if (!m) throw new Error("pageJson: no gradc data in this page");
  return JSON.parse(gunzipSync(Buffer.from(m[1], "base64")).toString("utf8"));
}

/**
 * What `import ... from "gradc"` gives a module the page runs (the editor's module source): a
 * data: module re-exporting the page's gradc (viz/page-api.ts), named by the page's import map.
 */
export function gradcModuleUrl(): string {
  const names = Object.keys(pageGradc).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
  const code = `const g = globalThis.gradcViewer.pageGradc;\nexport const { ${names.join(", ")} } = g;\nexport default g;\n`;
  return `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;
}

/** The whole page as one HTML string. */
export function buildPage(data: PageData): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<style>${PAGE_CSS}</style></head>
<body>${BODY}
<script type="application/octet-stream" id="gradc-data" data-encoding="gzip+base64">${gzipSync(scriptJson(packPage(data)), { level: 9 }).toString("base64")}</script>
<script type="importmap">${scriptJson({ imports: { gradc: gradcModuleUrl() } })}</script>
<script>${scriptCode(gradcBundle())}</script>
<script>gradcViewer.boot().catch(function (e) { document.body.prepend(document.createTextNode("gradc view: " + e.message)); throw e; });</script>
</body></html>
`;
}
