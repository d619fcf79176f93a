// The page's program: panes (fit to view, fold and unfold clusters, hover and click), the side
// panel, search, the derivation with its proof sketch, the step player, kernels. Bundled for the
// browser by esbuild with the rest of gradc (viz/browser.ts). Text from the data goes through
// textContent / .text() only.

import type * as D3 from "d3";
import { drawGraph, DRAW_MARGIN, type Drawn } from "./draw.js";
import { makeOverview, READABLE_ZOOM } from "./overview.js";
import { pathKey } from "./compound.js";
import { expand, StepGraphs, tableOf, type Shown } from "./graphs.js";
import type { PageData, VizGraph, VizNode } from "./model.js";
import { renderBench } from "./bench-chart.js";
import { el, renderKernels, resetInfo, showInfo, statsTable } from "./panel.js";

type Table = Map<number, VizNode>;

export interface PaneOptions {
  /** "scope": fold by name scopes; "kernel": clusters are the kernels. */
  clusters?: "scope" | "kernel" | "none";
  kernels?: PageData["kernels"];
  /** Classes to put on nodes by id, e.g. { matched: [3, 4] }. */
  marks?: Record<string, readonly number[]>;
}

export interface Pane {
  host: HTMLElement;
  shown: Shown;
  drawn: Drawn;
  collapsed: Set<string>;
  /** Fit the whole drawing in the pane, however small its labels get (the "fit" button). */
  fit(): void;
  /** Show the drawing at a readable zoom: whole if it fits, else from its start, with the overview. */
  open(): void;
  redraw(): void;
  /** Select a node: panel, neighbours highlighted, folded clusters holding it unfolded. */
  reveal(id: number, cls?: string): boolean;
}

const panes: Pane[] = [];
let pageData: PageData;
let table: Table;
let kernelOf = new Map<number, string>();
let stepGraphs: StepGraphs;

