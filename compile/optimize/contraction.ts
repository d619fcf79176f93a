// Contractions in the algebra: a sum of products over indices (an einsum). Matrix products,
// elementwise products, transposes, broadcasts and sums all flatten into one form,
//
//   out[I] = c * sum_J prod_f A_f[idx_f]     (idx_f drawn from I and J),
//
// and any binary tree over the factors computes it (sums distribute over the factors that do not
// carry their index). Choosing the tree is choosing the evaluation order: the cost of a tree is
// the multiply-adds of its pairwise contractions, where a contraction the program computes anyway
// (a residual of the forward, or a value another consumer needs) costs nothing. So
// sum_j P_ij (dO V^T)_ij becomes sum_k dO_ik (P V)_ik exactly when P V is at hand.

import * as b from "../../core/builder.js";
import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { symbolOf } from "../../core/symbol-table.js";

/** An index variable; null marks a size-1 axis (no index). */
type Ix = number | null;

interface Factor {
  node: Node;
  idx: Ix[];
}

export interface Einsum {
  coef: number;
  factors: Factor[];
  /** The output's index per axis. */
  out: Ix[];
  /** Size of every index. */
  size: number[];
  /** Multiply-adds of the expression as it is written (free parts not counted). */
  current: number;
}

/** What the program has at hand without computing it here. */
export type Free = (n: Node) => boolean;

/** Values `g` computes for more than one consumer (or returns): computed anyway. */
export function sharedValues(g: Graph): Free {
  const uses = new Map<Node, number>();
  for (const n of g.nodes()) for (const x of n.inputs) uses.set(x, (uses.get(x) ?? 0) + 1);
  for (const y of Object.values(g.outputs)) uses.set(y, 2);
  return (n) => (uses.get(n) ?? 0) > 1;
}

const MAX_FACTORS = 5;

/** Flatten `root` (a sum or a matmul) into an einsum; null when it has fewer than three factors. */
export function flattenContraction(root: Node, free: Free): Einsum | null {
  const size: number[] = [];
  const fresh = (n: number) => size.push(n) - 1;
  const out: Ix[] = root.shape.map((s) => (s === 1 ? null : fresh(s)));
  const factors: Factor[] = [];
  let coef = 1;
  let current = 0;
  // explicit stack: [node, its axes' indices, counted (inside a free value: its work is not ours)]
  const stack: [Node, Ix[], boolean][] = [[root, out, true]];
  while (stack.length) {
    const [n, idx, counted] = stack.pop()!;
    const own = counted && n !== root && free(n) ? false : counted;
    const work = (w: number) => {
      if (own) current += w;
    };
    switch (n.op) {
      case "const":
        coef *= n.value;
        continue;
      case "neg":
        coef = -coef;
        stack.push([n.inputs[0], idx, own]);
        continue;
      case "mul":
        // scaling by a constant fuses into the kernel beside it: moving it is no saving
        if (!n.inputs.some((x) => x.isConst)) work(n.size);
        stack.push([n.inputs[0], idx, own], [n.inputs[1], idx, own]);
        continue;
      case "matmul": {
        // [...batch, i, k] @ [...batch, k, j]: batch axes share the output's indices
        const [x, y] = n.inputs;
        const r = n.rank;
        const batch = idx.slice(0, r - 2);
        const kSize = x.shape[r - 1];
        const k = kSize === 1 ? null : fresh(kSize);
        work(2 * x.size * y.shape[r - 1]);
        stack.push([x, [...batch, idx[r - 2], k], own], [y, [...batch, k, idx[r - 1]], own]);
        continue;
      }
      case "transpose": {
        const perm = n.attrs.perm as number[];
        const inner: Ix[] = new Array(perm.length);
        perm.forEach((p, a) => (inner[p] = idx[a]));
        stack.push([n.inputs[0], inner, own]);
        continue;
      }
      case "broadcastTo":
        stack.push([n.inputs[0], n.inputs[0].shape.map((s, a) => (s === 1 ? null : idx[a])), own]);
        continue;
      case "sum": {
        const axes = n.attrs.axes as number[];
        const x = n.inputs[0];
        work(x.size);
        stack.push([x, x.shape.map((s, a) => (!axes.includes(a) ? idx[a] : s === 1 ? null : fresh(s))), own]);
        continue;
      }
      case "reshape": {
        // only reshapes that add or drop size-1 axes keep the indices
        const kept = idx.filter((_, a) => n.shape[a] !== 1);
        const inner = n.inputs[0].shape;
        if (inner.filter((s) => s !== 1).join() === n.shape.filter((s) => s !== 1).join()) {
          let k = 0;
          stack.push([n.inputs[0], inner.map((s) => (s === 1 ? null : kept[k++])), own]);
          continue;
        }
        factors.push({ node: n, idx });
        continue;
      }
      default:
        factors.push({ node: n, idx });
    }
  }
  if (factors.length < 3 || factors.length > MAX_FACTORS) return null;
  // a summed index no factor carries (a sum over a broadcast axis) counts its size
  const carried = new Set([...out, ...factors.flatMap((f) => f.idx)]);
  let symbolic = false;
  size.forEach((s, i) => {
    if (!carried.has(i)) coef *= s;
    if (!carried.has(i) && symbolOf(s)) symbolic = true; // a symbolic size (N) is no number to fold in
  });
  if (symbolic || !Number.isFinite(coef)) return null;
  return { coef, factors, out, size, current };
}

