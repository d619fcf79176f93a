// Products and matrices built from the two modes, with JAX's names and meanings:
//   linearize  the JVP split into a forward that saves residuals and a linear tangent map
//   hvp        forward-over-reverse: the JVP of the gradient, H v without forming H
//   jacfwd     the Jacobian a column at a time (a JVP per input element)
//   jacrev     the Jacobian a row at a time (a VJP per output element)
//   hessian    jacfwd of jacrev
// Every result is a Graph, so `optimize` and `compile` take it like any other. The Jacobians are
// built by pushing one-hot tangents (or cotangents) through the derived graph, one copy per
// element: meant for the small inputs where a full Jacobian is what one wants.

import * as b from "../../core/builder.js";
import { GradcError } from "../../core/errors.js";
import { Graph, substitute, toposort } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { shapeStr, type Shape } from "../../core/tensor.js";
import { jvpNamed, pushForward, tangentInputs, type JvpOptions } from "./forward.js";
import { checkWrt, grad, outputNamesOf, residualNames, residualsOf } from "./reverse.js";

export interface JacobianOptions {
  /** The output to differentiate (default: the only output). */
  of?: string;
  /** Inputs to differentiate with respect to (default: all). */
  wrt?: readonly string[];
}

/** Largest number of one-hot copies a Jacobian may unroll: beyond it, jvp / vjp / hvp are the tools. */
export const MAX_JACOBIAN_COPIES = 4096;

function pick(g: Graph, opts: JacobianOptions, who: string): { of: string; wrt: string[] } {
  if (!(g instanceof Graph)) throw new GradcError(`${who}: the first argument must be a Graph, got ${g === null ? "null" : typeof g}`);
  const of = opts.of ?? (g.outputNames.length === 1 ? g.outputNames[0] : undefined);
  if (of === undefined) throw new GradcError(`${who}: the graph has outputs ${g.outputNames.join(", ")}: say which with { of }`);
  if (!g.outputNames.includes(of))
    throw new GradcError(`${who}: { of: "${of}" }: the graph has no output named "${of}": outputs are ${g.outputNames.join(", ")}`);
  checkWrt(who, g, opts.wrt);
  return { of, wrt: [...(opts.wrt ?? g.inputNames)] };
}

/** 1 at flat position k of `shape`, 0 elsewhere, built from iotas (a constant the optimizer sees through). */
function oneHot(shape: Shape, k: number, dtype: Node["dtype"]): Node {
  if (shape.length === 0) return b.constant(1, dtype);
  let flat: Node | null = null;
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const term = b.mul(b.iota(shape, d, dtype), stride);
    flat = flat ? b.add(flat, term) : term;
    stride *= shape[d];
  }
  return b.equal(flat!, k);
}

/** outer(a, c)[i..., j...] = a[i...] * c[j...]: shape a.shape ++ c.shape. */
function outer(a: Node, c: Node): Node {
  const shape = [...a.shape, ...c.shape];
  const left = b.broadcastTo(b.reshape(a, [...a.shape, ...c.shape.map(() => 1)]), shape);
  const right = b.broadcastTo(b.reshape(c, [...a.shape.map(() => 1), ...c.shape]), shape);
  return b.mul(left, right);
}

function checkCopies(who: string, copies: number, what: string): void {
  if (copies > MAX_JACOBIAN_COPIES) {
    throw new GradcError(
      `${who}: ${what} has ${copies} elements, and a Jacobian here unrolls one copy of the derivative per element (at most ${MAX_JACOBIAN_COPIES}): use jvp, vjp or hvp for products with a vector instead`,
    );
  }
}

/** Σ_k outer(column or row k, one-hot k), with `copy(k)` giving the k-th column (or row). */
function assemble(count: number, copy: (k: number) => Node, hot: (k: number) => Node, columnsLast: boolean): Node {
  let acc: Node | null = null;
  for (let k = 0; k < count; k++) {
    const term = columnsLast ? outer(copy(k), hot(k)) : outer(hot(k), copy(k));
    acc = acc ? b.add(acc, term) : term;
  }
  return acc!;
}

/**
 * The Jacobian by forward mode: output `jac_<x>` of shape `of.shape ++ x.shape` per input in wrt.
 *
 *   const f = trace({ x: [3] }, ({ x }) => x.mul(x));
 *   evaluate(jacfwd(f), { x }).jac_x;           // diag(2x), [3,3]
 */
export function jacfwd(g: Graph, opts: JacobianOptions = {}): Graph {
  const { of, wrt } = pick(g, opts, "jacfwd");
  const y = g.output(of);
  const outputs: Record<string, Node> = {};
  for (const name of wrt) {
    const x = g.input(name);
    checkCopies("jacfwd", x.size, `input "${name}" ${shapeStr(x.shape)}`);
    const t = b.input(`${name}\u2202tangent`, x.shape, x.dtype);
    const ty = pushForward([y], new Map([[x, t]])).get(y);
    outputs[`jac_${name}`] = ty
      ? assemble(
          x.size,
          (k) => substitute([ty], new Map([[t, oneHot(x.shape, k, x.dtype)]])).get(ty)!,
          (k) => oneHot(x.shape, k, x.dtype),
          true,
        )
      : b.constant(0, y.dtype, [...y.shape, ...x.shape]);
  }
  return new Graph(g.inputs, outputs);
}

/**
 * The Jacobian by reverse mode: output `jac_<x>` of shape `of.shape ++ x.shape` per input in wrt
 * (for a scalar output, the gradient).
 */
