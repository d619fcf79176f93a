// Drawing one graph with d3: boxes by kind with their %k, edges, and clusters (kernels or name
// scopes) as compound nodes of the layout; a folded cluster is one box. Used by the page (in the
// browser) and by the SVG export (in Node over jsdom). Every label is set with .text().

import type * as D3 from "d3";
import { layoutCompound, pathKey, type LeafBox } from "./compound.js";
import type { Shown } from "./graphs.js";
import type { VizNode } from "./model.js";

export interface DrawOptions {
  /** The clusters a node sits in, outermost first (a kernel's name, or its scope path split at "/"). */
  groupOf?: (n: VizNode) => readonly string[];
  /** Clusters drawn folded into one box, by pathKey. */
  collapsed?: ReadonlySet<string>;
  /** A cluster's label (default: its last name). */
  clusterLabel?: (path: readonly string[]) => string;
  /** Extra class of a cluster's <g> ("kernel" for kernels, "scope" for scopes). */
  clusterClass?: string;
}

export interface Drawn {
  width: number;
  height: number;
  /** id -> the <g> element standing for the node (its own box, or its folded cluster's). */
  elements: Map<number, Element>;
  /** id -> consumers' ids within this graph. */
  users: Map<number, number[]>;
  /** Ids of nodes hidden in folded clusters. */
  folded: Set<number>;
}

/** Space around the drawing, inside its own coordinates. */
export const DRAW_MARGIN = 16;

/** Monospace text widths (11px and 9.5px ui-monospace), generous so labels stay inside their boxes. */
const CHAR = 7.1;
const SMALL = 6.3;