/** Draw graph `g` into `host` (cleared first): zoom, fit, fold, hover, click. */
export function makePane(d3: typeof D3, host: HTMLElement, g: Pick<VizGraph, "inputs" | "outputs">, opts: PaneOptions = {}): Pane {
  host.textContent = "";
  const shown = expand(table, g);
  const mode = opts.clusters ?? "scope";
  const kernelIndex = new Map<number, string>();
  if (mode === "kernel") for (const k of opts.kernels ?? []) for (const id of k.nodes) if (!kernelIndex.has(id)) kernelIndex.set(id, k.name);
  const groupOf = (n: VizNode): readonly string[] =>
    mode === "kernel" ? (kernelIndex.has(n.id) ? [kernelIndex.get(n.id)!] : []) : mode === "scope" && n.scope ? n.scope.split("/") : [];
  const kernelLabel = (path: readonly string[]) => {
    const k = opts.kernels?.find((q) => q.name === path[0]);
    if (!k) return path[0];
    const bytes = k.bytes >= 1e6 ? `${(k.bytes / 1e6).toFixed(1)} MB` : k.bytes >= 1e3 ? `${(k.bytes / 1e3).toFixed(1)} kB` : `${k.bytes} B`;
    return `${k.name} · ${k.sweeps} sweep${k.sweeps === 1 ? "" : "s"} · ${bytes}`;
  };
  // big graphs open folded: every outermost scope is one box (kernels stay drawn as clusters up to
  // a larger size: a folded kernel says little)
  const collapsed = new Set<string>();
  const foldAll = () => {
    for (const n of shown.nodes) {
      const p = groupOf(n);
      if (p.length) collapsed.add(pathKey(p.slice(0, 1)));
    }
  };
  if (mode !== "none" && shown.nodes.length > (mode === "kernel" ? 400 : 120)) foldAll();

  const bar = document.createElement("div");
  bar.className = "pane-bar";
  const button = (text: string, cls: string, f: () => void) => {
    const el = document.createElement("button");
    el.textContent = text;
    el.className = cls;
    el.addEventListener("click", f);
    bar.appendChild(el);
  };
  host.appendChild(bar);
  const svgEl = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svgEl.setAttribute("class", "graph");
  host.appendChild(svgEl);
  const svg = d3.select(svgEl);
  const view = svg.append("g").attr("class", "viewport");
  const overview = makeOverview(host, svgEl, view.node()!, (x, y) => {
    const k = d3.zoomTransform(svgEl).k;
    svg.call(zoom.transform, d3.zoomIdentity.translate(size().w / 2 - x * k, size().h / 2 - y * k).scale(k));
  });
  const zoom = d3
    .zoom<SVGSVGElement, unknown>()
    .scaleExtent([0.02, 4])
    .on("zoom", (e) => {
      view.attr("transform", e.transform.toString());
      overview.track(e.transform, size());
    });
  svg.call(zoom);
  const size = () => ({ w: svgEl.clientWidth || host.clientWidth || 800, h: svgEl.clientHeight || 500 });
  /** Show the rectangle (drawing coordinates) whole if it fits at a readable zoom, else its top at READABLE_ZOOM. */
  const show = (x: number, y: number, w: number, h: number) => {
    const { w: W, h: H } = size();
    let k = Math.min(1.5, (W - 8) / w, (H - 8) / h);
    if (k >= READABLE_ZOOM) {
      svg.call(zoom.transform, d3.zoomIdentity.translate((W - w * k) / 2 - x * k, Math.max(2, (H - h * k) / 2) - y * k).scale(k));
      return;
    }
    k = READABLE_ZOOM;
    const tx = w * k <= W ? (W - w * k) / 2 - x * k : 8 - x * k;
    svg.call(zoom.transform, d3.zoomIdentity.translate(tx, 8 - y * k).scale(k));
  };

  const pane: Pane = {
    host,
    shown,
    drawn: undefined as unknown as Drawn,
    collapsed,
    fit() {
      const { w, h } = size();
      const k = Math.min(1.5, (w - 8) / pane.drawn.width, (h - 8) / pane.drawn.height);
      svg.call(zoom.transform, d3.zoomIdentity.translate((w - pane.drawn.width * k) / 2, Math.max(2, (h - pane.drawn.height * k) / 2)).scale(k));
    },
    open() {
      show(0, 0, pane.drawn.width, pane.drawn.height);
    },
    redraw() {
      view.selectAll("*").remove();
      pane.drawn = drawGraph(d3, view.node()!, shown, {
        groupOf,
        collapsed,
        clusterClass: mode === "kernel" ? "kernel" : "scope",
        clusterLabel: mode === "kernel" ? kernelLabel : undefined,
      });
      for (const [cls, ids] of Object.entries(opts.marks ?? {}))
        for (const id of ids) if (!pane.drawn.folded.has(id)) pane.drawn.elements.get(id)?.classList.add(cls);
      overview.update(pane.drawn, size(), READABLE_ZOOM);
      wire();
    },
    reveal(id, cls = "found") {
      const n = table.get(id);
      if (!pane.drawn.elements.has(id) || !n) return false;
      if (pane.drawn.folded.has(id)) {
        const p = groupOf(n);
        for (let i = 1; i <= p.length; i++) collapsed.delete(pathKey(p.slice(0, i)));
        // inputs and constants sit in their consumers' cluster: unfold every cluster around it
        if (pane.drawn.folded.has(id)) collapsed.clear();
        pane.redraw();
      }
      const el = pane.drawn.elements.get(id)!;
      el.classList.add(cls);
      const box = (el as SVGGraphicsElement).getBBox();
      const m = el.getAttribute("transform")?.match(/translate\(([-\d.e]+),([-\d.e]+)\)/);
      const parent = (el.closest("g.nodes")?.parentNode as Element | null)?.getAttribute("transform")?.match(/translate\(([-\d.e]+),([-\d.e]+)\)/);
      if (m) {
        const cx = Number(m[1]) + Number(parent?.[1] ?? 0) + box.width / 2;
        const cy = Number(m[2]) + Number(parent?.[2] ?? 0) + box.height / 2;
        const w = svgEl.clientWidth || 800;
        const h = svgEl.clientHeight || 500;
        const k = Math.max(0.8, d3.zoomTransform(svgEl).k);
        svg.call(zoom.transform, d3.zoomIdentity.translate(w / 2 - cx * k, h / 2 - cy * k).scale(k));
      }
      return true;
    },
  };
  const clear = () => host.querySelectorAll(".sel, .in, .out").forEach((el) => el.classList.remove("sel", "in", "out"));
  const wire = () => {
    const byId = new Map(shown.nodes.map((n) => [n.id, n]));
    pane.drawn.elements.forEach((el, id) => {
      if (pane.drawn.folded.has(id)) return;
      el.addEventListener("mouseenter", () => showInfo(byId.get(id)!, shown, kernelOf.get(id)));
      el.addEventListener("click", (ev) => {
        ev.stopPropagation();
        const was = el.classList.contains("sel");
        clear();
        if (was) return;
        el.classList.add("sel");
        showInfo(byId.get(id)!, shown, kernelOf.get(id));
        for (const x of byId.get(id)!.inputs) pane.drawn.elements.get(x)?.classList.add("in");
        for (const u of pane.drawn.users.get(id) ?? []) pane.drawn.elements.get(u)?.classList.add("out");
        host.querySelectorAll(`.edge[data-to="${id}"]`).forEach((p) => p.classList.add("in"));
        host.querySelectorAll(`.edge[data-from="${id}"]`).forEach((p) => p.classList.add("out"));
      });
    });
    // a folded box unfolds on click; an unfolded cluster's label folds it
    host.querySelectorAll("g.node.folded").forEach((el) =>
      el.addEventListener("click", (ev) => {
        ev.stopPropagation();
        const path = el.getAttribute("data-path")!;
        collapsed.delete(path);
        pane.redraw();
        // show what was unfolded: the cluster, whole when it fits at a readable zoom
        const cluster = [...host.querySelectorAll("g.cluster")].find((c) => c.getAttribute("data-path") === path);
        const at = cluster?.getAttribute("transform")?.match(/translate\(([-\d.e]+),([-\d.e]+)\)/);
        const rect = cluster?.querySelector("rect");
        if (at && rect) show(Number(at[1]) + DRAW_MARGIN, Number(at[2]) + DRAW_MARGIN, Number(rect.getAttribute("width")), Number(rect.getAttribute("height")));
        else pane.open();
      }),
    );
    host.querySelectorAll("g.cluster").forEach((el) =>
      el.querySelector("text")!.addEventListener("click", (ev) => {
        ev.stopPropagation();
        if (mode === "kernel") {
          const name = el.getAttribute("data-kernel");
          const box = [...document.querySelectorAll("details.kernel-info")].find((d) => d.getAttribute("data-kernel") === name) as
            | HTMLDetailsElement
            | undefined;
          if (box) {
            box.open = true;
            box.scrollIntoView({ block: "center" });
          }
          return;
        }
        collapsed.add(el.getAttribute("data-path")!);
        pane.redraw();
      }),
    );
  };
  svg.on("click", clear);
  button("fit", "fit", () => pane.fit());
  if (mode !== "none") {
    button("unfold all", "unfold", () => {
      collapsed.clear();
      pane.redraw();
      pane.open();
    });
    button("fold all", "fold", () => {
      foldAll();
      pane.redraw();
      pane.open();
    });
  }
  pane.redraw();
  pane.open();
  panes.push(pane);
  return pane;
}

