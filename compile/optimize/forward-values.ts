// Values the forward already computed, found again in the backward. A backward graph from `vjp`
// carries each residual's forward definition (g.facts). Seen through those definitions, a backward
// expression is an expression of the forward; if that is (up to the canonical form) the definition
// of a residual, the backward reads the residual instead of recomputing it. This is the converse of
// `sum-of-residual`, and nothing in it knows which program it is looking at: log-softmax's
// sum(exp(x - m)) and a user's saved statistic are found the same way.

import { toposort, type Graph } from "../../core/graph.js";
import * as b from "../../core/builder.js";
import { apply, type Node } from "../../core/node.js";

/** The residual input whose forward definition `n` recomputes, if any. */
export type ResidualFor = (n: Node) => Node | undefined;

/**
 * An index of the graph's residual definitions. `simplify` brings a forward expression to its
 * normal form (the optimizer's rules without the backward's facts), so that a recomputation
 * written differently from the forward's definition is found too.
 */
export function forwardValues(g: Graph, simplify: (n: Node) => Node): ResidualFor {
  // every fact: a residual input, or a forward output the graph may read (an input it does not
  // take yet: reading it adds it, compile/optimize/rewrite.ts)
  const defs = Object.entries(g.facts);
  if (defs.length === 0) return () => undefined;
  const residual = new Map(defs.map(([name, def]) => [name, g.inputNames.includes(name) ? g.input(name) : b.input(name, def.shape, def.dtype)]));
  const toForward = new Map<Node, Node>(defs.map(([name, def]) => [residual.get(name)!, def]));
  const byDef = new Map<Node, Node>();
  for (const [name, def] of defs) if (!byDef.has(def)) byDef.set(def, residual.get(name)!);
  // forward inputs the definitions read; any other input (the cotangent) has no forward image
  const leaves = new Set(toposort(defs.map(([, def]) => def)).filter((n) => n.isInput));
  const shapes = new Set(defs.map(([, def]) => `${def.dtype}[${def.shape.join(",")}]`));
  let byNormal: Map<Node, Node> | undefined;
  const normal = new Map<Node, Node | null>();
  const image = new Map<Node, Node | null>();

  const normalForm = (n: Node): Node | null => {
    if (normal.has(n)) return normal.get(n)!;
    let out: Node | null = null;
    try {
      out = simplify(n);
    } catch {
      out = null; // a limit inside the forward's normalization: no recognition, never a failure
    }
    normal.set(n, out);
    return out;
  };

  /** The forward expression `n` computes (residual inputs replaced by their definitions). */
  const forwardImage = (root: Node): Node | null => {
    for (const n of toposort([root], (m) => image.has(m))) {
      let out: Node | null;
      if (n.isInput) out = toForward.get(n) ?? (leaves.has(n) ? n : null);
      else if (n.inputs.length === 0) out = n;
      else {
        const ins = n.inputs.map((x) => image.get(x)!);
        out = ins.every((x): x is Node => x !== null) ? (ins.every((x, i) => x === n.inputs[i]) ? n : apply(n.op, ins, n.attrs)) : null;
      }
      image.set(n, out);
    }
    return image.get(root)!;
  };

  // Reading a residual is a pass over it: worth it to replace a reduction or a contraction, or
  // when the graph reads that residual anyway. An elementwise recomputation from residuals that
  // are read anyway (xc = xhat * std, which reuse-residual chose) stays as it is.
  const read = new Set(toposort(Object.values(g.outputs)).filter((n) => n.isInput));
  const heavyMemo = new Map<Node, boolean>();
  const heavy = (root: Node): boolean => {
    for (const n of toposort([root], (m) => heavyMemo.has(m))) {
      heavyMemo.set(n, n.def.kind === "reduce" || n.def.kind === "matmul" || n.inputs.some((x) => heavyMemo.get(x)));
    }
    return heavyMemo.get(root)!;
  };
  const worth = (n: Node, r: Node | undefined) => (r && r !== n && (read.has(r) || heavy(n)) ? r : undefined);

  const aval = (n: Node) => `${n.dtype}[${n.shape.join(",")}]`;
  const readShapes = new Set(defs.filter(([name]) => read.has(residual.get(name)!)).map(([, def]) => aval(def)));

  return (n) => {
    if (n.inputs.length === 0 || !shapes.has(aval(n))) return undefined;
    const img = forwardImage(n);
    if (!img) return undefined;
    const exact = byDef.get(img);
    if (exact) return worth(n, exact);
    // the canonical comparison costs a normalization: only where a match would be taken
    if (!heavy(n) && !readShapes.has(aval(n))) return undefined;
    if (!byNormal) {
      byNormal = new Map();
      for (const [name, def] of defs) {
        const key = normalForm(def);
        // a definition that folds to a constant or an input is better emitted as that
        if (key && key.inputs.length > 0 && !byNormal.has(key)) byNormal.set(key, residual.get(name)!);
      }
    }
    const key = normalForm(img);
    return worth(n, key ? byNormal.get(key) : undefined);
  };
}
