// defineOp: a new primitive from user code, as one declarative record, registered like the
// builtins. The record is checked when it is defined, not when it is first used: a malformed
// record, a taken name or a shape rule that throws on a probe is a GradcError naming the op and
// the field. The op's name is data: it never reaches generated code (codegen prints only an
// elementwise op's `expr` template, called with generated operand names).

import { GradcError } from "../core/errors.js";
import { apply, Node, type Operand } from "../core/node.js";
import {
  attrsProblem,
  hasOp,
  register,
  schemaProblem,
  unregister,
  type AttrSchema,
  type Attrs,
  type Aval,
  type Gemm,
  type Kind,
  type OpDef,
  type OpSample,
} from "../core/registry.js";
import { broadcastAll } from "../core/builder.js";
import { sameShape, shapeStr, Tensor, type Shape } from "../core/tensor.js";
import { elementwise } from "./elementwise.js";

type Vjp = NonNullable<OpDef["vjp"]>;

/** What a user writes for a new op. Elementwise ops need only `scalar` (+ `expr` to fuse). */
export interface OpSpec {
  /** An identifier: letters, digits and _, starting with a letter (softplus, gelu_tanh). */
  name: string;
  /** "elementwise" (the default when `scalar` is given) or "other" (an opaque kernel). */
  kind?: "elementwise" | "other";
  /** Number of inputs. */
  arity: number;
  /** Elementwise: the scalar function. Kernel, shape rule and constant folding derive from it. */
  scalar?: (...xs: number[]) => number;
  /** Elementwise: a JavaScript expression over operand expressions, so that the op fuses. */
  expr?: (args: readonly string[], attrs: Attrs) => string;
  /** Output shape and dtype from the input avals (default for elementwise: operands alike). */
  shape?: (inputs: readonly Aval[], attrs: Attrs) => Aval;
  /** Reference kernel (default for elementwise: the scalar function mapped over the data). */
  impl?: (inputs: readonly Tensor[], attrs: Attrs, out: Aval) => Tensor;
  /**
   * Kind "other": the kernel compiled code runs instead of calling impl, planned once per shape
   * (as conv's): (inputs, attrs, out, gemm) => (inputArrays, outArray) => void, writing every
   * element of outArray. Checked against impl on the probe when the op is defined.
   */
  kernel?: OpDef["kernel"];
  /** Gradient rule written with builder ops; "none" declares the op not differentiable. */
  vjp?: Vjp | "none";
  /** Optional tangent rule (tangents, inputs, out, attrs) => tangent; forward mode derives it from vjp when absent. */
  jvp?: NonNullable<OpDef["jvp"]>;
  /** false declares the op not differentiable (same as vjp: "none"). */
  differentiable?: boolean;
  tags?: readonly string[];
  /** Valid random inputs, for checkOp and gradc's registry-walking tests. */
  sample?: (rand: () => number) => OpSample;
  /**
   * For an elementwise op: how to compute it in SIMD lanes, per lane type it is exact in, written
   * with the emitter's ops: { f64: (e, [x]) => e.max(x, e.constant(0)) }. Checked against scalar on
   * special values before first use; without one, its stages stay in JavaScript.
   */
  simd?: OpDef["simd"];
  /** How to write the op in an ONNX export: (e, inputs, attrs, out) => e.node("Softplus", inputs). */
  onnx?: OpDef["onnx"];
  /**
   * Kind "other": the attributes the op takes and their types, e.g. { axis: "int", scale: "number?" }
   * (int, number, string, boolean, ints; "?" optional). Default {}: no attributes. Elementwise ops take none.
   */
  attrs?: AttrSchema;
  /** Input shapes the shape rule is probed with at definition time (default: [2,3] each). */
  probe?: { shapes: Shape[]; attrs?: Attrs };
}

