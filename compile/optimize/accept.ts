// Per-subgraph acceptance: the rewrite engine keeps a rule's (normalized) replacement only if it is
// no costlier than the node it replaces, measured on the part of the graph the replacement adds.
// A local win (a folded constant, a cancelled term) is kept wherever it occurs; a rewrite that only
// pays in someone's imagination (sum(a - b) split into two sums that nothing simplifies) is not
// taken, so no later global comparison has to throw the whole result away.
//
// A replacement r of node m is compared with what it frees: the part of m's subgraph that only m
// uses (in the graph being optimized; nodes built while rewriting count as m's own) against the
// part of r's subgraph that is not kept alive by the rest of the graph. The local cost, compared
// lexicographically (cheaper first):
//   1. the critical path: elements swept by the reductions on the longest chain to the node
//      (a reduction must finish before what reads it starts: fewer sequential sweeps),
//   2. elements read by the new reductions and contractions (each is a pass over its operand),
//   3. elements computed by new elementwise operations,
//   4. new nodes.
// So a replacement that reads an existing sum(dout) pays nothing for it, and one that replaces a
// whole chain of elementwise operations is credited with all of them.

import type { Node } from "../../core/node.js";

export type LocalCost = readonly [critical: number, reduced: number, elementwise: number, nodes: number];

const criticalMemo = new WeakMap<Node, number>();

/** Elements swept by reductions on the longest path ending at `n` (a property of the node alone). */
export function criticalPath(n: Node): number {
  const hit = criticalMemo.get(n);
  if (hit !== undefined) return hit;
  // iterative post-order: graphs thousands of layers deep must not overflow the stack
  const stack: Node[] = [n];
  while (stack.length) {
    const m = stack[stack.length - 1];
    if (criticalMemo.has(m)) {
      stack.pop();
      continue;
    }
    const todo = m.inputs.filter((x) => !criticalMemo.has(x));
    if (todo.length) {
      stack.push(...todo);
      continue;
    }
    stack.pop();
    let d = 0;
    for (const x of m.inputs) d = Math.max(d, criticalMemo.get(x)!);
    if (m.inputs.length && m.def.kind === "reduce") d += m.inputs[0].size;
    criticalMemo.set(m, d);
  }
  return criticalMemo.get(n)!;
}

/** At most this many nodes are credited to a node being replaced (bounded work per rewrite). */
const EXPLORE = 64;

/**
 * The nodes only `root` needs: root, then every node below it whose users in the graph are all in
 * the set (`users` lists them, once per use, for the graph's own nodes; a node built while rewriting belongs to
 * whatever reaches it). A worklist visits only the set and its inputs.
 */
export function exclusiveCone(root: Node, users: ReadonlyMap<Node, readonly Node[]>): Set<Node> {
  const own = new Set<Node>([root]);
  const waiting = new Map<Node, number>(); // users not yet in the set
  const work = [root];
  while (work.length && own.size < EXPLORE) {
    const n = work.pop()!;
    for (const x of n.inputs) {
      if (own.has(x) || x.inputs.length === 0) continue;
      const us = users.get(x);
      const left = (waiting.get(x) ?? (us ? us.length : 1)) - 1;
      waiting.set(x, left);
      if (left > 0) continue;
      own.add(x);
      work.push(x);
    }
  }
  return own;
}

/** The cost of a set of nodes (the critical path taken at `root`). */
export function costOf(root: Node, nodes: Iterable<Node>): LocalCost {
  let reduced = 0,
    elementwise = 0,
    count = 0;
  for (const n of nodes) {
    if (n.inputs.length === 0) continue;
    count++;
    const kind = n.def.kind;
    if (kind === "elementwise") elementwise += n.size;
    else if (kind !== "movement") reduced += n.inputs.reduce((s, x) => s + x.size, 0);
  }
  return [criticalPath(root), reduced, elementwise, count];
}

/** The cost of `root` and of what it needs that `known` does not already hold. */
export function localCost(root: Node, known: (n: Node) => boolean): LocalCost {
  let reduced = 0,
    elementwise = 0,
    nodes = 0;
  const seen = new Set<Node>();
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.inputs.length === 0) continue; // inputs, constants, iota: free
    if (n !== root && known(n)) continue;
    nodes++;
    const kind = n.def.kind;
    if (kind === "elementwise") elementwise += n.size;
    else if (kind !== "movement") reduced += n.inputs.reduce((s, x) => s + x.size, 0);
    stack.push(...n.inputs);
  }
  return [criticalPath(root), reduced, elementwise, nodes];
}

/** Negative when a is cheaper. */
export function compareLocal(a: LocalCost, b: LocalCost, upTo: number = a.length): number {
  for (let i = 0; i < upTo; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
