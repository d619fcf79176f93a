// Forward mode: push a tangent through the graph in topological order. Each op's tangent rule is
// its own `jvp` field when the record has one; otherwise it is derived from the op's VJP rule by
// transposition. A VJP rule is linear in its cotangent g: it computes c_i = J_i^T g. The VJP of
// that linear map, taken with respect to g at cotangent t_i, is (J_i^T)^T t_i = J_i t_i, which is
// the tangent the op needs. So every op with a VJP rule, user ops included, has forward-mode
// derivatives without a new field, and the result is a graph like any other: printed, optimized,
// compiled, differentiated again.

import * as b from "../../core/builder.js";
import { GradcError } from "../../core/errors.js";
import { Graph, substitute, toposort } from "../../core/graph.js";
import { describe, ref, type Node } from "../../core/node.js";
import { sameShape, shapeStr } from "../../core/tensor.js";
import { backpropagate, checkWrt } from "./reverse.js";

/** The name of the stand-in cotangent while a VJP rule is transposed; it never escapes. */
const PLACEHOLDER = "\u2202jvp-cotangent";

export interface JvpOptions {
  /** Inputs to push tangents from (default: every floating-point input). */
  wrt?: readonly string[];
  /**
   * The tangent input of each differentiated input: a name for it (default `<x>_dot`), or an input
   * node of the primal's shape and dtype (checked).
   */
  tangents?: Readonly<Record<string, string | Node>>;
}

/** Sum a cotangent a rule returned in a broadcast shape down to its input's shape (as reverse mode does). */
function toShape(c: Node, shape: readonly number[], where: Node): Node {
  if (sameShape(c.shape, shape)) return c;
  const lead = c.rank - shape.length;
  if (lead < 0)
    throw new GradcError(
      `jvp: the gradient rule of ${where.op} returned ${shapeStr(c.shape)} for an input of shape ${shapeStr(shape)}\n  at ${ref(where)} = ${describe(where.op, where.inputs, where.attrs)}`,
    );
  const axes = c.shape.flatMap((s, i) => (i < lead || (shape[i - lead] === 1 && s !== 1) ? [i] : []));
  return b.reshape(b.sum(c, axes, true), shape);
}

/**
 * The tangent of `n` given the tangents of its inputs (null: zero). Null when no tangent reaches it.
 * Throws, naming the op and node, when a tangent reaches an op without derivatives.
 */
export function tangentOf(n: Node, tangents: readonly (Node | null)[]): Node | null {
  if (tangents.every((t) => t === null)) return null;
  const def = n.def;
  if (def.jvp) return def.jvp(tangents, n.inputs, n, n.attrs);
  if (!def.vjp) {
    throw new GradcError(
      `jvp: op "${n.op}" is not differentiable (its record has no vjp rule), and a tangent reaches it\n  at ${ref(n)} = ${describe(n.op, n.inputs, n.attrs)} -> ${n.dtype}${shapeStr(n.shape)}`,
    );
  }
  const g = b.input(PLACEHOLDER, n.shape, n.dtype);
  const cts = def.vjp(g, n.inputs, n, n.attrs);
  let out: Node | null = null;
  n.inputs.forEach((x, i) => {
    const t = tangents[i];
    const c = cts[i];
    if (!t || !c) return;
    // J_i t_i: the VJP of g -> c_i at cotangent t_i
    const part = backpropagate(toShape(c, x.shape, n), t, new Set([g])).get(g);
    if (part) out = out ? b.add(out, part) : part;
  });
  if (!out) return null;
  // linear in g, so its derivative does not depend on g; a rule may still mention g (a select on
  // it, say): any value gives the same result, and zero keeps the stand-in from escaping
  const result: Node = out;
  if (!toposort([result]).includes(g)) return result;
  return substitute([result], new Map([[g, b.constant(0, g.dtype, g.shape)]])).get(result)!;
}

/** Push tangents from `seeds` (node -> tangent) through everything `roots` depend on. */
export function pushForward(roots: readonly Node[], seeds: ReadonlyMap<Node, Node>): Map<Node, Node> {
  const tangent = new Map(seeds);
  for (const n of toposort(roots)) {
    if (tangent.has(n) || n.inputs.length === 0) continue;
    const t = tangentOf(
      n,
      n.inputs.map((x) => tangent.get(x) ?? null),
    );
    if (t) {
      if (!sameShape(t.shape, n.shape) || t.dtype !== n.dtype) {
        throw new GradcError(
          `jvp: the tangent rule of ${n.op} returned ${t.dtype}${shapeStr(t.shape)} for a ${n.dtype}${shapeStr(n.shape)} value\n  at ${ref(n)} = ${describe(n.op, n.inputs, n.attrs)}`,
        );
      }
      tangent.set(n, t);
    }
  }
  return tangent;
}

