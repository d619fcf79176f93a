// checkOp: the property checks gradc runs on its own registry, for any op (a user's included), in
// one call. For all valid random inputs (the op's `sample`, or uniform values for elementwise ops):
//   - the kernel returns what the shape rule says, finite where the inputs are;
//   - elementwise: the codegen expression computes the scalar function;
//   - compiled equals interpreted (the op, its gradient graph, and the optimized gradient graph);
//   - the gradient agrees with central differences;
//   - forward mode: the JVP agrees with central differences and with the VJP (dot-product test);
//   - the second derivative (grad of grad) agrees with central differences of the gradient.
// Cases are drawn by fast-check from a seed; a failure is a GradcError with the case and the seed.

import fc from "fast-check";
import { GradcError } from "../../core/errors.js";
import { Graph } from "../../core/graph.js";
import { apply, type Node } from "../../core/node.js";
import { input } from "../../core/builder.js";
import { evaluate } from "../../core/evaluate.js";
import { lookup, type OpDef, type OpSample } from "../../core/registry.js";
import { full, sameShape, shapeStr, Tensor } from "../../core/tensor.js";
import { grad } from "../autodiff/reverse.js";
import { jvp } from "../autodiff/forward.js";
import { optimize } from "../optimize/optimize.js";
import { compile } from "../codegen/compile.js";
import { roleOf } from "../codegen/layout.js";
import { evalNumericalGradientArray, randomTensor, relError, seededRandom } from "./numeric.js";
import { randShape } from "../../ops/samples.js";

export interface CheckOpOptions {
  /** Random cases (default 20). */
  runs?: number;
  /** fast-check seed, to replay a failure (printed in every report). */
  seed?: number;
  /** fast-check path of a failing case, to replay just it. */
  path?: string;
  /** Valid random inputs (default: the op's `sample`; elementwise ops: uniform values in `domain`). */
  sample?: (rand: () => number) => OpSample;
  /** Elementwise ops without a sampler: values are drawn from [lo, hi] (default [-2, 2]). */
  domain?: [number, number];
  /** Tolerated relative error of derivatives against finite differences (default: the sample's, else 1e-6). */
  tol?: number;
  /** Skip the second-order check (it is skipped anyway, and said so, when the gradient is not differentiable). */
  secondOrder?: boolean;
}

export interface CheckResult {
  /** kernel, expr, compiled, gradient, second-order */
  check: string;
  /** The worst error seen over the cases (0 for exact checks), or null when skipped. */
  worst: number | null;
  /** Why it was skipped. */
  skipped?: string;
}

export interface CheckOpReport {
  op: string;
  runs: number;
  seed: number;
  /** Elementwise with a codegen template: it fuses into compiled loops (else it runs its kernel). */
  fuses: boolean;
  differentiable: boolean;
  checks: CheckResult[];
}

type Opish = OpDef | string | { readonly def: OpDef };

/** The op graph on fresh inputs in0, in1, ... */
function oneOp(def: OpDef, s: OpSample): { g: Graph; feed: Record<string, Tensor>; names: string[] } {
  const names = s.inputs.map((_, k) => `in${k}`);
  const nodes: Node[] = s.inputs.map((t, k) => input(names[k], t.shape, t.dtype));
  const feed = Object.fromEntries(names.map((n, k) => [n, s.inputs[k]]));
  return { g: new Graph(nodes, { out: apply(def.name, nodes, s.attrs) }), feed, names };
}

const caseText = (def: OpDef, s: OpSample) =>
  `${def.name}(${s.inputs.map((t) => `${t.dtype}${shapeStr(t.shape)}`).join(", ")})${Object.keys(s.attrs).length ? " " + JSON.stringify(s.attrs) : ""}`;

/** Largest difference relative to the largest magnitude (compiled vs interpreted: summation order may differ). */
function normwise(a: Tensor, b: Tensor): number {
  let diff = 0,
    scale = 1e-300;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i],
      y = b.data[i];
    if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
    if (Number.isNaN(x) || x === y) continue;
    diff = Math.max(diff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(x), Math.abs(y));
  }
  return diff === 0 ? 0 : diff / scale;
}

