// The page's script: panes with pan and zoom, hover and click, the rewrite player, kernels and the
// bench chart. Each function here is inlined into the page by its source (`fn.toString()`), so
// they use nothing but each other, drawGraph, layoutDag and the d3 passed in. Text from the data
// goes through textContent / .text() only.

import type * as D3 from "d3";
import { drawGraph, type Drawn } from "./draw.js";
import type { BenchRecord, PageData, VizGraph, VizKernel, VizNode } from "./model.js";

type Marks = { [cls: string]: readonly number[] };

/** Draw a graph into the pane `host` (cleared first), with zoom, hover and click. */
export function makePane(d3: typeof D3, host: HTMLElement, graph: VizGraph, marks: Marks = {}, kernels: VizKernel[] | null = null): Drawn {
  host.textContent = "";
  const svg = d3.select(host).append("svg").attr("class", "graph");
  const view = svg.append("g").attr("class", "viewport");
  const drawn = drawGraph(d3, view.node()!, graph, { kernels });
  const byId = new Map<number, VizNode>(graph.nodes.map((n) => [n.id, n]));
  for (const [cls, ids] of Object.entries(marks)) for (const id of ids) drawn.elements.get(id)?.classList.add(cls);

  const zoom = d3.zoom<SVGSVGElement, unknown>().scaleExtent([0.01, 4]).on("zoom", (e) => view.attr("transform", e.transform.toString()));
  svg.call(zoom);
  const w = host.clientWidth || 800;
  const h = host.clientHeight || 500;
  // fit the width; fit the height too unless that makes the boxes unreadable (then pan down)
  const k = Math.min(1, (w - 10) / drawn.width, Math.max((h - 10) / drawn.height, 0.55));
  svg.call(zoom.transform, d3.zoomIdentity.translate((w - drawn.width * k) / 2, Math.max(4, (h - drawn.height * k) / 2)).scale(k));

  const clear = () => host.querySelectorAll(".sel, .in, .out").forEach((el) => el.classList.remove("sel", "in", "out"));
  drawn.elements.forEach((el, id) => {
    el.addEventListener("mouseenter", () => showInfo(byId.get(id)!));
    el.addEventListener("click", (ev) => {
      ev.stopPropagation();
      const was = el.classList.contains("sel");
      clear();
      if (was) return;
      el.classList.add("sel");
      for (const x of byId.get(id)!.inputs) drawn.elements.get(x)?.classList.add("in");
      for (const u of drawn.users.get(id) ?? []) drawn.elements.get(u)?.classList.add("out");
      host.querySelectorAll(`.edge[data-to="${id}"]`).forEach((p) => p.classList.add("in"));
      host.querySelectorAll(`.edge[data-from="${id}"]`).forEach((p) => p.classList.add("out"));
    });
  });
  svg.on("click", clear);
  // a kernel's hull opens its generated source below
  host.querySelectorAll("g.kernel").forEach((hull) =>
    hull.addEventListener("click", (ev) => {
      ev.stopPropagation();
      const name = hull.getAttribute("data-kernel");
      const box = [...document.querySelectorAll("details.kernel-info")].find((d) => d.getAttribute("data-kernel") === name) as HTMLDetailsElement | undefined;
      if (!box) return;
      box.open = true;
      box.scrollIntoView({ block: "center" });
    }),
  );
  return drawn;
}

/** The hover panel: the node's text line, shape, dtype and where it comes from. */
export function showInfo(n: VizNode): void {
  const set = (id: string, text: string) => {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  };
  set("info-text", n.text);
  set("info-shape", `[${n.shape.join(", ")}]`);
  set("info-dtype", n.dtype);
  set("info-kind", n.kind + (n.outputs.length ? ` · output ${n.outputs.join(", ")}` : ""));
  set("info-from", n.from || "—");
}

/** A two-column stats table (or one column) into `host`. */
export function statsTable(host: HTMLElement, columns: { name: string; stats: VizGraph["stats"] }[]): void {
  host.textContent = "";
  const table = document.createElement("table");
  table.className = "stats";
  const head = table.insertRow();
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
    const tr = table.insertRow();
    tr.insertCell().textContent = label;
    const values = columns.map((c) => c.stats[key]);
    values.forEach((v) => {
      const td = tr.insertCell();
      td.textContent = String(v);
      if (values.length > 1 && v !== values[0]) td.className = "changed";
    });
  }
  host.appendChild(table);
}

