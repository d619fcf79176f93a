// The page's side panel (the selected node) and its tables (stats, kernels): plain DOM, text
// set through textContent only.

import { textLine, type Shown } from "./graphs.js";
import type { PageData, VizGraph, VizNode } from "./model.js";

/** The side panel as the page opens: no node selected. */
export function resetInfo(): void {
  const set = (id: string, text: string) => {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  };
  set("info-text", "hover or click a box");
  for (const id of ["info-shape", "info-dtype", "info-kind", "info-from", "info-scope", "info-kernel", "info-stats"]) set(id, "—");
}

/** The side panel: the node's text line, shape, dtype, kind, scope, kernel, where it comes from. */
export function showInfo(n: VizNode, shown: Shown, kernel: string | undefined): void {
  const set = (id: string, text: string) => {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  };
  set("info-text", textLine(n, shown.names));
  set("info-shape", `[${n.shape.join(", ")}]`);
  set("info-dtype", n.dtype);
  set("info-kind", n.kind + (shown.outputsOf.has(n.id) ? ` · output ${shown.outputsOf.get(n.id)!.join(", ")}` : ""));
  set("info-from", n.from || "—");
  set("info-scope", n.scope || "—");
  set("info-kernel", kernel ?? "—");
  const s = n.values;
  set(
    "info-stats",
    s ? `min ${fmt(s[0])} · mean ${fmt(s[1])} · max ${fmt(s[2])} (random inputs, seed 1)` : "— (computed for the forward, derived and optimized graphs)",
  );
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : Number(v.toPrecision(4)).toString());

/** A stats table comparing graphs. */
export function statsTable(host: HTMLElement, columns: { name: string; stats: VizGraph["stats"] }[]): void {
  host.textContent = "";
  const t = document.createElement("table");
  t.className = "stats";
  const head = t.insertRow();
  for (const h of ["", ...columns.map((c) => c.name)]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.appendChild(th);
  }
  const rows: [string, keyof VizGraph["stats"]][] = [
    ["nodes", "nodes"],
    ["reduction depth (sweeps)", "reductionDepth"],
    ["full-size reductions", "fullSizeReductions"],
    ["elementwise ops / element", "elementwisePerElement"],
  ];
  for (const [label, key] of rows) {
    const tr = t.insertRow();
    tr.insertCell().textContent = label;
    const values = columns.map((c) => c.stats[key]);
    values.forEach((v) => {
      const td = tr.insertCell();
      td.textContent = String(v);
      if (values.length > 1 && v !== values[0]) td.className = "changed";
    });
  }
  host.appendChild(t);
}

export const el = (tag: string, cls: string, text?: string) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** Kernels: one line each with sweeps and bytes, the generated source on demand. */
export function renderKernels(data: PageData): void {
  const host = document.getElementById("kernels")!;
  host.textContent = "";
  if (!data.kernels) {
    host.textContent = data.kernelNote || "No kernels.";
    return;
  }
  for (const k of data.kernels) {
    const box = el("details", "kernel-info") as HTMLDetailsElement;
    box.setAttribute("data-kernel", k.name);
    const summary = el(
      "summary",
      "",
      `${k.name}: ${k.nodes.length} nodes, ${k.sweeps} sweep${k.sweeps === 1 ? "" : "s"}, ${k.bytes.toLocaleString("en-US")} bytes per call — show source`,
    );
    const pre = el("pre", "");
    box.addEventListener("toggle", () => {
      if (!box.open || pre.textContent) return;
      const gz = k.sourceGz;
      if (k.source || !gz) pre.textContent = k.source;
      else {
        // sources are stored gzipped in the page: inflated here, once
        const bytes = Uint8Array.from(atob(gz), (c) => c.charCodeAt(0));
        void new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then((text) => (pre.textContent = text));
      }
    });
    box.append(summary, pre);
    host.appendChild(box);
  }
}
