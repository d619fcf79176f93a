// A layered (Sugiyama-style) DAG layout, small and fast enough for 2,000-node backward graphs.
//
// Why not dagre, elkjs or d3-dag: a derived backward graph has many long edges (a forward value
// used a thousand layers later), and those libraries route each through one dummy node per layer.
// On a 2,005-node MLP backward they took 67 s (dagre), 91 s (elkjs) and > 100 s (d3-dag's
// sugiyama). Here an edge longer than `maxSpan` layers is drawn directly instead of routed, so the
// cost stays near linear.
//
// Kernels and name scopes are laid out as compound nodes by viz/compound.ts, which calls this once
// per cluster and once for the boxes and clusters around them. A graph with a cycle (a folded name
// scope holding both a layer's forward and its backward) is laid out with its back edges reversed.

export interface LayoutInput {
  /** Boxes in any order; sizes in px. */
  sizes: readonly { width: number; height: number }[];
  /** Edges as [from, to] indices into `sizes`; the graph must be acyclic. */
  edges: readonly (readonly [number, number])[];
  /** Edges spanning more layers than this are drawn as direct curves (default 6). */
  maxSpan?: number;
  /** Horizontal gap between boxes and vertical gap between layers (default 14 and 34). */
  gap?: [number, number];
  /** Space around the drawing (default 20). */
  margin?: number;
  /**
   * Where each box comes in the data flow (lower first): a cycle is broken at the waiting box that
   * comes first, so folded layers holding their forward and backward line up as the forward runs.
   */
  priority?: readonly number[];
}

export interface LayoutEdge {
  from: number;
  to: number;
  /** Polyline through the layers, source bottom to target top. */
  points: [number, number][];
  /** Drawn directly, not routed (spans more than maxSpan layers). */
  long: boolean;
}

export interface Layout {
  /** Box centers. */
  nodes: { x: number; y: number; layer: number }[];
  edges: LayoutEdge[];
  width: number;
  height: number;
}