/** Draw `shown` into the SVG group `root`; returns the drawing's size and its elements. */
export function drawGraph(d3: typeof D3, root: Element, shown: Shown, opts: DrawOptions = {}): Drawn {
  const { nodes, names, outputsOf } = shown;
  const collapsed = opts.collapsed ?? new Set<string>();
  const users = new Map<number, number[]>(nodes.map((n) => [n.id, []]));
  for (const n of nodes) for (const x of n.inputs) users.get(x)?.push(n.id);

  // where each node sits: its own clusters; an input or constant outside any joins its consumers'
  // deepest common cluster (a layer's weights sit in the layer)
  const own = new Map<number, readonly string[]>(nodes.map((n) => [n.id, opts.groupOf?.(n) ?? []]));
  // a cluster around every operation (the whole graph is one batchnorm) says nothing: drop it
  const ops = nodes.filter((n) => n.kind !== "input" && n.kind !== "const");
  let common = opts.clusterClass !== "kernel" && ops.length > 1 ? own.get(ops[0].id)! : [];
  for (const n of ops) {
    const q = own.get(n.id)!;
    let k = 0;
    while (k < common.length && k < q.length && common[k] === q[k]) k++;
    common = common.slice(0, k);
  }

  const pathOf = (n: VizNode): readonly string[] => {
    const p = own.get(n.id)!;
    if (p.length || (n.kind !== "input" && n.kind !== "const")) return p;
    const us = users.get(n.id)!;
    if (us.length === 0) return p;
    let common = own.get(us[0])!;
    for (const u of us) {
      const q = own.get(u)!;
      let k = 0;
      while (k < common.length && k < q.length && common[k] === q[k]) k++;
      common = common.slice(0, k);
    }
    return common;
  };

  const leafOf = new Map<number, string>();
  const leaves = new Map<string, LeafBox & { node?: VizNode; group?: string[]; count: number }>();
  const folded = new Set<number>();
  // where a box comes in the data flow, for the layout to break cycles by. A folded scope holding
  // a layer's forward and its backward forms cycles with its neighbours; the backward runs the
  // layers in reverse, so the scope whose last operation comes latest (the longest chain of
  // operations leads to it) is the one whose forward came first
  const level = new Map<number, number>();
  for (const n of nodes) level.set(n.id, n.kind === "input" || n.kind === "const" ? 0 : 1 + n.inputs.reduce((m, x) => Math.max(m, level.get(x) ?? 0), 0));
  const flowOrder = (n: VizNode, _i: number) => -level.get(n.id)! || Infinity;
  for (const [i, n] of nodes.entries()) {
    const path = pathOf(n);
    let cut = -1;
    for (let i = common.length; i < path.length && cut < 0; i++) if (collapsed.has(pathKey(path.slice(0, i + 1)))) cut = i;
    if (cut >= 0) {
      const group = path.slice(0, cut + 1);
      const key = `g:${pathKey(group)}`;
      leafOf.set(n.id, key);
      folded.add(n.id);
      const had = leaves.get(key);
      if (had) {
        had.count++;
        had.order = Math.min(had.order!, flowOrder(n, i));
      } else leaves.set(key, { key, path: group.slice(common.length, -1), width: 0, height: 34, group, count: 1, order: flowOrder(n, i) });
    } else {
      const key = `n:${n.id}`;
      leafOf.set(n.id, key);
      const line2 = `${names.get(n.id)} · ${n.dtype}[${n.shape.join(",")}]`;
      const outs = outputsOf.get(n.id);
      const width = Math.max(52, n.title.length * CHAR + 16, line2.length * SMALL + 16, outs ? (outs.join(", ").length + 2) * CHAR + 16 : 0);
      leaves.set(key, { key, path: path.slice(common.length), width, height: outs ? 48 : 34, node: n, count: 1, order: flowOrder(n, i) });
    }
  }
  const label = (path: readonly string[]) => opts.clusterLabel?.(path) ?? path[path.length - 1];
  for (const leaf of leaves.values()) {
    if (!leaf.group) continue;
    const t = `▸ ${label(leaf.group)}`;
    leaf.width = Math.max(80, t.length * CHAR + 20, `${leaf.count} nodes`.length * SMALL + 20);
  }
  const edgeSet = new Map<string, [string, string, number, number]>();
  for (const n of nodes) {
    for (const x of n.inputs) {
      const a = leafOf.get(x);
      const b = leafOf.get(n.id)!;
      if (a === undefined || a === b) continue;
      const k = `${a}\n${b}`;
      if (!edgeSet.has(k)) edgeSet.set(k, [a, b, x, n.id]);
    }
  }
  const lay = layoutCompound(
    [...leaves.values()],
    [...edgeSet.values()].map(([a, b]) => [a, b] as const),
    {
      labelWidth: (p) => `▾ ${label([...common, ...p])}`.length * CHAR + 12,
      gap: [12, 24],
    },
  );
  const margin = DRAW_MARGIN;
  const g = d3.select(root).append("g").attr("class", "drawing").attr("transform", `translate(${margin},${margin})`);

  // clusters first (behind), outer before inner
  const clusters = [...lay.clusters.values()].sort((a, b) => a.depth - b.depth);
  const cg = g
    .append("g")
    .attr("class", "clusters")
    .selectAll("g")
    .data(clusters)
    .join("g")
    .attr("class", (c, i) => `cluster ${opts.clusterClass ?? "scope"} cluster-${i % 6}`)
    .attr("data-path", (c) => pathKey([...common, ...c.path]))
    .attr("data-kernel", (c) => c.path[c.path.length - 1])
    .attr("transform", (c) => `translate(${c.x},${c.y})`);
  cg.append("rect")
    .attr("width", (c) => c.width)
    .attr("height", (c) => c.height)
    .attr("rx", 8);
  cg.append("text")
    .attr("class", "cluster-label")
    .attr("x", 8)
    .attr("y", 14)
    .text((c) => `▾ ${label([...common, ...c.path])}`);

  const center = (key: string) => lay.leaves.get(key)!;
  const link = (a: string, b: string) => {
    const p = center(a);
    const q = center(b);
    const x1 = p.x + p.width / 2,
      y1 = p.y + p.height;
    const x2 = q.x + q.width / 2,
      y2 = q.y;
    const dy = Math.max(30, Math.abs(y2 - y1) / 2);
    return `M${x1},${y1}C${x1},${y1 + dy} ${x2},${y2 - dy} ${x2},${y2}`;
  };
  g.append("g")
    .attr("class", "edges")
    .selectAll("path")
    .data([...edgeSet.values()])
    .join("path")
    .attr("class", (e) => (center(e[1]).y < center(e[0]).y ? "edge back" : "edge"))
    .attr("data-from", (e) => e[2])
    .attr("data-to", (e) => e[3])
    .attr("d", (e) => link(e[0], e[1]));

  const boxes = g
    .append("g")
    .attr("class", "nodes")
    .selectAll("g")
    .data([...leaves.values()])
    .join("g")
    .attr("class", (l) => (l.node ? `node kind-${l.node.kind}${outputsOf.has(l.node.id) ? " output" : ""}` : "node folded"))
    .attr("data-id", (l) => (l.node ? l.node.id : null))
    .attr("data-path", (l) => (l.group ? pathKey(l.group) : null))
    .attr("transform", (l) => `translate(${center(l.key).x},${center(l.key).y})`);
  boxes
    .append("rect")
    .attr("width", (l) => l.width)
    .attr("height", (l) => l.height)
    .attr("rx", (l) => (l.node && (l.node.kind === "input" || l.node.kind === "const") ? 16 : 4));
  boxes
    .append("text")
    .attr("class", "title")
    .attr("x", (l) => l.width / 2)
    .attr("y", 14)
    .text((l) => (l.node ? l.node.title : `▸ ${label(l.group!)}`));
  boxes
    .append("text")
    .attr("class", "shape")
    .attr("x", (l) => l.width / 2)
    .attr("y", 27)
    .text((l) => (l.node ? `${names.get(l.node.id)} · ${l.node.dtype}[${l.node.shape.join(",")}]` : `${l.count} nodes`));
  boxes
    .filter((l) => !!l.node && outputsOf.has(l.node.id))
    .append("text")
    .attr("class", "outname")
    .attr("x", (l) => l.width / 2)
    .attr("y", 41)
    .text((l) => `→ ${outputsOf.get(l.node!.id)!.join(", ")}`);

  const byKey = new Map<string, Element>();
  boxes.each(function (l) {
    byKey.set(l.key, this as Element);
  });
  const elements = new Map<number, Element>();
  for (const [id, key] of leafOf) elements.set(id, byKey.get(key)!);
  return { width: lay.width + 2 * margin, height: lay.height + 2 * margin, elements, users, folded };
}

/** The page's and the SVG's styles: one look for both. */
export const GRAPH_CSS = `
.edge { fill: none; stroke: #9aa3ad; stroke-width: 1.1px; }
.edge.back { stroke-dasharray: 4 3; stroke-opacity: 0.6; }
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
.node.folded rect { fill: #e8eefb; stroke: #4f6fb0; stroke-width: 1.6px; }
.node.folded text.title { font-weight: 700; }
.output rect { stroke: #8a2b2b; stroke-width: 2.4px; }
.cluster rect { fill: #4f7fd8; fill-opacity: 0.06; stroke: #4f7fd8; stroke-opacity: 0.6; stroke-width: 1.5px; }
.cluster.cluster-1 rect { fill: #d84f8a; stroke: #d84f8a; }
.cluster.cluster-2 rect { fill: #3aa58c; stroke: #3aa58c; }
.cluster.cluster-3 rect { fill: #c08a1a; stroke: #c08a1a; }
.cluster.cluster-4 rect { fill: #7a5bd8; stroke: #7a5bd8; }
.cluster.cluster-5 rect { fill: #555; stroke: #555; }
.cluster text { font: 600 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: #33456b; }
`;