/** The builder a definition returns: `softplus(x)` records a node; `.def` is the registered record. */
export interface DefinedOp {
  (...args: (Operand | Attrs)[]): Node;
  readonly def: OpDef;
  readonly opName: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const FIELDS = new Set([
  "name",
  "kind",
  "arity",
  "scalar",
  "expr",
  "shape",
  "impl",
  "vjp",
  "jvp",
  "differentiable",
  "tags",
  "sample",
  "probe",
  "onnx",
  "simd",
  "attrs",
  "kernel",
]);
const userOps = new Set<string>();

/**
 * Define and register a new primitive. Returns its builder.
 *
 *   const softplus = defineOp({
 *     name: "softplus", arity: 1,
 *     scalar: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
 *     expr: ([x]) => `(Math.max(${x}, 0) + Math.log1p(Math.exp(-Math.abs(${x}))))`,
 *     vjp: (g, [x]) => [g.mul(x.mul(0.5).tanh().add(1).mul(0.5))],   // sigmoid(x)
 *   });
 *   trace({ x: [4] }, ({ x }) => softplus(x).sum())
 */
export function defineOp(spec: OpSpec): DefinedOp {
  const def = validate(spec);
  register(def);
  userOps.add(def.name);
  return builderFor(def);
}

/**
 * Remove an op defined with defineOp (builtins cannot be removed), e.g. to define it again in a
 * notebook. Nodes are hash-consed and compiled executables cached by node: rebuild graphs of a
 * redefined op in a fresh process if its expr changed.
 */
export function removeOp(name: string): boolean {
  if (!userOps.has(name)) {
    if (hasOp(name)) throw new GradcError(`removeOp: "${name}" is a builtin op, not one defined with defineOp`);
    return false;
  }
  userOps.delete(name);
  return unregister(name);
}

function builderFor(def: OpDef): DefinedOp {
  const build = (...args: (Operand | Attrs)[]): Node => {
    const last = args[args.length - 1];
    const hasAttrs = args.length > def.arity && typeof last === "object" && last !== null && !(last instanceof Node);
    const attrs = (hasAttrs ? last : {}) as Attrs;
    const operands = (hasAttrs ? args.slice(0, -1) : args) as Operand[];
    if (def.kind === "elementwise") {
      if (operands.length !== def.arity) throw new GradcError(`${def.name}: expects ${def.arity} operand(s), got ${operands.length}`);
      return apply(def.name, broadcastAll(def.name, operands), attrs);
    }
    const nodes = operands.map((x, k) => {
      if (!(x instanceof Node)) throw new GradcError(`${def.name}: operand ${k} is not a graph node (got ${typeof x}); only elementwise ops take numbers`);
      return x;
    });
    return apply(def.name, nodes, attrs);
  };
  Object.defineProperty(build, "def", { value: def });
  Object.defineProperty(build, "opName", { value: def.name });
  return build as DefinedOp;
}

function validate(spec: OpSpec): OpDef {
  if (typeof spec !== "object" || spec === null)
    throw new GradcError(`defineOp: expects a record { name, arity, ... }, got ${spec === null ? "null" : typeof spec}`);
  const name = spec.name;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new GradcError(`defineOp: name must be an identifier (a letter, then letters, digits or _; at most 64), got ${JSON.stringify(name)}`);
  }
  const who = `defineOp(${name})`;
  if (hasOp(name))
    throw new GradcError(`${who}: an op named "${name}" is already registered${userOps.has(name) ? " by defineOp (removeOp it first)" : " (a builtin)"}`);
  const unknown = Object.keys(spec).filter((k) => !FIELDS.has(k));
  if (unknown.length) throw new GradcError(`${who}: unknown field(s) ${unknown.join(", ")}; a record has ${[...FIELDS].join(", ")}`);
  const kind: Kind = spec.kind ?? (spec.scalar ? "elementwise" : "other");
  if (kind !== "elementwise" && kind !== "other") throw new GradcError(`${who}: kind must be "elementwise" or "other", got ${JSON.stringify(spec.kind)}`);
  if (!Number.isInteger(spec.arity) || spec.arity < (kind === "elementwise" ? 1 : 0) || spec.arity > 16) {
    throw new GradcError(
      `${who}: arity must be an integer number of inputs${kind === "elementwise" ? " from 1" : ""} up to 16, got ${JSON.stringify(spec.arity)}`,
    );
  }
  for (const f of ["scalar", "expr", "shape", "impl", "sample", "jvp", "onnx"] as const) {
    if (spec[f] !== undefined && typeof spec[f] !== "function") throw new GradcError(`${who}: ${f} must be a function, got ${typeof spec[f]}`);
  }
  if (spec.vjp !== undefined && spec.vjp !== "none" && typeof spec.vjp !== "function") {
    throw new GradcError(`${who}: vjp must be a function (g, inputs, out, attrs) => cotangents, or "none", got ${typeof spec.vjp}`);
  }
  if (spec.simd !== undefined) {
    const ok =
      typeof spec.simd === "object" &&
      spec.simd !== null &&
      Object.entries(spec.simd).every(([k, f]) => (k === "f64" || k === "f32") && (f === undefined || typeof f === "function"));
    if (!ok) throw new GradcError(`${who}: simd must be { f64?: (e, args) => value, f32?: (e, args) => value }`);
    if (kind !== "elementwise") throw new GradcError(`${who}: simd is for elementwise ops (kind "elementwise")`);
  }
  if (spec.differentiable !== undefined && typeof spec.differentiable !== "boolean") throw new GradcError(`${who}: differentiable must be true or false`);
  const noGradient = spec.vjp === "none" || spec.differentiable === false;
  if (typeof spec.vjp === "function" && noGradient) throw new GradcError(`${who}: has a vjp rule but is declared not differentiable`);
  if (spec.vjp === undefined && !noGradient) {
    throw new GradcError(
      `${who}: no gradient rule: give vjp: (g, inputs, out) => [...] written with builder ops, or declare vjp: "none" if the op is not differentiable`,
    );
  }
  if (spec.tags !== undefined && !(Array.isArray(spec.tags) && spec.tags.every((t) => typeof t === "string")))
    throw new GradcError(`${who}: tags must be a list of strings`);
  const source = new Error().stack
    ?.split("\n")[3]
    ?.trim()
    .replace(/^at\s+/, "");
  const vjp = typeof spec.vjp === "function" ? spec.vjp : undefined;

