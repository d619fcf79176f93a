// Reverse-mode autodiff on graphs: "topological order, then walk it in reverse", producing a new
// graph (never a tape), so the backward can be printed, optimized, compiled and differentiated.

import * as b from "../../core/builder.js";
import { GradcError } from "../../core/errors.js";
import { Graph, substitute, toposort } from "../../core/graph.js";
import { inScope, Node, scopeOf } from "../../core/node.js";
import { sameShape, shapeStr } from "../../core/tensor.js";
import { sizeOnly } from "../../core/symbolic.js";
import { checkGraph, checkRecord } from "../../core/args.js";

export interface GradOptions {
  /** The output to differentiate (default: the only output). */
  of?: string;
  /** Inputs to differentiate with respect to (default: all). */
  wrt?: readonly string[];
  /** Also return the forward outputs (JAX's value_and_grad). */
  withValue?: boolean;
}

/** Sum a cotangent down to `shape`: the one place where broadcasting is undone. */
function unbroadcast(ct: Node, shape: readonly number[], where: Node): Node {
  if (sameShape(ct.shape, shape)) return ct;
  const lead = ct.rank - shape.length;
  if (lead < 0) throw new GradcError(`grad: the gradient rule of ${where.op} returned ${shapeStr(ct.shape)} for an input of shape ${shapeStr(shape)}`);
  const axes = ct.shape.flatMap((s, i) => (i < lead || (shape[i - lead] === 1 && s !== 1) ? [i] : []));
  return b.reshape(b.sum(ct, axes, true), shape);
}

/**
 * A vjp rule's result, checked where it enters: one entry per input, each a node of the input's
 * dtype whose shape is the input's (or broadcasts from it: un-broadcasting is the driver's job), or
 * an explicit null for "no cotangent". A rule that returns [] or transposed cotangents would
 * otherwise give a silent zero or a reshaped, wrong gradient.
 */
function checkCotangents(n: Node, ins: unknown): readonly (Node | null)[] {
  const who = () => `grad: the vjp rule of op ${n.op}${n.def.source ? ` (defined at ${n.def.source})` : ""}`;
  const at = () => `\n  at ${n.op} ${n} (inputs ${n.inputs.map(String).join(", ")})`;
  if (!Array.isArray(ins))
    throw new GradcError(`${who()} returned ${ins === null ? "null" : typeof ins}, not a list of cotangents (one per input, null for none)${at()}`);
  if (ins.length !== n.inputs.length) {
    throw new GradcError(
      `${who()} returned ${ins.length} cotangent(s) for ${n.inputs.length} input(s); give one per input (null for an input without a gradient)${at()}`,
    );
  }
  ins.forEach((c, k) => {
    const x = n.inputs[k];
    if (c === null) return;
    if (!(c instanceof Node)) {
      const got =
        c === undefined
          ? "undefined (a missing cotangent must be an explicit null)"
          : `${typeof c} ${String(c)} (build it with builder ops: g.mul(...), not numbers)`;
      throw new GradcError(`${who()} returned ${got} for input ${k} (${x})${at()}`);
    }
    const lead = c.rank - x.rank;
    const fits = lead >= 0 && x.shape.every((s, i) => s === c.shape[i + lead] || s === 1);
    if (!fits)
      throw new GradcError(`${who()} returned a cotangent of shape ${shapeStr(c.shape)} for input ${k} (${x}), which has shape ${shapeStr(x.shape)}${at()}`);
    if (c.dtype !== x.dtype) throw new GradcError(`${who()} returned a ${c.dtype} cotangent for input ${k} (${x}), which is ${x.dtype}${at()}`);
  });
  return ins as (Node | null)[];
}

/**
 * Cotangents of every node on a path from `wrt` to `root`, given the cotangent `seed` of root.
 * Returns the map node -> cotangent (only nodes that lead to `wrt`).
 */
