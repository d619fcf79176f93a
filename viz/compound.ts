// Compound layout: boxes nested in clusters (kernels, name scopes), each cluster laid out on its
// own with layoutDag and then placed as one box among its siblings. Clusters never overlap and a
// box sits in exactly one cluster, by construction: no hulls drawn around a flat layout afterwards.
//
// Why not elkjs or dagre's compound mode: both route every edge through one dummy node per layer
// crossed, which took 91 s (elkjs) and 67 s (dagre) on a 2,005-node backward (see layout.ts); here a
// cluster is laid out once with only its inside edges, and edges between clusters become one edge
// between the two clusters' boxes, so a 2,000-node graph in a dozen clusters lays out in well
// under a second.

import { layoutDag } from "./layout.js";

export interface LeafBox {
  key: string;
  width: number;
  height: number;
  /** The clusters it sits in, outermost first ([] = top level). */
  path: readonly string[];
  /** Where it comes in the data flow (default: its place in the list); a cycle is broken at the first. */
  order?: number;
}

export interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedCluster extends Placed {
  path: string[];
  depth: number;
}

export interface CompoundLayout {
  /** Top-left corner and size of every leaf box. */
  leaves: Map<string, Placed>;
  /** Every cluster's rectangle, by its path joined with "\u001f". */
  clusters: Map<string, PlacedCluster>;
  width: number;
  height: number;
}

export interface CompoundOptions {
  /** Width of a cluster's label (it gets a row above its contents); default 0. */
  labelWidth?: (path: readonly string[]) => number;
  pad?: number;
  labelHeight?: number;
  /** Gaps between boxes and between layers (layoutDag's default: 14 and 34). */
  gap?: [number, number];
}

interface Group {
  path: string[];
  groups: Map<string, Group>;
  leaves: LeafBox[];
  edges: [LeafBox, LeafBox][];
  /** Computed: size, and child positions relative to the group's corner. */
  width: number;
  height: number;
  at: Map<LeafBox | Group, [number, number]>;
}

const SEP = "\u001f";

export function layoutCompound(leaves: readonly LeafBox[], edges: readonly (readonly [string, string])[], opts: CompoundOptions = {}): CompoundLayout {
  const pad = opts.pad ?? 10;
  const labelHeight = opts.labelHeight ?? 20;
  const newGroup = (path: string[]): Group => ({ path, groups: new Map(), leaves: [], edges: [], width: 0, height: 0, at: new Map() });
  const root = newGroup([]);
  const byKey = new Map<string, LeafBox>();
  for (const leaf of leaves) {
    byKey.set(leaf.key, leaf);
    let g = root;
    for (const p of leaf.path) {
      let next = g.groups.get(p);
      if (!next) g.groups.set(p, (next = newGroup([...g.path, p])));
      g = next;
    }
    g.leaves.push(leaf);
  }
  for (const [a, b] of edges) {
    const la = byKey.get(a);
    const lb = byKey.get(b);
    if (la && lb && la !== lb) root.edges.push([la, lb]);
  }

  // where a leaf comes in the data flow (its order, else its place in `leaves`); a cluster comes
  // where its first leaf does
  const place = new Map<LeafBox, number>(leaves.map((l, i) => [l, l.order ?? i]));
  const firstOf = new Map<Group, number>();
  const first = (c: LeafBox | Group): number => {
    if ("key" in c) return place.get(c)!;
    let f = firstOf.get(c);
    if (f === undefined) {
      f = Infinity;
      for (const l of c.leaves) f = Math.min(f, place.get(l)!);
      for (const sub of c.groups.values()) f = Math.min(f, first(sub));
      firstOf.set(c, f);
    }
    return f;
  };

  const size = (g: Group): void => {
    const depth = g.path.length;
    const children: (LeafBox | Group)[] = [...g.groups.values(), ...g.leaves];
    const index = new Map<LeafBox | Group, number>(children.map((c, i) => [c, i]));
    const childOf = (l: LeafBox): LeafBox | Group => (l.path.length > depth ? g.groups.get(l.path[depth])! : l);
    const seen = new Set<string>();
    const inner: [number, number][] = [];
    for (const e of g.edges) {
      const ca = childOf(e[0]);
      const cb = childOf(e[1]);
      if (ca === cb) {
        (ca as Group).edges.push(e);
        continue;
      }
      const key = `${index.get(ca)},${index.get(cb)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inner.push([index.get(ca)!, index.get(cb)!]);
    }
    for (const sub of g.groups.values()) size(sub);
    const sizes = children.map((c) => ({ width: c.width, height: c.height }));
    const lay = layoutDag({ sizes, edges: inner, margin: 0, gap: opts.gap, priority: children.map(first) });
    const top = depth === 0 ? 0 : labelHeight;
    const edge = depth === 0 ? 0 : pad;
    const labelW = depth === 0 ? 0 : (opts.labelWidth?.(g.path) ?? 0);
    const contentW = Math.max(lay.width, labelW);
    const shift = (contentW - lay.width) / 2;
    children.forEach((c, i) => g.at.set(c, [edge + shift + lay.nodes[i].x - c.width / 2, edge + top + lay.nodes[i].y - c.height / 2]));
    g.width = contentW + 2 * edge;
    g.height = lay.height + top + 2 * edge;
  };
  size(root);

  const out: CompoundLayout = { leaves: new Map(), clusters: new Map(), width: root.width, height: root.height };
  const placeAll = (g: Group, x0: number, y0: number) => {
    for (const [c, [x, y]] of g.at) {
      if ("key" in c) out.leaves.set(c.key, { x: x0 + x, y: y0 + y, width: c.width, height: c.height });
      else {
        out.clusters.set(c.path.join(SEP), { x: x0 + x, y: y0 + y, width: c.width, height: c.height, path: c.path, depth: c.path.length });
        placeAll(c, x0 + x, y0 + y);
      }
    }
  };
  placeAll(root, 0, 0);
  return out;
}

export const pathKey = (path: readonly string[]): string => path.join(SEP);