  let def: OpDef;
  if (kind === "elementwise") {
    if (!spec.scalar) throw new GradcError(`${who}: an elementwise op needs scalar: (...xs) => number (its kernel and constant folding come from it)`);
    if (spec.impl || spec.shape)
      throw new GradcError(`${who}: an elementwise op gets its shape rule and kernel from scalar; use kind: "other" for a custom kernel`);
    checkExpr(who, spec);
    const base = elementwise({ name, arity: spec.arity, scalar: spec.scalar, expr: spec.expr as OpDef["expr"] & {}, tags: spec.tags, source });
    if (spec.attrs !== undefined && Object.keys(spec.attrs).length)
      throw new GradcError(`${who}: an elementwise op takes no attributes; pass a parameter as an operand, e.g. ${name}(x, 0.1) with arity 2`);
    // attributes would reach generated code through expr, and scalar could not see them: parameters are operands
    def = { ...base, expr: spec.expr, vjp, jvp: spec.jvp, sample: spec.sample, onnx: spec.onnx, simd: spec.simd };
  } else {
    if (spec.scalar || spec.expr) throw new GradcError(`${who}: scalar and expr are for elementwise ops (kind "elementwise")`);
    if (spec.kernel !== undefined && typeof spec.kernel !== "function")
      throw new GradcError(`${who}: kernel must be a function (inputs, attrs, out, gemm) => (inputArrays, outArray) => void`);
    if (!spec.shape) throw new GradcError(`${who}: needs a shape rule: shape: (inputs, attrs) => ({ shape, dtype })`);
    if (!spec.impl) throw new GradcError(`${who}: needs a reference kernel: impl: (inputs, attrs, out) => Tensor`);
    if (spec.attrs !== undefined && (typeof spec.attrs !== "object" || spec.attrs === null || Array.isArray(spec.attrs))) {
      throw new GradcError(`${who}: attrs must be a record of attribute types, e.g. { axis: "int" }`);
    }
    def = {
      name,
      kind,
      arity: spec.arity,
      attrs: spec.attrs ?? {},
      tags: spec.tags ?? [],
      source,
      shape: spec.shape,
      impl: spec.impl,
      kernel: spec.kernel,
      vjp,
      jvp: spec.jvp,
      sample: spec.sample,
      onnx: spec.onnx,
    };
  }
  const bad = schemaProblem(def.attrs);
  if (bad) throw new GradcError(`${who}: ${bad}`);
  probe(who, def, spec);
  return def;
}