/** One drawn case of checkOp: the op's graph on the sample, and where to note each check's error. */
interface Case {
  def: OpDef;
  s: OpSample;
  rand: () => number;
  /** The case as text: "softplus(f64[2,3])". */
  at: string;
  g: Graph;
  feed: Record<string, Tensor>;
  names: string[];
  node: Node;
  out: Tensor;
  opts: CheckOpOptions;
  note: (check: string, e: number, tol: number, what: () => string) => void;
  skip: (check: string, why: string) => void;
}

/** The derived gradient of a case, evaluated at its inputs and a random cotangent. */
interface Gradient {
  dg: Graph;
  dfeed: Record<string, Tensor>;
  analytic: Record<string, Tensor>;
  /** The cotangent (1 for a scalar output). */
  df: Tensor;
  /** The inputs checked against differences (float64 ones unless the sample says). */
  wrt: readonly number[];
  tol: number;
  h: number;
}

/**
 * Run gradc's op properties on `op` (a defineOp builder, an OpDef or a registered name). Returns a
 * report; throws a GradcError naming the check, the case and the seed when one fails.
 *
 *   checkOp(softplus)   // { op: "softplus", fuses: true, checks: [{ check: "gradient", worst: 3e-11 }, ...] }
 */
export function checkOp(op: Opish, opts: CheckOpOptions = {}): CheckOpReport {
  const def = typeof op === "string" ? lookup(op) : "def" in op ? op.def : op;
  const who = `checkOp(${def.name})`;
  const sampler = opts.sample ?? def.sample?.bind(def) ?? defaultSampler(def, opts.domain ?? [-2, 2]);
  if (!sampler) throw new GradcError(`${who}: no way to draw inputs: give the op a sample(rand) or pass { sample }`);
  const differentiable = typeof def.vjp === "function";
  const worst: Record<string, number> = {};
  const skipped: Record<string, string> = {};
  const note = (check: string, e: number, tol: number, what: () => string) => {
    if (!(e <= tol)) throw new CaseFailure(`${check}: ${what()} (error ${e}, tolerance ${tol})`);
    worst[check] = Math.max(worst[check] ?? 0, e);
  };
  const skip = (check: string, why: string) => {
    skipped[check] = why;
  };

  const property = (seed: number) => {
    const rand = seededRandom(seed);
    const s = sampler(rand);
    const { g, feed, names } = oneOp(def, s);
    const c: Case = { def, s, rand, at: caseText(def, s), g, feed, names, node: g.output("out"), out: evaluate(g, feed).out, opts, note, skip };
    checkForward(c);
    if (!differentiable) return;
    const grad = checkGradient(c);
    checkForwardMode(c, grad);
    checkGradientGraphs(c, grad);
    if (opts.secondOrder === false) skip("second-order", "turned off");
    else checkSecondOrder(c, grad);
  };

  const runs = opts.runs ?? 20;
  const details = fc.check(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), property), {
    numRuns: runs,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.path !== undefined ? { path: opts.path } : {}),
  });
  if (details.failed) {
    const err = details.errorInstance;
    const msg = err instanceof CaseFailure ? err.message : `${err instanceof Error ? err.message : String(err)}`;
    throw new GradcError(
      `${who}: ${msg}\n  case seed ${details.counterexample?.[0]}; replay with checkOp(op, { seed: ${details.seed}, path: "${details.counterexamplePath}" })`,
    );
  }
  const probeNode = oneOp(def, sampler(seededRandom(1))).g.output("out");
  return { op: def.name, runs, seed: details.seed, fuses: roleOf(probeNode) === "map", differentiable, checks: checkList(worst, skipped, differentiable) };
}