/** The derivation: the proof sketch, then every step grouped by the kind of algebra, each with its law. */
export function renderDerivation(d3: typeof D3, data: PageData): void {
  const summary = document.getElementById("summary")!;
  const list = document.getElementById("steps")!;
  summary.textContent = "";
  list.textContent = "";
  const note = document.getElementById("derivation-note")!;
  const { steps } = data;
  note.textContent = data.backward
    ? `${steps.length} rewrite step${steps.length === 1 ? "" : "s"}${data.stepsOmitted ? ` (${data.stepsOmitted} more not kept)` : ""}; the optimizer stopped: ${data.stop}. ` +
      `Nodes ${data.backward.stats.nodes} → ${data.optimized!.stats.nodes}, reduction depth ${data.backward.stats.reductionDepth} → ${data.optimized!.stats.reductionDepth}, full-size reductions ${data.backward.stats.fullSizeReductions} → ${data.optimized!.stats.fullSizeReductions}.`
    : "No backward derived.";
  if (data.summary.length === 0 && steps.length)
    summary.appendChild(el("li", "", "No step changed the reduction depth or the number of full-size reductions."));
  for (const s of data.summary) {
    const li = el("li", "summary-line");
    const a = el("a", "step-link", `step ${s.step}`);
    a.setAttribute("href", "#player");
    a.addEventListener("click", () => showStep(d3, s.step));
    li.append(a, el("span", "", ` ${s.words}  `), el("span", "law", `[${s.rule}: ${s.law}]`));
    summary.appendChild(li);
  }
  let group = "";
  let ol: HTMLElement | null = null;
  steps.forEach((s, i) => {
    if (s.group !== group || !ol) {
      group = s.group;
      list.appendChild(el("h3", "group", data.groups[group] ?? group));
      ol = el("ol", "steps");
      ol.setAttribute("start", String(i + 1));
      list.appendChild(ol);
    }
    const li = el("li", s.cancelled.length ? "step cancels" : "step");
    li.dataset.step = String(i + 1);
    const head = el("div", "step-head");
    head.append(el("span", "rule", s.rule), el("span", "law", s.law));
    const eq = el("div", "step-eq");
    eq.append(el("code", "before", s.formula[0]), el("span", "arrow", " = "), el("code", "after", s.formula[1]));
    li.append(head, eq);
    if (s.cancelled.length) li.appendChild(el("div", "cancel", `cancels: ${s.cancelled.join(", ")}`));
    const text = el("div", "step-text");
    text.append(el("code", "", s.before), el("span", "arrow", "  ⟶  "), el("code", "", s.after));
    li.appendChild(text);
    li.addEventListener("click", () => showStep(d3, i + 1));
    ol!.appendChild(li);
  });
}