export function backpropagate(root: Node, seed: Node, wrt: ReadonlySet<Node>): Map<Node, Node> {
  const order = toposort([root]);
  const needed = new Set<Node>();
  for (const n of order) if (wrt.has(n) || n.inputs.some((x) => needed.has(x))) needed.add(n);
  const parts = new Map<Node, Node[]>([[root, [seed]]]);
  const cts = new Map<Node, Node>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    const ps = parts.get(n);
    if (!ps || !needed.has(n)) continue;
    const ct = inScope(scopeOf(n), () => ps.reduce((acc, p) => b.add(acc, p)));
    cts.set(n, ct);
    if (n.inputs.length === 0) continue;
    const rule = n.def.vjp;
    if (!rule)
      throw new GradcError(
        `grad: op "${n.op}" is not differentiable (its record has no vjp rule)\n  at ${n.op} ${n} on the path to ${[...wrt].map(String).join(", ")}`,
      );
    // the gradient of a node is built in the node's name scope, so the viewer can fold it with it
    const ins = checkCotangents(
      n,
      inScope(scopeOf(n), () => rule(ct, n.inputs, n, n.attrs)),
    );
    n.inputs.forEach((x, k) => {
      const c = ins[k];
      if (!c || !needed.has(x)) return;
      const fixed = inScope(scopeOf(n), () => unbroadcast(c, x.shape, n));
      const list = parts.get(x);
      if (list) list.push(fixed);
      else parts.set(x, [fixed]);
    });
  }
  return cts;
}

/** Every name in wrt is an input of g, named once (a repeat would make two outputs of one name). */
export function checkWrt(who: string, g: Graph, wrt: readonly string[] | undefined): void {
  if (wrt !== undefined && !Array.isArray(wrt))
    throw new GradcError(`${who}: { wrt } must be a list of input names, got ${typeof wrt === "string" ? `"${wrt}" (write ["${wrt}"])` : typeof wrt}`);
  for (const [i, name] of (wrt ?? []).entries()) {
    if (!g.inputNames.includes(name)) throw new GradcError(`${who}: { wrt }: the graph has no input named "${name}": inputs are ${g.inputNames.join(", ")}`);
    if (wrt!.indexOf(name) !== i) throw new GradcError(`${who}: { wrt } names "${name}" twice: name each input once`);
  }
}

function resolve(g: Graph, opts: GradOptions, who = "grad"): { of: string; wrt: Node[] } {
  checkGraph(who, "the graph", g);
  checkRecord(who, "options", opts);
  if (opts.wrt !== undefined && !Array.isArray(opts.wrt))
    throw new GradcError(`${who}: { wrt } must be a list of input names, got ${JSON.stringify(opts.wrt)}`);
  const of = opts.of ?? (g.outputNames.length === 1 ? g.outputNames[0] : undefined);
  if (of === undefined) throw new GradcError(`${who}: the graph has outputs ${g.outputNames.join(", ")}: say which with { of }`);
  if (!g.outputNames.includes(of))
    throw new GradcError(`${who}: { of: "${of}" }: the graph has no output named "${of}": outputs are ${g.outputNames.join(", ")}`);
  checkWrt(who, g, opts.wrt);
  const wrt = (opts.wrt ?? g.inputNames).map((name) => g.input(name));
  return { of, wrt };
}

/**
 * The gradient graph. Its inputs are the forward inputs plus the cotangent `d<of>` (none when the
 * output is a scalar: its cotangent is 1, as in JAX's grad); its outputs are `d<input>` for each
 * input in `wrt`.
 *
 *   const bn = trace({ x: [N, D], gamma: [D], beta: [D] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out);
 *   const g = grad(bn, { of: "out" });          // inputs x, gamma, beta, dout; outputs dx, dgamma, dbeta
 */
export function grad(g: Graph, opts: GradOptions = {}): Graph {
  return derive(g, opts, false);
}