/** The kernel against the shape rule, the expr template against the scalar function, compiled against interpreted. */
function checkForward({ def, s, at, g, feed, node, out, note }: Case): void {
  note(
    "kernel",
    sameShape(out.shape, node.shape) && out.dtype === node.dtype ? 0 : Infinity,
    0,
    () => `${at}: kernel gave ${out.dtype}${shapeStr(out.shape)}, shape rule ${node.dtype}${shapeStr(node.shape)}`,
  );
  const finiteIn = s.inputs.every((t) => t.data.every(Number.isFinite));
  note("kernel", !finiteIn || out.data.every(Number.isFinite) ? 0 : Infinity, 0, () => `${at}: non-finite output ${out} for finite inputs`);
  if (def.kind === "elementwise" && def.expr && def.scalar) {
    const args = s.inputs.map((_, k) => `a${k}`);
    const fn = new Function(...args, `return (${def.expr(args, s.attrs)});`) as (...xs: number[]) => number;
    for (let i = 0; i < out.size; i++) {
      const xs = s.inputs.map((t) => t.data[i]);
      const want = def.scalar(...xs),
        got = fn(...xs);
      note("expr", relError([want], [got]), 1e-12, () => `${at}: expr gives ${got} at (${xs.join(", ")}), scalar ${want}`);
    }
  }
  const cout = compile(g).run(feed).out;
  note("compiled", normwise(out, cout), 1e-12, () => `${at}: compiled ${cout} vs interpreted ${out}`);
}

/** The derived gradient against central differences, input by input. */
function checkGradient({ s, rand, at, g, feed, names, node, opts, note }: Case): Gradient {
  const dg = grad(g, { of: "out" });
  const dout = randomTensor(rand, node.shape, -2, 2, node.dtype);
  const dfeed = node.rank === 0 ? feed : { ...feed, dout };
  const analytic = evaluate(dg, dfeed);
  const df = node.rank === 0 ? full([], 1, node.dtype) : dout;
  const wrt = s.wrt ?? s.inputs.flatMap((t, k) => (t.dtype === "f64" || s.h ? [k] : []));
  const tol = opts.tol ?? s.tol ?? 1e-6;
  const h = s.h ?? 1e-5;
  names.forEach((name, k) => {
    const got = analytic[`d${name}`];
    if (!wrt.includes(k)) return;
    const numeric = evalNumericalGradientArray((x) => evaluate(g, { ...feed, [name]: x }).out, s.inputs[k], df, h);
    note("gradient", relError(got, numeric), tol, () => `${at}: d${name} derived ${got}, numerical ${numeric}`);
  });
  return { dg, dfeed, analytic, df, wrt, tol, h };
}

/**
 * Forward mode: the JVP along a random direction against central differences, and the
 * dot-product test <u, J v> = <J^T u, v> tying it to the VJP (u = df, v the direction).
 */
function checkForwardMode({ rand, at, g, feed, names, node, note }: Case, { analytic, df, wrt, tol, h }: Gradient): void {
  const wrtNames = wrt.map((k) => names[k]);
  if (!wrtNames.length) return;
  const dirs = Object.fromEntries(wrtNames.map((n) => [n, direction(rand, feed[n])]));
  const jv = evaluate(jvp(g, { wrt: wrtNames }), { ...feed, ...Object.fromEntries(wrtNames.map((n) => [`${n}_dot`, dirs[n]])) }).out_dot;
  const shifted = (sign: number) => evaluate(g, { ...feed, ...Object.fromEntries(wrtNames.map((n) => [n, axpy(sign * h, dirs[n], feed[n])])) }).out;
  const plus = shifted(1),
    minus = shifted(-1);
  const numeric = new Tensor(
    plus.data.map((v, i) => (v - minus.data[i]) / (2 * h)),
    plus.shape,
  );
  note("jvp", relError(jv, numeric), tol, () => `${at}: JVP along a random direction derived ${jv}, numerical ${numeric}`);
  const left = dot(df, jv);
  const right = wrtNames.reduce((acc, n) => acc + dot(analytic[`d${n}`], dirs[n]), 0);
  const scale = Math.max(Math.abs(left), Math.abs(right), 1e-300);
  const exact = node.dtype === "f64" ? 1e-10 : 1e-4;
  note("dot-product", Math.abs(left - right) / scale, exact, () => `${at}: <dout, jvp(v)> = ${left} but <vjp(dout), v> = ${right}`);
}