/** The player: the graph before and after step k (1-based), matched, rewritten, cancelled and new nodes marked. */
export function showStep(d3: typeof D3, k: number): void {
  const data = pageData;
  const steps = data.steps;
  if (!steps.length || !data.backward) return;
  k = Math.max(1, Math.min(steps.length, k));
  const slider = document.getElementById("player-slider") as HTMLInputElement;
  slider.max = String(steps.length);
  slider.value = String(k);
  const step = steps[k - 1];
  const prevGraph = stepGraphs.graph(k - 1);
  const nextGraph = stepGraphs.graph(k);
  const before = expand(table, prevGraph);
  const after = expand(table, nextGraph);
  const inAfter = new Set(after.nodes.map((n) => n.id));
  const inBefore = new Set(before.nodes.map((n) => n.id));
  const cancelled = new Set(step.cancelledIds);
  const gone = before.nodes.filter((n) => !inAfter.has(n.id)).map((n) => n.id);
  for (let i = panes.length - 1; i >= 0; i--) if (panes[i].host.id.startsWith("player-")) panes.splice(i, 1);
  makePane(d3, document.getElementById("player-before")!, prevGraph, {
    marks: {
      matched: step.matched.filter((id) => !cancelled.has(id)),
      rewritten: gone.filter((id) => !cancelled.has(id)),
      cancelled: gone.filter((id) => cancelled.has(id)),
    },
  });
  makePane(d3, document.getElementById("player-after")!, nextGraph, { marks: { produced: after.nodes.filter((n) => !inBefore.has(n.id)).map((n) => n.id) } });
  document.getElementById("player-rule")!.textContent = `${step.rule}: ${step.law}`;
  const s0 = k === 1 ? data.backward.stats : steps[k - 2].stats;
  const s1 = step.stats;
  document.getElementById("player-counts")!.textContent =
    `step ${k} of ${steps.length} · ${step.formula[0]} = ${step.formula[1]} · nodes ${s0.nodes} → ${s1.nodes} · reduction depth ${s0.reductionDepth} → ${s1.reductionDepth} · ` +
    `rewritten ${gone.length - cancelled.size}, cancelled ${[...cancelled].filter((id) => inBefore.has(id)).length}, new ${after.nodes.filter((n) => !inBefore.has(n.id)).length}`;
  document.querySelectorAll("li.step.current").forEach((e) => e.classList.remove("current"));
  document.querySelector(`li.step[data-step="${k}"]`)?.classList.add("current");
  document.body.dataset.step = String(k);
}