const isFloat = (x: Node): boolean => x.dtype === "f64" || x.dtype === "f32";

/** Check `wrt` names and build the tangent input of each. */
export function tangentInputs(g: Graph, opts: JvpOptions, who: string): Map<Node, Node> {
  if (!(g instanceof Graph)) throw new GradcError(`${who}: the first argument must be a Graph, got ${g === null ? "null" : typeof g}`);
  if (g.inputNames.includes(PLACEHOLDER)) throw new GradcError(`${who}: an input is named "${PLACEHOLDER}", a name reserved for forward mode`);
  checkWrt(who, g, opts.wrt);
  for (const name of Object.keys(opts.tangents ?? {})) {
    if (!g.inputNames.includes(name))
      throw new GradcError(`${who}: { tangents }: the graph has no input named "${name}": inputs are ${g.inputNames.join(", ")}`);
  }
  const wrt = (opts.wrt ?? g.inputs.filter(isFloat).map((x) => x.name)).map((name) => g.input(name));
  const taken = new Set([...g.inputNames, ...g.outputNames]);
  const seeds = new Map<Node, Node>();
  for (const x of wrt) {
    if (!isFloat(x)) throw new GradcError(`${who}: { wrt }: input "${x.name}" is ${x.dtype}${shapeStr(x.shape)}: only floating-point inputs have tangents`);
    const given = opts.tangents?.[x.name];
    let t: Node;
    if (given === undefined || typeof given === "string") {
      // `<x>_dot`, or `<x>_dot2`, ... when the graph has one (a jvp of a jvp: its inputs x and x_dot)
      const name = given ?? freeName(`${x.name}_dot`, taken);
      if (taken.has(name)) throw new GradcError(`${who}: the tangent input "${name}" would clash with an input or output of the same name`);
      t = b.input(name, x.shape, x.dtype);
    } else {
      if (!given.isInput) throw new GradcError(`${who}: { tangents: { ${x.name} } } must be an input node or a name, got ${given}`);
      if (!sameShape(given.shape, x.shape) || given.dtype !== x.dtype) {
        throw new GradcError(
          `${who}: the tangent of "${x.name}" is ${given.dtype}${shapeStr(given.shape)}, but "${x.name}" is ${x.dtype}${shapeStr(x.shape)}: a tangent has its primal's shape and dtype`,
        );
      }
      if (taken.has(given.name)) throw new GradcError(`${who}: the tangent input "${given.name}" would clash with an input or output of the same name`);
      t = given;
    }
    taken.add(t.name);
    seeds.set(x, t);
  }
  return seeds;
}

/**
 * The Jacobian-vector product graph (JAX's jvp): the primal inputs plus a tangent `<x>_dot` per
 * differentiated input in; the primal outputs plus their tangents `<out>_dot` out (`<out>_dot2`, ...
 * where that name is taken, as in a jvp of a jvp).
 *
 *   const f = trace({ x: [3] }, ({ x }) => x.mul(x).sum());
 *   const fj = jvp(f);                          // inputs x, x_dot; outputs out, out_dot
 *   evaluate(fj, { x, x_dot }).out_dot;         // 2 * sum(x * x_dot)
 */
export function jvp(g: Graph, opts: JvpOptions = {}): Graph {
  return jvpNamed(g, opts, "jvp").graph;
}

/** `base`, or `base2`, `base3`, ... : the first that is not taken. */
function freeName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}${i}`;
  return name;
}

/** jvp, and the name it gave each output's tangent (what hvp reads back). */
export function jvpNamed(g: Graph, opts: JvpOptions, who: string): { graph: Graph; tangentNames: Map<string, string> } {
  const seeds = tangentInputs(g, opts, who);
  const outs = Object.values(g.outputs);
  const tangent = pushForward(outs, seeds);
  const outputs: Record<string, Node> = { ...g.outputs };
  const taken = new Set([...g.inputNames, ...g.outputNames, ...[...seeds.values()].map((t) => t.name)]);
  const tangentNames = new Map<string, string>();
  for (const [name, y] of Object.entries(g.outputs)) {
    // `<out>_dot`, or `<out>_dot2`, ... when a jvp of a jvp already has one
    const tname = freeName(`${name}_dot`, taken);
    taken.add(tname);
    tangentNames.set(name, tname);
    outputs[tname] = tangent.get(y) ?? b.constant(0, y.dtype, y.shape);
  }
  return { graph: new Graph([...g.inputs, ...seeds.values()], outputs, g.facts as Record<string, Node>), tangentNames };
}
