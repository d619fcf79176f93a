// Running a graph with symbolic sizes: bind each symbol from the shapes of the inputs that carry
// it, then specialise the graph to those sizes (every shape attribute rewritten, each `dim` leaf
// becoming the constant it is bound to). Specialisations are cached per graph and sizes, so a
// graph traced once runs at any batch size; the hash-consed nodes make a re-specialisation cheap.

import { GradcError } from "./errors.js";
import { Graph, toposort } from "./graph.js";
import { apply, Node } from "./node.js";
import { constant } from "./builder.js";
import { representativeOf, symbolOf, symbolSize } from "./symbol-table.js";
import { shapeStr, Tensor, type DType, type Shape } from "./tensor.js";

export { symbolSize, symbolOf } from "./symbol-table.js";

/** The symbolic size `name` as a scalar value of the graph (1/N is recip(dim("N"))). */
export const dim = (name: string, dtype: DType = "f64"): Node => apply("dim", [], { name, dtype });

const symbolic = new WeakMap<Graph, readonly string[]>();

/** The symbols a graph's inputs carry, in order of first appearance. */
export function graphSymbols(g: Graph): readonly string[] {
  let names = symbolic.get(g);
  if (!names) {
    const seen = new Set<string>();
    for (const x of g.inputs)
      for (const d of x.shape) {
        const s = symbolOf(d);
        if (s) seen.add(s.name);
      }
    for (const n of g.nodes()) if (n.op === "dim") seen.add(n.attrs.name as string);
    names = [...seen];
    symbolic.set(g, names);
  }
  return names;
}

type Shaped = { shape: Shape } | unknown;

/**
 * Bind every symbol of `g` from the inputs' shapes. A symbol two inputs bind differently, an input
 * of the wrong rank or a size that is not a multiple (3N) is an error naming symbol, inputs and sizes.
 */
export function bindSymbols(g: Graph, inputs: Readonly<Record<string, Shaped>>, who = "evaluate"): Record<string, number> {
  const sizes: Record<string, number> = {};
  const by: Record<string, string> = {};
  for (const x of g.inputs) {
    const v = Object.hasOwn(inputs, x.name) ? inputs[x.name] : undefined;
    const syms = x.shape.map(symbolOf);
    if (!syms.some(Boolean) || v === undefined) continue;
    if (!(v instanceof Tensor))
      throw new GradcError(
        `${who}: input "${x.name}" has symbolic shape ${shapeStr(x.shape)}: pass a Tensor, whose shape binds ${syms
          .filter(Boolean)
          .map((s) => s!.name)
          .join(", ")}`,
      );
    if (v.shape.length !== x.shape.length)
      throw new GradcError(`${who}: input "${x.name}" has shape ${shapeStr(v.shape)}, the graph expects ${x.dtype}${shapeStr(x.shape)}`);
    syms.forEach((s, axis) => {
      if (!s) return;
      const got = v.shape[axis];
      if (got % s.k !== 0 || got === 0)
        throw new GradcError(`${who}: input "${x.name}" axis ${axis} has size ${got}, which is not ${s.k}${s.name} for a positive ${s.name}`);
      const n = got / s.k;
      if (representativeOf(got) !== undefined)
        throw new GradcError(
          `${who}: input "${x.name}" axis ${axis} has size ${got}, a multiple of ${representativeOf(got)}, which gradc reserves to stand for a symbolic size`,
        );
      if (sizes[s.name] === undefined) {
        sizes[s.name] = n;
        by[s.name] = `${x.name} (axis ${axis})`;
      } else if (sizes[s.name] !== n) {
        throw new GradcError(`${who}: symbol ${s.name} bound to ${sizes[s.name]} by ${by[s.name]}, ${n} by ${x.name} (axis ${axis})`);
      }
    });
  }
  for (const name of graphSymbols(g)) {
    if (sizes[name] === undefined) throw new GradcError(`${who}: symbol ${name} is bound by no input (inputs ${g.inputNames.join(", ")})`);
  }
  return sizes;
}

const specialised = new WeakMap<Graph, Map<string, Graph>>();
/**
 * Specialisations kept per graph, least recently used dropped first: a graph run at thousands of
 * distinct sizes (a data loader's ragged last batches, a sweep over N) keeps memory bounded; a
 * size run again after eviction is rebuilt (cheap: nodes are hash-consed) and compile's own cache
 * (compile/codegen/compile.ts, 64 executables or 256 MB) decides whether its kernels survive.
 */