/** A scope path holds `q`: q is the path, a prefix of it ("layer 3"), or one of its names ("softmax"). */
export const inScopeNamed = (scopePath: string, q: string): boolean =>
  scopePath !== "" && (scopePath === q || scopePath.startsWith(`${q}/`) || `/${scopePath}/`.includes(`/${q}/`));

/** Search by %k (in any pane's numbering), op, input name or scope: every pane marks what it finds. */
export function search(query: string): number {
  const q = query.trim();
  document.querySelectorAll(".found").forEach((e) => e.classList.remove("found"));
  if (!q) return 0;
  let found = 0;
  for (const pane of panes) {
    const hits = pane.shown.nodes.filter(
      (n) => pane.shown.names.get(n.id) === q || n.op === q || n.title === q || (q.startsWith("%") && n.operand === q) || inScopeNamed(n.scope, q),
    );
    let first = true;
    for (const n of hits) {
      if (pane.reveal(n.id, "found") && first) first = false;
    }
    for (const n of hits) pane.drawn.elements.get(n.id)?.classList.add("found");
    found += hits.length;
  }
  const status = document.getElementById("search-status");
  if (status) status.textContent = found ? `${found} found` : "not found";
  return found;
}

/** Draw everything from `data` (again, after the editor re-derives), then flag the time it took. */
export function render(d3: typeof D3, data: PageData): void {
  pageData = data;
  table = tableOf(data.nodes);
  stepGraphs = new StepGraphs(table, data);
  kernelOf = new Map();
  for (const k of data.kernels ?? []) for (const id of k.nodes) if (!kernelOf.has(id)) kernelOf.set(id, k.name);
  panes.length = 0;
  const byId = (id: string) => document.getElementById(id)!;
  byId("title").textContent = data.title;
  document.title = data.title;
  byId("subtitle").textContent = data.subtitle;
  resetInfo();
  byId("search-status").textContent = "";
  // a section with nothing to show is not drawn (a forward-only page has no derivation)
  byId("derivation-section").classList.toggle("empty", !data.backward);
  byId("kernels-section").classList.toggle("empty", !data.kernels && !data.backward);
  makePane(d3, byId("pane-forward"), data.forward);
  statsTable(byId("stats-forward"), [{ name: "forward", stats: data.forward.stats }]);
  if (data.backward && data.optimized) {
    byId("backward-section").classList.remove("empty");
    makePane(d3, byId("pane-backward"), data.backward);
    makePane(d3, byId("pane-optimized"), data.optimized, { clusters: "kernel", kernels: data.kernels });
    statsTable(byId("stats-compare"), [
      { name: "derived (naive)", stats: data.backward.stats },
      { name: "optimized", stats: data.optimized.stats },
    ]);
  } else byId("backward-section").classList.add("empty");
  renderDerivation(d3, data);
  if (data.steps.length && data.backward) {
    byId("player").classList.remove("empty");
    showStep(d3, data.summary.length ? data.summary[0].step : 1);
  } else byId("player").classList.add("empty");
  renderKernels(data);
  byId("bench").textContent = "";
  if (data.bench && data.bench.length) {
    byId("bench-section").classList.remove("empty");
    renderBench(d3, byId("bench"), data.bench);
  } else byId("bench-section").classList.add("empty");
}

/** Wire the controls once: search, player buttons. */
export function wireControls(d3: typeof D3): void {
  const input = document.getElementById("search") as HTMLInputElement;
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") search(input.value);
  });
  document.getElementById("search-go")!.addEventListener("click", () => search(input.value));
  const slider = document.getElementById("player-slider") as HTMLInputElement;
  slider.addEventListener("change", () => showStep(d3, Number(slider.value)));
  const on = (id: string, f: () => number) => document.getElementById(id)!.addEventListener("click", () => showStep(d3, f()));
  on("player-first", () => 1);
  on("player-prev", () => Number(slider.value) - 1);
  on("player-next", () => Number(slider.value) + 1);
  on("player-last", () => pageData.steps.length);
}
