// einsum: Einstein summation over one or more operands, lowered to the primitives the optimizer
// already knows: sums over axes only one operand has, transposes and reshapes (views), and per
// pair of operands either one matmul (when they share a summed index) or a broadcast product.
//
//   einsum("ij,kj->ik", a, b)          // a @ b^T: matmul(a, transpose(b))
//   einsum("bqd,bkd->bqk", q, k)       // batched attention scores
//   einsum("...ij,...jk", a, b)        // implicit output: the indices seen once, sorted
//
//   einsum("ii->i", a)                 // the diagonal; "ii->" the trace, "...ii->..." batched
//
// An index repeated within one operand takes that operand's diagonal first: the repeated axes are
// moved last, merged, and read with a stride (a slice, whose gradient is pad), so a diagonal costs
// no product and its gradient places the cotangent back on the diagonal.

import * as b from "../core/builder.js";
import { apply } from "../core/node.js";
import { GradcError } from "../core/errors.js";
import { describe, Node } from "../core/node.js";
import { shapeStr } from "../core/tensor.js";

/** An operand with one label per axis. Ellipsis axes get labels from a private range. */
interface Labeled {
  x: Node;
  labels: string[];
}

const ELLIPSIS_BASE = 0x100; // labels for "..." axes: characters no spec can contain

export function einsum(spec: string, ...operands: Node[]): Node {
  const fail = (msg: string): never => {
    throw new GradcError(
      `einsum: ${msg} in "${spec}"\n  at ${describe(
        "einsum",
        operands.filter((x) => x instanceof Node),
        { spec },
      )}`,
    );
  };
  if (typeof spec !== "string") throw new GradcError(`einsum: the first argument must be a spec string like "ij,jk->ik", got ${typeof spec}`);
  if (operands.length === 0) fail("needs at least one operand");
  operands.forEach((x, k) => {
    if (!(x instanceof Node)) fail(`operand ${k} is not a graph node (got ${typeof x})`);
  });
  const compact = spec.replace(/\s+/g, "");
  const [lhs, rhs] = compact.includes("->") ? compact.split("->") : [compact, undefined];
  if (compact.split("->").length > 2) fail("more than one ->");
  const terms = lhs.split(",");
  if (terms.length !== operands.length) fail(`${terms.length} operand term(s) for ${operands.length} operand(s)`);

  // ellipsis axes: right-aligned, broadcast like NumPy's batch axes
  const ellipsisRank = Math.max(0, ...terms.map((t, k) => (t.includes("...") ? operands[k].rank - (t.length - 3) : 0)));
  const ellipsis = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(ELLIPSIS_BASE + ellipsisRank - n + i));
  const parse = (t: string, rank: number | undefined, what: string): string[] => {
    const parts = t.split("...");
    if (parts.length > 2) fail(`${what} "${t}" has more than one ...`);
    for (const c of parts.join("")) if (!/[A-Za-z]/.test(c)) fail(`${what} "${t}": index "${c}" is not a letter`);
    if (parts.length === 1) return [...t];
    const n = rank === undefined ? ellipsisRank : rank - parts[0].length - parts[1].length;
    if (n < 0) fail(`${what} "${t}" names more axes than the operand has`);
    return [...parts[0], ...ellipsis(n), ...parts[1]];
  };
  const sizes = new Map<string, number>();
  const show = (l: string) => (l.charCodeAt(0) >= ELLIPSIS_BASE ? "..." : l);
  const inputs: Labeled[] = terms.map((t, k) => {
    let x = operands[k];
    let labels = parse(t, x.rank, `operand ${k}`);
    if (labels.length !== x.rank) fail(`operand ${k} is ${x} but "${t}" names ${labels.length} axes`);
    // pad missing ellipsis axes with size-1 axes so that they broadcast
    const have = labels.filter((l) => l.charCodeAt(0) >= ELLIPSIS_BASE).length;
    if (t.includes("...") && have < ellipsisRank) {
      const at = labels.findIndex((l) => l.charCodeAt(0) >= ELLIPSIS_BASE);
      const pos = at < 0 ? t.indexOf("...") : at;
      const missing = ellipsis(ellipsisRank).slice(0, ellipsisRank - have);
      labels = [...labels.slice(0, pos), ...missing, ...labels.slice(pos)];
      x = b.reshape(x, [...x.shape.slice(0, pos), ...missing.map(() => 1), ...x.shape.slice(pos)]);
    }
    labels.forEach((l, d) => {
      const s = x.shape[d];
      const seen = sizes.get(l);
      const isEllipsis = l.charCodeAt(0) >= ELLIPSIS_BASE;
      if (seen === undefined || (isEllipsis && seen === 1)) sizes.set(l, s);
      else if (s !== seen && !(isEllipsis && s === 1)) {
        fail(`index "${show(l)}" has size ${seen} in one operand and ${s} in operand ${k} (${operands.map((o) => shapeStr(o.shape)).join(", ")})`);
      }
    });
    return diagonals({ x, labels });
  });
  const all = inputs.flatMap((i) => i.labels);
  const counts = new Map<string, number>();
  for (const l of all) counts.set(l, (counts.get(l) ?? 0) + 1);
  const out =
    rhs !== undefined
      ? parse(rhs, undefined, "the output")
      : [
          ...ellipsis(ellipsisRank),
          ...[...counts]
            .filter(([l, c]) => c === 1 && l.charCodeAt(0) < ELLIPSIS_BASE)
            .map(([l]) => l)
            .sort(),
        ];
  if (new Set(out).size !== out.length) fail("the output repeats an index");
  for (const l of out) if (!counts.has(l)) fail(`output index "${show(l)}" is in no operand`);

  // contract left to right, keeping the indices the output or a later operand still needs
  let acc = reduceAlone(inputs[0], needed(inputs, 1, out));
  for (let k = 1; k < inputs.length; k++) {
    const keep = needed(inputs, k + 1, out);
    const next = reduceAlone(inputs[k], new Set([...keep, ...acc.labels]));
    acc = pair(reduceAlone(acc, new Set([...keep, ...next.labels])), next, keep, sizes);
  }
  return arrange(acc, out, sizes);
}