// ---- evaluation orders ------------------------------------------------------------------------

interface Tree {
  leaf?: Factor;
  pair?: [Tree, Tree];
}

/** Every binary tree over the factors (3 factors: 3 trees, 4: 15, 5: 105). */
function trees(items: Tree[]): Tree[] {
  if (items.length === 1) return items;
  const out: Tree[] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const rest = items.filter((_, k) => k !== i && k !== j);
      for (const t of trees([{ pair: [items[i], items[j]] }, ...rest])) out.push(t);
    }
  }
  return out;
}

const leaves = (t: Tree): Factor[] => (t.leaf ? [t.leaf] : [...leaves(t.pair![0]), ...leaves(t.pair![1])]);

/** The cheapest tree as nodes, with its cost; the expression as written is `e.current`. */
export function cheapestOrder(e: Einsum, like: Node, free: Free): { node: Node; cost: number } | null {
  let best: { node: Node; cost: number } | null = null;
  const seen = new Set<string>();
  for (const t of trees(e.factors.map((leaf) => ({ leaf })))) {
    const key = shape(t);
    if (seen.has(key)) continue; // (a b) c and c (a b) are one order
    seen.add(key);
    const built = emitTree(t, e, free);
    if (!best || built.cost < best.cost) best = { node: finish(built.node, built.idx, e, like), cost: built.cost };
  }
  return best;
}

const shape = (t: Tree): string => {
  if (t.leaf) return `${t.leaf.node.id}:${t.leaf.idx.join(",")}`;
  const [p, q] = t.pair!.map(shape).sort();
  return `(${p} ${q})`;
};

interface Built {
  node: Node;
  idx: Ix[];
  cost: number;
}

/** Indices of `t`'s result: those any factor outside it or the output still needs. */
function keptIndices(t: Tree, e: Einsum): Set<number> {
  const inside = new Set(leaves(t));
  const needed = new Set<number>(e.out.filter((i): i is number => i !== null));
  for (const f of e.factors) if (!inside.has(f)) for (const i of f.idx) if (i !== null) needed.add(i);
  const mine = new Set<number>();
  for (const f of inside) for (const i of f.idx) if (i !== null && needed.has(i)) mine.add(i);
  return mine;
}

function emitTree(t: Tree, e: Einsum, free: Free): Built {
  if (t.leaf) {
    const kept = keptIndices(t, e);
    const own = t.leaf.idx.filter((i): i is number => i !== null);
    if (own.every((i) => kept.has(i))) return { node: t.leaf.node, idx: t.leaf.idx, cost: 0 };
    // an index only this factor carries is summed right away
    const node = contract([t.leaf], e, kept, free);
    return { node: node.node, idx: node.idx, cost: free(node.node) ? 0 : t.leaf.node.size };
  }
  const [p, q] = t.pair!.map((s) => emitTree(s, e, free));
  const kept = keptIndices(t, e);
  const made = contract(
    [
      { node: p.node, idx: p.idx },
      { node: q.node, idx: q.idx },
    ],
    e,
    kept,
    free,
  );
  const all = new Set([...p.idx, ...q.idx].filter((i): i is number => i !== null));
  // a multiply per point of the joint index space, and an add per point if anything is summed
  const work = [...all].reduce((m, i) => m * e.size[i], 1) * (all.size > kept.size ? 2 : 1);
  return { node: made.node, idx: made.idx, cost: p.cost + q.cost + (free(made.node) ? 0 : work) };
}