export const SPECIALISATION_CAP = 16;

/** The graph at concrete sizes: `specialize(g, { N: 50 })`. Cached per graph and sizes (LRU, SPECIALISATION_CAP). */
export function specialize(g: Graph, sizes: Readonly<Record<string, number>>): Graph {
  const key = JSON.stringify(Object.entries(sizes).sort());
  let byKey = specialised.get(g);
  if (!byKey) specialised.set(g, (byKey = new Map()));
  let h = byKey.get(key);
  if (h) byKey.delete(key);
  else h = rebuild(g, sizes);
  byKey.set(key, h);
  if (byKey.size > SPECIALISATION_CAP) byKey.delete(byKey.keys().next().value as string);
  return h;
}

/** How many specialisations of `g` are cached (for memory tests). */
export const specialisationCount = (g: Graph): number => specialised.get(g)?.size ?? 0;

function rebuild(g: Graph, sizes: Readonly<Record<string, number>>): Graph {
  const size = (d: number): number => {
    const s = symbolOf(d);
    if (!s) return d;
    const n = sizes[s.name];
    if (n === undefined) throw new GradcError(`specialize: no size given for symbol ${s.name}`);
    return s.k * n;
  };
  const done = new Map<Node, Node>();
  const roots = [...g.inputs, ...Object.values(g.outputs), ...Object.values(g.facts)];
  for (const n of toposort(roots)) {
    let m: Node;
    if (n.op === "dim") {
      const name = n.attrs.name as string;
      if (sizes[name] === undefined) throw new GradcError(`specialize: no size given for symbol ${name}`);
      m = constant(sizes[name], n.dtype);
    } else {
      // sizes in attributes: a reshape's or broadcast's shape, a slice's bounds ([N:2N] in concat's gradient), pad's shape
      const attrs = Object.fromEntries(
        Object.entries(n.attrs).map(([k, v]) => [
          k,
          typeof v === "number" ? size(v) : Array.isArray(v) && v.every((x) => typeof x === "number") ? v.map(size) : v,
        ]),
      );
      m = apply(
        n.op,
        n.inputs.map((x) => done.get(x)!),
        attrs,
      );
    }
    if (n.label && !m.label) m.named(n.label);
    done.set(n, m);
  }
  const pick = (r: Readonly<Record<string, Node>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, done.get(v)!]));
  return new Graph(
    g.inputs.map((x) => done.get(x)!),
    pick(g.outputs),
    pick(g.facts),
  );
}

/**
 * A numeric size where sizes enter (trace). A multiple of a reserved symbol's representative is
 * that symbol (the number symbolSize("N") returns stands for N: the zoo and the CLI pass shapes as
 * numbers); a multiple of a representative no symbol holds yet is refused, since it would turn
 * into whichever symbol reserves it later and print, export and specialise as that symbol.
 */
export function concreteSize(d: number, where: string): number {
  const rep = typeof d === "number" ? representativeOf(d) : undefined;
  if (rep !== undefined && !symbolOf(d))
    throw new GradcError(
      `${where}: size ${d} is a multiple of ${rep}, a size gradc reserves to stand for a symbolic size; trace it as a named size (["N", ...]) instead`,
    );
  return d;
}

/** Check a name and reserve its size (trace's ["N", 3]). */
export function symbolicSize(name: string, where: string): number {
  try {
    return symbolSize(name);
  } catch (e) {
    throw new GradcError(`${where}: ${(e as Error).message}`);
  }
}

/** 0: depends on an input (or iota), 1: on constants only, 2: on constants and symbolic sizes. */
const closure = new WeakMap<Node, 0 | 1 | 2>();

/**
 * A value computed from symbolic sizes and constants alone (recip(dim N)): autodiff recomputes it
 * in a backward instead of saving it as a residual, so the backward stays a function of N.
 */
export function sizeOnly(n: Node): boolean {
  if (!closure.has(n)) {
    for (const m of toposort([n], (m) => closure.has(m))) {
      if (m.op === "dim") closure.set(m, 2);
      else if (m.isConst) closure.set(m, 1);
      else if (m.inputs.length === 0) closure.set(m, 0);
      else {
        const k = m.inputs.map((x) => closure.get(x)!);
        closure.set(m, k.includes(0) ? 0 : k.includes(2) ? 2 : 1);
      }
    }
  }
  return closure.get(n) === 2;
}