/** grad's body; `scalarCotangent` makes a scalar output's cotangent an input too (vjp's way). */
function derive(g: Graph, opts: GradOptions, scalarCotangent: boolean): Graph {
  const { of, wrt } = resolve(g, opts);
  const y = g.output(of);
  const ctName = `d${of}`;
  const seedInput = y.rank === 0 && !scalarCotangent ? null : b.input(ctName, y.shape, y.dtype);
  if (seedInput && g.inputNames.includes(ctName)) throw new GradcError(`grad: the cotangent input "${ctName}" would clash with an input of the same name`);
  const seed = seedInput ?? b.constant(1, y.dtype);
  const cts = backpropagate(y, seed, new Set(wrt));
  const outputs: Record<string, Node> = opts.withValue ? { ...g.outputs } : {};
  for (const x of wrt) {
    const name = `d${x.name}`;
    if (name in outputs) throw new GradcError(`grad: the gradient output "${name}" clashes with an output of the same name`);
    outputs[name] = cts.get(x) ?? b.broadcastTo(b.constant(0, x.dtype), x.shape);
  }
  return new Graph(seedInput ? [...g.inputs, seedInput] : g.inputs, outputs);
}

export interface Vjp {
  /** The forward graph: the original outputs plus the residuals the backward needs. */
  forward: Graph;
  /** Residuals and the cotangent in, gradients out. */
  backward: Graph;
  /** Names of the backward's inputs that are residuals (forward inputs or forward outputs). */
  residuals: string[];
  /** The forward's own outputs (the rest of its outputs are residuals). */
  outputs: string[];
}

/** Ops cheap enough to recompute in the backward rather than save: views and constants. */
const rematerialize = (n: Node): boolean => n.isConst || n.def.kind === "movement" || sizeOnly(n);

/**
 * The values outside `live` (the part that depends on a cotangent or tangent) that `live` reads,
 * seen through views and constants, which are recomputed rather than saved; `roots` outside `live`
 * (outputs that need no cotangent) are kept too. In `order`'s order: the residuals of a split.
 */
export function residualsOf(order: readonly Node[], live: ReadonlySet<Node>, roots: readonly Node[] = []): Node[] {
  const residuals: Node[] = [];
  const seen = new Set<Node>();
  const visit = (n: Node) => {
    const stack = [n];
    while (stack.length) {
      const m = stack.pop()!;
      if (live.has(m) || seen.has(m)) continue;
      seen.add(m);
      if (rematerialize(m)) stack.push(...m.inputs);
      else residuals.push(m);
    }
  };
  for (const n of order) if (live.has(n)) n.inputs.forEach(visit);
  for (const r of roots) if (!live.has(r)) visit(r);
  return residuals;
}

/**
 * Split the gradient into a forward that saves residuals (the notebook's `cache`) and a backward
 * that uses only those and the cotangent `d<of>`. Values that do not depend on the cotangent are
 * computed in the forward; views (broadcasts, reshapes) of residuals are recomputed in the
 * backward. As in JAX, a scalar output (a loss) takes a cotangent input too, so its backward is a
 * real graph rather than constants folded into the forward.
 *
 *   const loss = trace({ x: [8, 4], W: [4, 3], y: [8] }, ({ x, W, y }) => ops.softmaxCrossEntropy(x.matmul(W), y));
 *   const { forward, backward, residuals } = vjp(loss, { wrt: ["W"] });   // backward: residuals, dout -> dW
 */