/** The template must return a string that parses as an expression over its operands. */
function checkExpr(who: string, spec: OpSpec): void {
  if (!spec.expr) return;
  const args = Array.from({ length: spec.arity }, (_, k) => `a${k}`);
  let e: unknown;
  try {
    e = spec.expr(args, spec.probe?.attrs ?? {});
  } catch (err) {
    throw new GradcError(`${who}: expr throws on operands ${args.join(", ")}: ${(err as Error).message}`);
  }
  if (typeof e !== "string") throw new GradcError(`${who}: expr must return a string of JavaScript, got ${typeof e}`);
  let f: (...xs: number[]) => unknown;
  try {
    f = new Function(...args, `"use strict"; return (${e});`) as typeof f;
  } catch (err) {
    throw new GradcError(`${who}: expr gives ${JSON.stringify(e)}, which is not a JavaScript expression (${(err as Error).message})`);
  }
  // compiled code computes expr, evaluate and constant folding compute scalar: they must agree
  for (const xs of exprPoints(spec)) {
    const want = spec.scalar!(...xs);
    let got: unknown;
    try {
      got = f(...xs);
    } catch (err) {
      throw new GradcError(`${who}: expr ${JSON.stringify(e)} throws at (${xs.join(", ")}): ${(err as Error).message}`);
    }
    const agree =
      typeof got === "number" &&
      (Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)) || Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)));
    if (!agree) {
      throw new GradcError(
        `${who}: expr and scalar disagree at (${xs.join(", ")}): expr ${JSON.stringify(e)} gives ${String(got)}, scalar gives ${want}; compiled code would compute expr (an operand beyond arity ${spec.arity} is undefined)`,
      );
    }
  }
}

/** Points where expr is compared with scalar: the op's own sample values, then a fixed grid. */
function exprPoints(spec: OpSpec): number[][] {
  const grid = [-2.5, -1, -0.5, 0, 0.25, 1, 3, 1e-3];
  const points: number[][] = [];
  if (spec.sample) {
    try {
      const s = spec.sample(constantRand);
      if (s && Array.isArray(s.inputs) && s.inputs.length === spec.arity && s.inputs.every((t) => t instanceof Tensor)) {
        for (let i = 0; i < Math.min(8, s.inputs[0].data.length); i++) points.push(s.inputs.map((t) => t.data[i % t.data.length]));
      }
    } catch {
      // a sample that throws is reported by the probe
    }
  }
  for (let i = 0; i < grid.length; i++) points.push(Array.from({ length: spec.arity }, (_, k) => grid[(i + 3 * k) % grid.length]));
  return points;
}