/**
 * An operand with every repeated index taken along its diagonal: for an index on axes P (all of
 * size n), the axes of P moved last and merged into n^k elements, of which the diagonal is every
 * (n^k - 1) / (n - 1)-th (1 + n + ... + n^(k-1)).
 */
function diagonals(t: Labeled): Labeled {
  let { x, labels } = t;
  for (const l of new Set(labels)) {
    const axes = labels.flatMap((m, d) => (m === l ? [d] : []));
    if (axes.length < 2) continue;
    const rest = labels.flatMap((m, d) => (m === l ? [] : [d]));
    const n = x.shape[axes[0]];
    const k = axes.length;
    const moved = b.transpose(x, [...rest, ...axes]);
    const merged = b.reshape(moved, [...rest.map((d) => x.shape[d]), n ** k]);
    const step = n > 1 ? (n ** k - 1) / (n - 1) : 1;
    const stop = [...rest.map((d) => x.shape[d]), n > 0 ? (n - 1) * step + 1 : 0];
    x = apply("slice", [merged], { start: stop.map(() => 0), stop, step: [...rest.map(() => 1), step] });
    labels = [...rest.map((d) => labels[d]), l];
  }
  return { x, labels };
}

/** Indices the output or operands from `from` on still need. */
function needed(inputs: Labeled[], from: number, out: string[]): Set<string> {
  return new Set([...out, ...inputs.slice(from).flatMap((i) => i.labels)]);
}

/** Sum over the axes whose index nothing else needs. */
function reduceAlone(t: Labeled, keep: Set<string>): Labeled {
  const axes = t.labels.flatMap((l, d) => (keep.has(l) ? [] : [d]));
  if (axes.length === 0) return t;
  return { x: b.sum(t.x, axes), labels: t.labels.filter((l) => keep.has(l)) };
}

/** Bring an operand to the given index order, broadcasting size-1 ellipsis axes. */
function arrange(t: Labeled, order: string[], sizes: Map<string, number>): Node {
  const perm = order.map((l) => t.labels.indexOf(l));
  const x = b.transpose(t.x, perm);
  return b.broadcastTo(
    x,
    order.map((l) => sizes.get(l)!),
  );
}

/** The product of two operands, summed over the indices they share that `keep` does not need. */
function pair(p: Labeled, q: Labeled, keep: Set<string>, sizes: Map<string, number>): Labeled {
  const shared = p.labels.filter((l) => q.labels.includes(l));
  const batch = shared.filter((l) => keep.has(l));
  const contract = shared.filter((l) => !keep.has(l));
  const freeP = p.labels.filter((l) => !shared.includes(l));
  const freeQ = q.labels.filter((l) => !shared.includes(l));
  const size = (ls: string[]) => ls.reduce((m, l) => m * sizes.get(l)!, 1);
  const dims = (ls: string[]) => ls.map((l) => sizes.get(l)!);
  const labels = [...batch, ...freeP, ...freeQ];
  if (contract.length === 0) {
    // nothing summed: a broadcast product [batch, freeP, 1...] * [batch, 1..., freeQ]
    const x = b.reshape(arrange(p, [...batch, ...freeP], sizes), [...dims(batch), ...dims(freeP), ...freeQ.map(() => 1)]);
    const y = b.reshape(arrange(q, [...batch, ...freeQ], sizes), [...dims(batch), ...freeP.map(() => 1), ...dims(freeQ)]);
    return { x: b.mul(x, y), labels };
  }
  // [batch, M, K] @ [batch, K, N] with the free and summed indices merged
  const x = b.reshape(arrange(p, [...batch, ...freeP, ...contract], sizes), [...dims(batch), size(freeP), size(contract)]);
  const y = b.reshape(arrange(q, [...batch, ...contract, ...freeQ], sizes), [...dims(batch), size(contract), size(freeQ)]);
  return { x: b.reshape(b.matmul(x, y), [...dims(batch), ...dims(freeP), ...dims(freeQ)]), labels };
}