export function vjp(g: Graph, opts: GradOptions = {}): Vjp {
  resolve(g, opts, "vjp"); // bad names are reported as vjp's
  const full = derive(g, opts, true);
  const ct = full.inputs.find((x) => !g.inputs.includes(x));
  const gradOuts = Object.values(full.outputs);
  const order = toposort(gradOuts);
  const live = new Set<Node>(ct ? [ct] : []); // depends on the cotangent
  for (const n of order) if (n.inputs.some((x) => live.has(x))) live.add(n);

  const residuals = residualsOf(order, live, gradOuts);
  const isResidual = new Set(residuals);
  // An output the backward reads is a residual under the output's own name.
  const outputNames = outputNamesOf(g);

  const names = residualNames(g, residuals, outputNames, new Set(g.inputNames.concat(Object.keys(g.outputs), ct ? [ct.name] : [])));
  const asInput = new Map(residuals.map((r) => [r, b.input(names.get(r)!, r.shape, r.dtype)]));
  const done = substitute(gradOuts, asInput);
  const outputs = Object.fromEntries(Object.entries(full.outputs).map(([k, v]) => [k, done.get(v)!]));
  const bwdInputs = [...asInput.values(), ...(ct ? [ct] : [])];
  // each residual's forward definition, so passes over the backward can reuse what it knows
  const facts = Object.fromEntries(residuals.filter((r) => !r.isInput).map((r) => [names.get(r)!, r]));
  // The forward returns its outputs anyway, so the backward may read them for free (attention's
  // backward can use O = P V): an output that is not a residual is a fact without an input, which
  // the optimizer turns into an input under the output's name only if it reads it.
  for (const [y, name] of outputNames) if (!isResidual.has(y) && !y.isConst) facts[name] = y;
  const backward = new Graph(bwdInputs, outputs, facts);

  const forwardOuts: Record<string, Node> = { ...g.outputs };
  for (const r of residuals) if (!r.isInput) forwardOuts[names.get(r)!] = r;
  const forward = new Graph(g.inputs, forwardOuts);
  return { forward, backward, residuals: residuals.map((r) => names.get(r)!), outputs: g.outputNames };
}

/**
 * Readable residual names: the composite's label (xhat, std), else the op and its place among the
 * forward's nodes of that op (`exp_2` is the second exp in `printGraph(forward)`); forward inputs
 * and outputs keep their own names. Counting per op keeps the names the same when a graph gains
 * nodes of other kinds (a symbolic batch size adds `dim` nodes). A clash takes a suffix (xhat_2).
 */
/** Each computed output node under its (first) output name: a residual that is an output keeps it. */
export function outputNamesOf(g: Graph): Map<Node, string> {
  const names = new Map<Node, string>();
  for (const [name, y] of Object.entries(g.outputs)) if (!y.isInput && !names.has(y)) names.set(y, name);
  return names;
}

export function residualNames(g: Graph, residuals: readonly Node[], outputNames: ReadonlyMap<Node, string>, used: Set<string>): Map<Node, string> {
  const computed = residuals.filter((r) => !r.isInput);
  // number the nodes of each op as the forward with these residuals as extra outputs prints them
  const outs: Record<string, Node> = { ...g.outputs };
  computed.forEach((r, k) => (outs[`\0${k}`] = r));
  const place = new Map<Node, number>();
  const seen = new Map<string, number>();
  for (const n of new Graph(g.inputs, outs).nodes()) {
    if (n.isInput || n.isConst) continue;
    const k = (seen.get(n.op) ?? 0) + 1;
    seen.set(n.op, k);
    place.set(n, k);
  }
  const names = new Map<Node, string>();
  for (const r of residuals) {
    if (r.isInput || outputNames.has(r)) {
      names.set(r, r.isInput ? r.name : outputNames.get(r)!);
      continue;
    }
    // its label; else what its name scope says it is (`query_matmul`, `softmax_div`); else `div_2`
    const scoped = scopeOf(r)
      .split("/")
      .pop()!
      .replace(/[^A-Za-z0-9_]+/g, "_")
      .replace(/^_+|_+$/g, "");
    const base = r.label ?? (/^[A-Za-z]/.test(scoped) ? `${scoped}_${r.op}` : `${r.op}_${place.get(r)}`);
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    names.set(r, name);
  }
  return names;
}