/** The gradient graph compiled and optimized computes what the interpreter does. */
function checkGradientGraphs({ at, note }: Case, { dg, dfeed, analytic }: Gradient): void {
  const cgrad = compile(dg).run(dfeed);
  const ograd = evaluate(optimize(dg), dfeed);
  for (const k of Object.keys(analytic)) {
    note("compiled", normwise(analytic[k], cgrad[k]), 1e-12, () => `${at}: compiled gradient ${k} ${cgrad[k]} vs interpreted ${analytic[k]}`);
    note("optimized", normwise(analytic[k], ograd[k]), 1e-10, () => `${at}: optimized gradient ${k} ${ograd[k]} vs derived ${analytic[k]}`);
  }
}

/** Second order: grad of (d in_k . v) against central differences of the derived gradient. */
function checkSecondOrder({ s, rand, at, names, note, skip }: Case, { dg, dfeed, analytic, wrt, tol, h }: Gradient): void {
  for (const k of wrt) {
    const dname = `d${names[k]}`;
    let g2: Graph;
    try {
      g2 = grad(dg, { of: dname, wrt: names });
    } catch (e) {
      if (!(e instanceof GradcError)) throw e;
      skip("second-order", `the gradient is not differentiable: ${e.message.split("\n")[0]}`);
      return;
    }
    const shape = analytic[dname].shape;
    const v = randomTensor(rand, shape, -2, 2, s.inputs[k].dtype);
    const second = evaluate(g2, shape.length === 0 ? dfeed : { ...dfeed, [`d${dname}`]: v });
    const dv = shape.length === 0 ? full([], 1, s.inputs[k].dtype) : v;
    for (const j of wrt) {
      const numeric = evalNumericalGradientArray((x) => evaluate(dg, { ...dfeed, [names[j]]: x })[dname], s.inputs[j], dv, h);
      note(
        "second-order",
        relError(second[`d${names[j]}`], numeric),
        Math.max(tol, 1e-6),
        () => `${at}: d(${dname}·v)/d${names[j]} derived ${second[`d${names[j]}`]}, numerical ${numeric}`,
      );
    }
  }
}

/** The checks in a fixed order: each one's worst error, or why it was skipped. */
function checkList(worst: Record<string, number>, skipped: Record<string, string>, differentiable: boolean): CheckResult[] {
  const order = ["kernel", "expr", "compiled", "gradient", "jvp", "dot-product", "optimized", "second-order"];
  return order.flatMap((check): CheckResult[] => {
    if (check in worst && !(check in skipped)) return [{ check, worst: worst[check] }];
    if (check in skipped) return [{ check, worst: null, skipped: skipped[check] }];
    if (!differentiable && ["gradient", "jvp", "dot-product", "optimized", "second-order"].includes(check))
      return [{ check, worst: null, skipped: "not differentiable" }];
    return [];
  });
}

class CaseFailure extends Error {}

/**
 * A random direction with components ±[0.5, 1]: no component near zero, so the finite difference
 * of a float32 value along it is not swamped by rounding (a direction of 1e-3 would be).
 */
export function direction(rand: () => number, like: Tensor): Tensor {
  const d = randomTensor(rand, like.shape, 0.5, 1, like.dtype);
  for (let i = 0; i < d.data.length; i++) if (rand() < 0.5) d.data[i] = -d.data[i];
  return d;
}

/** a * x + y, elementwise, in y's dtype. */
export function axpy(a: number, x: Tensor, y: Tensor): Tensor {
  return new Tensor(
    y.data.map((v, i) => v + a * x.data[i]),
    y.shape,
  );
}

export function dot(a: Tensor, c: Tensor): number {
  let acc = 0;
  for (let i = 0; i < a.data.length; i++) acc += a.data[i] * c.data[i];
  return acc;
}

/** Elementwise ops: random shapes, operands alike, values uniform in the domain. */
function defaultSampler(def: OpDef, [lo, hi]: [number, number]): ((rand: () => number) => OpSample) | undefined {
  if (def.kind !== "elementwise" || def.arity < 1) return undefined;
  return (rand) => {
    const shape = randShape(rand, 0, 3, 4);
    return { inputs: Array.from({ length: def.arity }, () => randomTensor(rand, shape, lo, hi)), attrs: {} };
  };
}