/** The rewrite player: slider and buttons over the optimizer's steps, before and after panes. */
export function setupPlayer(d3: typeof D3, data: PageData): void {
  const steps = data.steps;
  const slider = document.getElementById("player-slider") as HTMLInputElement;
  const rule = document.getElementById("player-rule")!;
  const counts = document.getElementById("player-counts")!;
  const before = document.getElementById("player-before")!;
  const after = document.getElementById("player-after")!;
  const note = document.getElementById("player-note")!;
  note.textContent = `${steps.length} rewrite step${steps.length === 1 ? "" : "s"}${data.stepsOmitted ? ` (${data.stepsOmitted} more not shown)` : ""}; the optimizer stopped: ${data.stop}.`;
  if (steps.length === 0 || !data.backward) {
    (document.getElementById("player") as HTMLElement).classList.add("empty");
    return;
  }
  slider.min = "1";
  slider.max = String(steps.length);
  slider.value = "1";
  const show = (k: number) => {
    k = Math.max(1, Math.min(steps.length, k));
    slider.value = String(k);
    const step = steps[k - 1];
    const prev = k === 1 ? data.backward! : steps[k - 2].graph;
    const afterIds = new Set(step.graph.nodes.map((n) => n.id));
    const vanished = prev.nodes.filter((n) => !afterIds.has(n.id)).map((n) => n.id);
    makePane(d3, before, prev, { matched: step.matched, vanish: vanished });
    makePane(d3, after, step.graph, { produced: step.produced });
    rule.textContent = step.rule;
    const s0 = prev.stats;
    const s1 = step.graph.stats;
    counts.textContent = `step ${k} of ${steps.length} · nodes ${s0.nodes} → ${s1.nodes} · reduction depth ${s0.reductionDepth} → ${s1.reductionDepth} · matched ${step.matched.length}, produced ${step.produced.length}, vanished ${vanished.length}`;
    document.body.dataset.step = String(k);
  };
  slider.addEventListener("input", () => show(Number(slider.value)));
  const on = (id: string, f: () => number) => document.getElementById(id)!.addEventListener("click", () => show(f()));
  on("player-first", () => 1);
  on("player-prev", () => Number(slider.value) - 1);
  on("player-next", () => Number(slider.value) + 1);
  on("player-last", () => steps.length);
  show(1);
}

/** Kernels: one line each with sweeps and bytes, the generated source on demand. */
export function renderKernels(data: PageData): void {
  const host = document.getElementById("kernels")!;
  if (!data.kernels) {
    host.textContent = data.kernelNote || "No kernels.";
    return;
  }
  for (const k of data.kernels) {
    const box = document.createElement("details");
    box.className = "kernel-info";
    box.setAttribute("data-kernel", k.name);
    const summary = document.createElement("summary");
    summary.textContent = `${k.name}: ${k.nodes.length} nodes, ${k.sweeps} sweep${k.sweeps === 1 ? "" : "s"}, ${k.bytes.toLocaleString("en-US")} bytes per call — show source`;
    const pre = document.createElement("pre");
    box.addEventListener("toggle", () => {
      if (box.open && !pre.textContent) pre.textContent = k.source;
    });
    box.append(summary, pre);
    host.appendChild(box);
  }
}