/** Run the shape rule (and the kernel) once, so a broken record fails here and not mid-trace. */
function probe(who: string, def: OpDef, spec: OpSpec): void {
  let inputs: Tensor[], attrs: Attrs, from: string;
  if (spec.probe) {
    if (!Array.isArray(spec.probe.shapes) || spec.probe.shapes.length !== def.arity)
      throw new GradcError(`${who}: probe.shapes must list ${def.arity} shape(s)`);
    inputs = spec.probe.shapes.map((s) => filled(s));
    attrs = spec.probe.attrs ?? {};
    from = "probe";
  } else if (def.sample) {
    let s: OpSample;
    try {
      s = def.sample(constantRand);
    } catch (err) {
      throw new GradcError(`${who}: sample throws: ${(err as Error).message}`);
    }
    if (!s || !Array.isArray(s.inputs) || !s.inputs.every((t) => t instanceof Tensor))
      throw new GradcError(`${who}: sample must return { inputs: Tensor[], attrs }`);
    inputs = s.inputs;
    attrs = s.attrs ?? {};
    from = "sample";
  } else {
    inputs = Array.from({ length: def.arity }, () => filled([2, 3]));
    attrs = {};
    from = "default probe";
  }
  const avals = inputs.map((t) => `${t.dtype}${shapeStr(t.shape)}`).join(", ");
  const wrong = attrsProblem(def, attrs);
  if (wrong) throw new GradcError(`${who}: the ${from}'s attributes: ${wrong}`);
  let aval: Aval;
  try {
    aval = def.shape(inputs, attrs);
  } catch (err) {
    throw new GradcError(`${who}: the shape rule throws on the ${from} (${avals}): ${(err as Error).message}; give probe: { shapes } that the op accepts`);
  }
  if (!aval || !Array.isArray(aval.shape) || !aval.shape.every((d) => Number.isInteger(d) && d >= 0) || (aval.dtype !== "f64" && aval.dtype !== "f32")) {
    throw new GradcError(`${who}: the shape rule must return { shape: number[], dtype: "f64" | "f32" }, got ${JSON.stringify(aval)} for (${avals})`);
  }
  let out: unknown;
  try {
    out = def.impl(inputs, attrs, aval);
  } catch (err) {
    throw new GradcError(`${who}: the kernel throws on the ${from} (${avals}): ${(err as Error).message}`);
  }
  if (!(out instanceof Tensor) || !sameShape(out.shape, aval.shape) || out.dtype !== aval.dtype) {
    const got = out instanceof Tensor ? `${out.dtype}${shapeStr(out.shape)}` : typeof out;
    throw new GradcError(`${who}: the kernel returned ${got} where the shape rule says ${aval.dtype}${shapeStr(aval.shape)} (on ${avals})`);
  }
  if (def.kernel) probeKernel(who, def, inputs, attrs, aval, out, `${from} (${avals})`);
}

/** The planned kernel computes what impl computes on the probe (a NaN marks an element it left unwritten). */
function probeKernel(who: string, def: OpDef, inputs: Tensor[], attrs: Attrs, aval: Aval, want: Tensor, on: string): void {
  const got = aval.dtype === "f32" ? new Float32Array(want.size).fill(Number.NaN) : new Float64Array(want.size).fill(Number.NaN);
  try {
    def.kernel!(
      inputs,
      attrs,
      aval,
      probeGemm,
    )(
      inputs.map((t) => t.data),
      got,
    );
  } catch (err) {
    throw new GradcError(`${who}: the planned kernel throws on the ${on}: ${(err as Error).message}`);
  }
  const bad = want.data.findIndex((w, i) => !(Object.is(got[i], w) || Math.abs(got[i] - w) <= 1e-9 * Math.max(1, Math.abs(w))));
  if (bad >= 0)
    throw new GradcError(
      `${who}: the planned kernel gives ${got[bad]} at flat index ${bad} where impl gives ${want.data[bad]} (on the ${on}); compiled code would run the planned kernel`,
    );
}

/** The probe's matrix product (strided A and B, contiguous C), the contract of the compiler's. */
const probeGemm: Gemm =
  ({ m, k, n, sa, sb }) =>
  (a, b, c) => {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a[i * sa[0] + p * sa[1]] * b[p * sb[0] + j * sb[1]];
        c[i * n + j] = acc;
      }
    }
  };

const constantRand = () => 0.5;
function filled(shape: Shape): Tensor {
  const n = shape.reduce((m, s) => m * s, 1);
  return new Tensor(new Float64Array(n).fill(0.5), shape);
}