export function jacrev(g: Graph, opts: JacobianOptions = {}): Graph {
  const { of, wrt } = pick(g, opts, "jacrev");
  const y = g.output(of);
  checkCopies("jacrev", y.size, `output "${of}" ${shapeStr(y.shape)}`);
  const dg = grad(g, { of, wrt });
  const ct = dg.inputs.find((x) => !g.inputs.includes(x)); // absent for a scalar output
  const outputs: Record<string, Node> = {};
  for (const name of wrt) {
    const row = dg.output(`d${name}`);
    outputs[`jac_${name}`] = !ct
      ? row
      : assemble(
          y.size,
          (k) => substitute([row], new Map([[ct, oneHot(y.shape, k, y.dtype)]])).get(row)!,
          (k) => oneHot(y.shape, k, y.dtype),
          false,
        );
  }
  return new Graph(g.inputs, outputs);
}

/**
 * The Hessian of a scalar output, jacfwd of jacrev as in JAX: `hess_<x>` of shape x.shape ++ x.shape
 * for one input; `hess_<x>_<y>` for each pair when wrt names several.
 */
export function hessian(g: Graph, opts: JacobianOptions = {}): Graph {
  const { of, wrt } = pick(g, opts, "hessian");
  const y = g.output(of);
  if (y.rank !== 0)
    throw new GradcError(`hessian: output "${of}" is ${shapeStr(y.shape)}; the Hessian is of a scalar output (use jacfwd(jacrev(...)) for a tensor of them)`);
  const first = jacrev(g, { of, wrt });
  const outputs: Record<string, Node> = {};
  const pairs = new Map<string, string>();
  for (const a of wrt) {
    const second = jacfwd(first, { of: `jac_${a}`, wrt });
    for (const c of wrt) {
      const name = wrt.length === 1 ? `hess_${a}` : `hess_${a}_${c}`;
      // inputs a, a_b, b_c, c: (a, b_c) and (a_b, c) are both hess_a_b_c
      const before = pairs.get(name);
      if (before !== undefined)
        throw new GradcError(
          `hessian: the blocks for inputs ${before} and ("${a}", "${c}") would both be named "${name}": take them in separate calls with { wrt }, or rename an input`,
        );
      pairs.set(name, `("${a}", "${c}")`);
      outputs[name] = second.output(`jac_${c}`);
    }
  }
  return new Graph(g.inputs, outputs);
}

/**
 * The Hessian-vector product, forward over reverse: inputs are the graph's inputs plus a direction
 * `<x>_dot` per input in wrt; outputs `hvp_<x>` = (H v) restricted to x. Costs about two gradient
 * evaluations, never forms H. For a non-scalar output the graph also takes its cotangent `d<of>`.
 */
export function hvp(g: Graph, opts: JacobianOptions = {}): Graph {
  const { of, wrt } = pick(g, opts, "hvp");
  const dg = grad(g, { of, wrt });
  const j = jvpNamed(dg, { wrt }, "hvp");
  const outputs: Record<string, Node> = {};
  // the tangent of gradient output d<x>, by the name jvp gave it (d<x>_dot2 where an input named dx took d<x>_dot)
  for (const name of wrt) outputs[`hvp_${name}`] = j.graph.output(j.tangentNames.get(`d${name}`)!);
  return new Graph(j.graph.inputs, outputs);
}

export interface Linearized {
  /** The primal inputs in; the primal outputs and the residuals the tangent map reads out. */
  forward: Graph;
  /** Residuals and tangents `<x>_dot` in; `<out>_dot` out. Linear in the tangents. */
  tangent: Graph;
  /** Names of the tangent graph's inputs that are residuals. */
  residuals: string[];
}

/**
 * JAX's linearize: evaluate the primal once and keep what the tangent map needs, so that many
 * tangents can be pushed through the linear part alone.
 */
export function linearize(g: Graph, opts: JvpOptions = {}): Linearized {
  const seeds = tangentInputs(g, opts, "linearize");
  const tangentIns = new Set(seeds.values());
  const tangent = pushForward(Object.values(g.outputs), seeds);
  const tOuts: Record<string, Node> = {};
  for (const [name, y] of Object.entries(g.outputs)) tOuts[`${name}_dot`] = tangent.get(y) ?? b.constant(0, y.dtype, y.shape);

  const order = toposort(Object.values(tOuts));
  const live = new Set<Node>(tangentIns);
  for (const n of order) if (n.inputs.some((x) => live.has(x))) live.add(n);
  const residuals = residualsOf(order, live);
  // named as vjp names them: an output by its own name, else the composite's label or <op>_<k>
  const names = residualNames(g, residuals, outputNamesOf(g), new Set([...g.inputNames, ...g.outputNames, ...[...tangentIns].map((t) => t.name)]));
  const asInput = new Map(residuals.map((r) => [r, r.isInput ? r : b.input(names.get(r)!, r.shape, r.dtype)]));
  const done = substitute(Object.values(tOuts), asInput);
  const outputs = Object.fromEntries(Object.entries(tOuts).map(([k, v]) => [k, done.get(v)!]));
  const facts = Object.fromEntries(residuals.filter((r) => !r.isInput).map((r) => [names.get(r)!, r]));
  const tangentGraph = new Graph([...asInput.values(), ...tangentIns], outputs, facts);
  const forwardOuts: Record<string, Node> = { ...g.outputs };
  for (const r of residuals) if (!r.isInput) forwardOuts[names.get(r)!] = r;
  return { forward: new Graph(g.inputs, forwardOuts), tangent: tangentGraph, residuals: residuals.map((r) => names.get(r)!) };
}
