// Drawing one graph with d3: boxes by kind, edges, kernel hulls. Used by the page (in the
// browser) and by the SVG export (in Node over jsdom). Like layoutDag, `drawGraph` is one
// self-contained function: the page inlines its source. Every label is set with .text().

import type * as D3 from "d3";
import { layoutDag } from "./layout.js";
import type { VizGraph, VizKernel } from "./model.js";

export interface DrawOptions {
  kernels?: VizKernel[] | null;
}

export interface Drawn {
  width: number;
  height: number;
  /** id -> the node's <g> element. */
  elements: Map<number, Element>;
  /** id -> consumers' ids within this graph. */
  users: Map<number, number[]>;
}

/** Draw `graph` into the SVG group `root` (an <svg> or <g> element); returns the drawing's size. */
export function drawGraph(d3: typeof D3, root: Element, graph: VizGraph, opts: DrawOptions = {}): Drawn {
  const nodes = graph.nodes;
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const shapeText = (n: { dtype: string; shape: number[] }) => `${n.dtype}[${n.shape.join(",")}]`;
  const sizes = nodes.map((n) => ({ width: Math.max(48, Math.max(n.title.length, shapeText(n).length) * 6.4 + 16), height: 32 }));
  const edges: [number, number][] = [];
  const users = new Map<number, number[]>(nodes.map((n) => [n.id, []]));
  nodes.forEach((n, i) => {
    for (const x of n.inputs) {
      const k = index.get(x);
      if (k === undefined) continue;
      edges.push([k, i]);
      users.get(x)!.push(n.id);
    }
  });
  const layout = layoutDag({ sizes, edges });
  const g = d3.select(root);

  // kernels first, so they sit behind: a padded hull around the boxes of each kernel's nodes
  if (opts.kernels) {
    const hulls = g.append("g").attr("class", "kernels");
    opts.kernels.forEach((k, ki) => {
      const corners: [number, number][] = [];
      for (const id of k.nodes) {
        const i = index.get(id);
        if (i === undefined) continue;
        const { x, y } = layout.nodes[i];
        const { width: w, height: h } = sizes[i];
        corners.push([x - w / 2, y - h / 2], [x + w / 2, y - h / 2], [x - w / 2, y + h / 2], [x + w / 2, y + h / 2]);
      }
      if (corners.length === 0) return;
      const hull = d3.polygonHull(corners) ?? corners;
      const kg = hulls.append("g").attr("class", `kernel kernel-${ki % 6}`).attr("data-kernel", k.name);
      kg.append("path").attr("d", `M${hull.map((p) => p.join(",")).join("L")}Z`);
      const top = corners.reduce((a, b) => (b[1] < a[1] || (b[1] === a[1] && b[0] < a[0]) ? b : a));
      kg.append("text")
        .attr("x", top[0] - 10)
        .attr("y", top[1] - 14)
        .text(`${k.name} · ${k.sweeps} sweep${k.sweeps === 1 ? "" : "s"} · ${k.bytes >= 1e6 ? `${(k.bytes / 1e6).toFixed(1)} MB` : k.bytes >= 1e3 ? `${(k.bytes / 1e3).toFixed(1)} kB` : `${k.bytes} B`}`);
    });
  }

  const routed = d3.line().curve(d3.curveBasis);
  const direct = d3.line().curve(d3.curveBumpY);
  g.append("g")
    .attr("class", "edges")
    .selectAll("path")
    .data(layout.edges)
    .join("path")
    .attr("class", (e) => (e.long ? "edge long" : "edge"))
    .attr("data-from", (e) => nodes[e.from].id)
    .attr("data-to", (e) => nodes[e.to].id)
    .attr("d", (e) => (e.long ? direct(e.points) : routed(e.points)));

  const boxes = g
    .append("g")
    .attr("class", "nodes")
    .selectAll("g")
    .data(nodes)
    .join("g")
    .attr("class", (n) => `node kind-${n.kind}${n.outputs.length ? " output" : ""}`)
    .attr("data-id", (n) => n.id)
    .attr("transform", (_, i) => `translate(${layout.nodes[i].x - sizes[i].width / 2},${layout.nodes[i].y - sizes[i].height / 2})`);
  boxes
    .append("rect")
    .attr("width", (_, i) => sizes[i].width)
    .attr("height", (_, i) => sizes[i].height)
    .attr("rx", (n) => (n.kind === "input" || n.kind === "const" ? 16 : 4));
  boxes
    .append("text")
    .attr("class", "title")
    .attr("x", (_, i) => sizes[i].width / 2)
    .attr("y", 13)
    .text((n) => n.title);
  boxes
    .append("text")
    .attr("class", "shape")
    .attr("x", (_, i) => sizes[i].width / 2)
    .attr("y", 26)
    .text((n) => shapeText(n));
  boxes
    .filter((n) => n.outputs.length > 0)
    .append("text")
    .attr("class", "outname")
    .attr("x", (_, i) => sizes[i].width / 2)
    .attr("y", 44)
    .text((n) => `→ ${n.outputs.join(", ")}`);

  const elements = new Map<number, Element>();
  boxes.each(function (n) {
    elements.set(n.id, this as Element);
  });
  return { width: layout.width, height: layout.height + 14, elements, users };
}

/** The page's and the SVG's styles: one look for both. */
export const GRAPH_CSS = `
.edge { fill: none; stroke: #9aa3ad; stroke-width: 1.1px; }
.edge.long { stroke-dasharray: 4 3; stroke-opacity: 0.55; }
.node rect { stroke: #5b6470; stroke-width: 1px; }
.node text { font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; text-anchor: middle; fill: #1d232a; pointer-events: none; }
.node text.shape { fill: #56606b; font-size: 9.5px; }
.node text.outname { fill: #8a2b2b; font-weight: 600; }
.kind-input rect { fill: #d7ecff; stroke: #3c7dc4; }
.kind-const rect { fill: #f1f1f1; stroke: #a0a0a0; stroke-dasharray: 2 2; }
.kind-elementwise rect { fill: #e3f4e1; stroke: #4f9a48; }
.kind-reduce rect { fill: #fde2c8; stroke: #d2761f; stroke-width: 1.6px; }
.kind-movement rect { fill: #efe6fa; stroke: #8a6bbf; }
.kind-matmul rect { fill: #fff3b0; stroke: #b49a12; }
.kind-other rect { fill: #eeeeee; }
.output rect { stroke: #8a2b2b; stroke-width: 2.4px; }
.kernel path { fill: #4f7fd8; fill-opacity: 0.07; stroke: #4f7fd8; stroke-opacity: 0.5; stroke-width: 18px; stroke-linejoin: round; }
.kernel.kernel-1 path { fill: #d84f8a; stroke: #d84f8a; }
.kernel.kernel-2 path { fill: #3aa58c; stroke: #3aa58c; }
.kernel.kernel-3 path { fill: #c08a1a; stroke: #c08a1a; }
.kernel.kernel-4 path { fill: #7a5bd8; stroke: #7a5bd8; }
.kernel.kernel-5 path { fill: #555; stroke: #555; }
.kernel text { font: 600 11px system-ui, sans-serif; fill: #33456b; }
`;