/**
 * Order of a result's indices: the output's order for the last contraction (no transpose after
 * it), otherwise the factors' own order (no transpose before it).
 */
function resultOrder(kept: Set<number>, e: Einsum, fs: readonly Factor[]): number[] {
  const outer = e.out.filter((i): i is number => i !== null);
  if (outer.length === kept.size && outer.every((i) => kept.has(i))) return outer;
  const order: number[] = [];
  for (const f of fs) for (const i of f.idx) if (i !== null && kept.has(i) && !order.includes(i)) order.push(i);
  return order;
}

/** One factor brought to the index order `order` (indices it lacks become size-1 axes). */
function arrange(f: Factor, order: readonly number[], e: Einsum, spread: boolean): Node {
  const own = f.idx.filter((i): i is number => i !== null);
  let x = b.reshape(
    f.node,
    own.map((i) => e.size[i]),
  );
  const sorted = [...own].sort((p, q) => order.indexOf(p) - order.indexOf(q));
  x = b.transpose(
    x,
    sorted.map((i) => own.indexOf(i)),
  );
  x = b.reshape(
    x,
    order.map((i) => (own.includes(i) ? e.size[i] : 1)),
  );
  return spread
    ? b.broadcastTo(
        x,
        order.map((i) => e.size[i]),
      )
    : x;
}

/** Multiply the factors and sum every index not in `kept`: a matmul where it is one. */
function contract(fs: Factor[], e: Einsum, kept: Set<number>, free: Free): { node: Node; idx: Ix[] } {
  const order = resultOrder(kept, e, fs);
  const all = [...new Set(fs.flatMap((f) => f.idx.filter((i): i is number => i !== null)))];
  const summed = all.filter((i) => !kept.has(i));
  if (fs.length === 2 && summed.length === 1) {
    // one summed index both carry, one free index each, the rest shared: a (batched) matmul
    const [k] = summed;
    const [f, g] = fs.map((x) => x.idx.filter((i): i is number => i !== null));
    const batch = f.filter((i) => i !== k && g.includes(i));
    const fi = f.filter((i) => i !== k && !g.includes(i));
    const gj = g.filter((i) => i !== k && !f.includes(i));
    if (f.includes(k) && g.includes(k) && fi.length === 1 && gj.length === 1 && batch.every((i) => kept.has(i))) {
      // either orientation computes it; one the program already has is free, else follow `order`
      const orient = (p: Factor, q: Factor, i: number, j: number) => ({
        node: b.matmul(arrange(p, [...batch, i, k], e, false), arrange(q, [...batch, k, j], e, false)),
        idx: [...batch, i, j],
      });
      const ab = orient(fs[0], fs[1], fi[0], gj[0]);
      const ba = orient(fs[1], fs[0], gj[0], fi[0]);
      if (free(ab.node)) return ab;
      if (free(ba.node)) return ba;
      return order.indexOf(gj[0]) < order.indexOf(fi[0]) ? ba : ab;
    }
  }
  const space = [...order, ...summed];
  let prod = arrange(fs[0], space, e, true);
  for (const f of fs.slice(1)) prod = b.mul(prod, arrange(f, space, e, true));
  const axes = summed.map((_, j) => order.length + j);
  const reduced = axes.length ? b.sum(prod, axes, true) : prod;
  return {
    node: b.reshape(
      reduced,
      order.map((i) => e.size[i]),
    ),
    idx: order,
  };
}

/** The last result arranged as the output (its axes and size-1 axes) and scaled. */
function finish(node: Node, idx: Ix[], e: Einsum, like: Node): Node {
  const order = e.out.filter((i): i is number => i !== null);
  const x = arrange({ node, idx }, order, e, true); // an output axis no factor carries is a broadcast
  const shaped = b.reshape(x, like.shape);
  return e.coef === 1 ? shaped : b.mul(shaped, b.constant(e.coef, like.dtype, like.shape));
}
