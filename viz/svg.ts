// Static export: graphs drawn with d3 in Node over a jsdom document, as one standalone SVG (for
// READMEs and papers). Same layout, drawing and styles as the page.

import { createRequire } from "node:module";
import * as d3 from "d3";
import type * as JSDOMModule from "jsdom";
import { GradcError } from "../core/errors.js";
import { drawGraph, GRAPH_CSS } from "./draw.js";
import { expand, tableOf } from "./graphs.js";
import type { VizGraph, VizKernel, VizNode } from "./model.js";

export interface SvgPanel {
  caption: string;
  graph: VizGraph;
  /** The page's node table (PageData.nodes). */
  nodes: readonly VizNode[];
  /** Drawn as clusters, one per kernel. */
  kernels?: VizKernel[] | null;
}

// jsdom takes a second to load: only when an SVG is asked for
const require = createRequire(import.meta.url);
let jsdom: typeof JSDOMModule | undefined;

const statsLine = (g: VizGraph) => `${g.stats.nodes} nodes · reduction depth ${g.stats.reductionDepth} · ${g.stats.fullSizeReductions} full-size reductions`;

/** Panels side by side, each with its caption and stats, in one <svg> string. */
export function renderSvg(panels: readonly SvgPanel[], title = ""): string {
  try {
    jsdom ??= require("jsdom") as typeof JSDOMModule;
  } catch {
    throw new GradcError("--svg draws with d3 over a jsdom document: jsdom is an optional package, not installed here (npm i jsdom)");
  }
  const { document } = new jsdom.JSDOM("<!DOCTYPE html><body></body>").window;
  const svg = d3.select(document.body).append("svg").attr("xmlns", "http://www.w3.org/2000/svg");
  svg
    .append("style")
    .text(
      `${GRAPH_CSS}\n.caption { font: 600 15px system-ui, sans-serif; fill: #1d232a; } .statsline { font: 12px system-ui, sans-serif; fill: #56606b; } .title { font: 700 17px system-ui, sans-serif; }`,
    );
  svg.append("rect").attr("width", "100%").attr("height", "100%").attr("fill", "white");
  const top = title ? 34 : 8;
  if (title) svg.append("text").attr("class", "title").attr("x", 16).attr("y", 24).text(title);
  let x = 0;
  let height = 0;
  for (const p of panels) {
    const g = svg.append("g").attr("transform", `translate(${x},${top})`);
    g.append("text").attr("class", "caption").attr("x", 16).attr("y", 18).text(p.caption);
    g.append("text").attr("class", "statsline").attr("x", 16).attr("y", 36).text(statsLine(p.graph));
    const body = g.append("g").attr("transform", "translate(0,44)");
    const kernelOf = new Map<number, string>();
    for (const k of p.kernels ?? []) for (const id of k.nodes) if (!kernelOf.has(id)) kernelOf.set(id, k.name);
    const label = (path: readonly string[]) => {
      const k = p.kernels?.find((q) => q.name === path[0]);
      return k ? `${k.name} · ${k.sweeps} sweep${k.sweeps === 1 ? "" : "s"} · ${(k.bytes / 1e3).toFixed(1)} kB` : path[0];
    };
    const drawn = drawGraph(d3, body.node()!, expand(tableOf(p.nodes), p.graph), {
      groupOf: (n) => (kernelOf.has(n.id) ? [kernelOf.get(n.id)!] : []),
      clusterLabel: label,
      clusterClass: "kernel",
    });
    x += Math.max(drawn.width, 300) + 24;
    height = Math.max(height, drawn.height + 44);
  }
  // a key to the box styles along the bottom
  const legend = svg.append("g").attr("transform", `translate(16,${Math.ceil(height + top + 10)})`);
  const kinds: [string, string][] = [
    ["kind-input", "input"],
    ["kind-const", "constant"],
    ["kind-elementwise", "elementwise"],
    ["kind-reduce", "reduction"],
    ["kind-movement", "broadcast / reshape"],
    ["kind-elementwise output", "output"],
  ];
  let lx = 0;
  for (const [cls, label] of kinds) {
    const item = legend.append("g").attr("class", `legend-item ${cls}`).attr("transform", `translate(${lx},0)`);
    item.append("rect").attr("width", 22).attr("height", 14).attr("rx", 3);
    item.append("text").attr("class", "statsline").attr("x", 28).attr("y", 11).text(label);
    lx += 40 + label.length * 7;
  }
  const width = Math.ceil(Math.max(x, lx + 32));
  height = Math.ceil(height + top + 34);
  svg.attr("width", width).attr("height", height).attr("viewBox", `0 0 ${width} ${height}`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.node()!.outerHTML}\n`;
}