/** Time per call across sizes for each implementation, log scale, ratios in the tooltips and legend. */
export function renderBench(d3: typeof D3, records: BenchRecord[]): void {
  const host = document.getElementById("bench")!;
  const sizeKey = (r: BenchRecord) => `${r.N}×${r.D}`;
  const sizes = [...new Map(records.map((r) => [sizeKey(r), r.N * r.D])).entries()].sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  const impls = [...new Set(records.map((r) => r.impl))];
  const W = 1060;
  const H = 420;
  const m = { top: 20, right: 420, bottom: 40, left: 70 };
  const x = d3.scalePoint().domain(sizes).range([m.left, W - m.right]).padding(0.4);
  const [lo, hi] = d3.extent(records, (r) => r.ms) as [number, number];
  const y = d3.scaleLog().domain([lo / 1.5, hi * 1.5]).range([H - m.bottom, m.top]);
  const color = d3.scaleOrdinal<string, string>().domain(impls).range(d3.schemeTableau10.concat(d3.schemeSet2));
  const svg = d3.select(host).append("svg").attr("class", "bench").attr("viewBox", `0 0 ${W} ${H}`).attr("width", W).attr("height", H);
  svg.append("g").attr("transform", `translate(0,${H - m.bottom})`).call(d3.axisBottom(x));
  svg.append("g").attr("transform", `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(6, "~g"));
  svg.append("text").attr("x", 14).attr("y", m.top - 6).attr("class", "axis-label").text("ms per call (log)");
  svg.append("text").attr("x", (W - m.right + m.left) / 2).attr("y", H - 6).attr("class", "axis-label").text("size N×D");
  svg.append("text").attr("x", W - m.right + 16).attr("y", m.top - 6).attr("class", "axis-label").text("implementation, ×time of the fused kernel at the largest size");
  const line = d3.line<BenchRecord>().x((r) => x(sizeKey(r))!).y((r) => y(r.ms));
  impls.forEach((impl, i) => {
    const rs = records.filter((r) => r.impl === impl).sort((a, b) => a.N * a.D - b.N * b.D);
    const g = svg.append("g").attr("class", "series").attr("data-impl", impl);
    g.append("path").attr("d", line(rs)).attr("fill", "none").attr("stroke", color(impl)).attr("stroke-width", 2);
    g.selectAll("circle")
      .data(rs)
      .join("circle")
      .attr("cx", (r) => x(sizeKey(r))!)
      .attr("cy", (r) => y(r.ms))
      .attr("r", 4)
      .attr("fill", color(impl))
      .append("title")
      .text((r) => `${r.label} ${sizeKey(r)} ${r.dtype}: ${r.ms.toPrecision(3)} ms per call${r.ratio == null ? "" : ` (×${r.ratio.toPrecision(3)} the fused kernel)`}`);
    const last = rs[rs.length - 1];
    const legend = svg.append("g").attr("transform", `translate(${W - m.right + 16},${m.top + 8 + i * 19})`);
    legend.append("rect").attr("width", 12).attr("height", 12).attr("fill", color(impl));
    legend
      .append("text")
      .attr("x", 18)
      .attr("y", 10)
      .attr("class", "legend")
      .text(`${(last?.label ?? impl).slice(0, 52)}${last?.ratio == null ? "" : `  ×${last.ratio >= 10 ? last.ratio.toFixed(0) : last.ratio.toFixed(2)}`}`);
  });
}

/** Entry point: draw everything, then flag the time it took (the browser test reads it). */
export function main(d3: typeof D3, data: PageData): void {
  const pane = (id: string) => document.getElementById(id)!;
  makePane(d3, pane("pane-forward"), data.forward);
  statsTable(pane("stats-forward"), [{ name: "forward", stats: data.forward.stats }]);
  if (data.backward && data.optimized) {
    makePane(d3, pane("pane-backward"), data.backward);
    makePane(d3, pane("pane-optimized"), data.optimized, {}, data.kernels);
    statsTable(pane("stats-compare"), [
      { name: "derived (naive)", stats: data.backward.stats },
      { name: "optimized", stats: data.optimized.stats },
    ]);
  } else {
    pane("backward-section").classList.add("empty");
  }
  setupPlayer(d3, data);
  renderKernels(data);
  if (data.bench && data.bench.length) renderBench(d3, data.bench);
  else pane("bench-section").classList.add("empty");
  // laid out and drawn; the flag goes up once the browser has painted that (two frames later)
  const w = window as unknown as { __gradcDrawn?: number; __gradcRendered?: number };
  w.__gradcDrawn = performance.now();
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      w.__gradcRendered = performance.now();
      document.body.dataset.rendered = "true";
    }),
  );
}