export function layoutDag(input: LayoutInput): Layout {
  const { sizes, edges } = input;
  const maxSpan = input.maxSpan ?? 6;
  const [gapX, gapY] = input.gap ?? [14, 34];
  const n = sizes.length;
  const preds: number[][] = Array.from({ length: n }, () => []);
  const succs: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    succs[a].push(b);
    preds[b].push(a);
  }

  // 1. layers: longest path from the sources (Kahn's order); then, from the bottom up, a node with
  // at least as many consumers as inputs sinks to just above its first consumer (that shortens its
  // edges in total), so inputs, constants and their views sit next to where they are used.
  const indeg = preds.map((p) => p.length);
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) order.push(i);
  for (let k = 0; k < order.length; k++) {
    for (const s of succs[order[k]]) if (--indeg[s] === 0) order.push(s);
  }
  // a cycle: release the waiting node first in the data flow (else the one with the fewest inputs
  // left); its remaining in-edges become back edges
  const prio = input.priority;
  const before = (i: number, j: number) => (prio ? prio[i] < prio[j] || (prio[i] === prio[j] && indeg[i] < indeg[j]) : indeg[i] < indeg[j]);
  while (order.length < n) {
    let best = -1;
    for (let i = 0; i < n; i++) if (indeg[i] > 0 && (best < 0 || before(i, best))) best = i;
    indeg[best] = 0;
    order.push(best);
    for (let k = order.length - 1; k < order.length; k++) {
      for (const s of succs[order[k]]) if (indeg[s] > 0 && --indeg[s] === 0) order.push(s);
    }
  }
  const at = new Array<number>(n);
  order.forEach((v, k) => (at[v] = k));
  const rank = new Array<number>(n).fill(0);
  for (const v of order) for (const p of preds[v]) if (at[p] < at[v]) rank[v] = Math.max(rank[v], rank[p] + 1);
  for (let k = n - 1; k >= 0; k--) {
    const v = order[k];
    const later = succs[v].filter((s) => at[s] > at[v]);
    if (later.length > 0 && later.length >= preds[v].length) rank[v] = Math.min(...later.map((s) => rank[s])) - 1;
  }
  const used = [...new Set(rank)].sort((a, b) => a - b);
  const compact = new Map(used.map((r, i) => [r, i]));
  for (let v = 0; v < n; v++) rank[v] = compact.get(rank[v])!;
  const layerCount = used.length;

  // 2. vertices: the boxes plus one dummy per layer crossed by each short edge
  const vRank = rank.slice();
  const vWidth = sizes.map((s) => s.width);
  const vUp: number[][] = preds.map(() => []);
  const vDown: number[][] = preds.map(() => []);
  const chains: number[][] = [];
  const isLong: boolean[] = [];
  edges.forEach(([a, b]) => {
    const span = rank[b] - rank[a];
    const long = span > maxSpan || span < 1;
    isLong.push(long);
    const chain = [a];
    if (!long) {
      for (let r = rank[a] + 1; r < rank[b]; r++) {
        const d = vRank.length;
        vRank.push(r);
        vWidth.push(2);
        vUp.push([]);
        vDown.push([]);
        chain.push(d);
      }
    }
    chain.push(b);
    if (!long) {
      for (let k = 1; k < chain.length; k++) {
        vDown[chain[k - 1]].push(chain[k]);
        vUp[chain[k]].push(chain[k - 1]);
      }
    }
    chains.push(chain);
  });
  const vCount = vRank.length;
  const layers: number[][] = Array.from({ length: layerCount }, () => []);
  const seq = [...order, ...Array.from({ length: vCount - n }, (_, k) => n + k)];
  for (const v of seq) layers[vRank[v]].push(v);

  // 3. order within layers: barycenter sweeps, down then up
  const pos = new Float64Array(vCount);
  const renumber = (layer: number[]) => layer.forEach((v, i) => (pos[v] = i));
  layers.forEach(renumber);
  const sweep = (layer: number[], nbrs: number[][]) => {
    const key = new Map<number, number>();
    for (const v of layer) {
      const ns = nbrs[v];
      key.set(v, ns.length ? ns.reduce((s, u) => s + pos[u], 0) / ns.length : pos[v]);
    }
    layer.sort((a, b) => key.get(a)! - key.get(b)! || pos[a] - pos[b]);
    renumber(layer);
  };
  for (let it = 0; it < 6; it++) {
    for (let r = 1; r < layerCount; r++) sweep(layers[r], vUp);
    for (let r = layerCount - 2; r >= 0; r--) sweep(layers[r], vDown);
  }

  // 4. x coordinates: each layer is placed as close as it can to its neighbours' mean, keeping
  // its order and gaps (least squares under order constraints: pool adjacent violators).
  const x = new Float64Array(vCount);
  for (const layer of layers) {
    let cur = 0;
    for (const v of layer) {
      x[v] = cur + vWidth[v] / 2;
      cur += vWidth[v] + gapX;
    }
  }
  const place = (layer: number[], nbrs: number[][]) => {
    const m = layer.length;
    if (m === 0) return;
    const offset = new Float64Array(m);
    for (let i = 1; i < m; i++) offset[i] = offset[i - 1] + (vWidth[layer[i - 1]] + vWidth[layer[i]]) / 2 + gapX;
    const target = layer.map((v, i) => {
      const ns = nbrs[v];
      const want = ns.length ? ns.reduce((s, u) => s + x[u], 0) / ns.length : x[v];
      return want - offset[i];
    });
    // pool adjacent violators: blocks of [sum, count], means nondecreasing
    const sums: number[] = [];
    const counts: number[] = [];
    for (const t of target) {
      sums.push(t);
      counts.push(1);
      while (sums.length > 1 && sums[sums.length - 2] / counts[counts.length - 2] > sums[sums.length - 1] / counts[counts.length - 1]) {
        const s = sums.pop()!;
        const c = counts.pop()!;
        sums[sums.length - 1] += s;
        counts[counts.length - 1] += c;
      }
    }
    let i = 0;
    sums.forEach((s, b) => {
      for (let k = 0; k < counts[b]; k++, i++) x[layer[i]] = s / counts[b] + offset[i];
    });
  };
  for (let it = 0; it < 8; it++) {
    for (let r = 1; r < layerCount; r++) place(layers[r], vUp);
    for (let r = layerCount - 2; r >= 0; r--) place(layers[r], vDown);
  }

  // 5. y by layer; shift everything to a positive margin
  const layerHeight = new Array<number>(layerCount).fill(1);
  sizes.forEach((s, v) => (layerHeight[rank[v]] = Math.max(layerHeight[rank[v]], s.height)));
  const layerTop: number[] = [];
  let top = 0;
  for (let r = 0; r < layerCount; r++) {
    layerTop.push(top);
    top += layerHeight[r] + gapY;
  }
  const margin = input.margin ?? 20;
  let minX = Infinity;
  let maxX = -Infinity;
  for (let v = 0; v < vCount; v++) {
    minX = Math.min(minX, x[v] - vWidth[v] / 2);
    maxX = Math.max(maxX, x[v] + vWidth[v] / 2);
  }
  if (!Number.isFinite(minX)) minX = maxX = 0;
  const X = (v: number) => x[v] - minX + margin;
  const Y = (r: number) => margin + layerTop[r] + layerHeight[r] / 2;
  const nodes = sizes.map((_, v) => ({ x: X(v), y: Y(rank[v]), layer: rank[v] }));
  const laidEdges = edges.map(([a, b], k) => {
    const chain = chains[k];
    const points: [number, number][] = [[X(a), Y(rank[a]) + sizes[a].height / 2]];
    for (let c = 1; c < chain.length - 1; c++) points.push([X(chain[c]), Y(vRank[chain[c]])]);
    points.push([X(b), Y(rank[b]) - sizes[b].height / 2]);
    return { from: a, to: b, points, long: isLong[k] };
  });
  return { nodes, edges: laidEdges, width: maxX - minX + 2 * margin, height: 2 * margin + Math.max(0, top - gapY) };
}
