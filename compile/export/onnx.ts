// exportOnnx: a gradc graph as an ONNX model (opset ONNX_OPSET), written with protobufjs and ONNX's
// own schema. Values are named as the printer numbers them (%7), inputs and outputs keep the
// graph's names, each node carries its text form as doc string and the residual inputs of a
// backward carry their forward definitions, so the model reads in Netron as `gradc inspect` prints.
// Each op is written by its record's `onnx` lowering (ops/*, builtins and user ops alike).

import { GradcError } from "../../core/errors.js";
import { factText, numbering, printGraph, printNode, type Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import type { OnnxAttr, OnnxEmitter } from "../../core/registry.js";
import type { DType, Shape } from "../../core/tensor.js";
import { encodeModel } from "./proto.js";
import { dimStr, symbolOf } from "../../core/symbol-table.js";

export interface OnnxOptions {
  /** The graph's name in the model (default "gradc"). */
  name?: string;
}

/** ONNX TensorProto element types. */
const ELEM = { f32: 1, f64: 11, int64: 7, bool: 9 } as const;
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, INTS: 7 } as const;

type Obj = Record<string, unknown>;

/**
 * The opset written: 17 (ONNX 1.12), the newest that ONNX's own checker in Debian's python3-onnx
 * knows, so exported models pass its full check; ReduceSum takes its axes as an input (since 13),
 * ReduceMax as an attribute (an input only from 18).
 */
export const ONNX_OPSET = 17;
/** IR version 8 is what ONNX 1.12 (opset 17) writes. */
export const ONNX_IR_VERSION = 8;
/** Ops the exporter writes itself (graph inputs, constants) rather than through the record's `onnx`. */
export const LEAVES: ReadonlySet<string> = new Set(["input", "const"]);

/** The model's output names, in the graph's order: the graph's names, `_out` added where an input has the name. */
export function onnxOutputNames(g: Graph): string[] {
  const taken = new Set(g.inputNames);
  return g.outputNames.map((name) => {
    let as = name;
    for (let k = 0; taken.has(as); k++) as = `${name}_out${k ? k + 1 : ""}`;
    taken.add(as);
    return as;
  });
}

/**
 * The graph as ONNX bytes (a ModelProto), ready for onnxruntime or Netron.
 *
 *   const bytes = exportOnnx(optimize(grad(zooGraph("batchnorm"), { of: "out" })).graph);
 *   writeFileSync("bn.onnx", bytes);
 */
export function exportOnnx(g: Graph, opts: OnnxOptions = {}): Uint8Array {
  return encodeModel(onnxModel(g, opts));
}

/** The ModelProto as a plain object (what exportOnnx encodes). */
export function onnxModel(g: Graph, opts: OnnxOptions = {}): Obj {
  const w = new Writer(g);
  const names = numbering(g);
  const value = new Map<Node, string>();
  for (const x of g.inputs) value.set(x, x.name);
  for (const n of g.nodes()) {
    if (value.has(n)) continue;
    if (n.isConst) {
      value.set(n, w.constant(n.value, n.dtype, n.shape));
      continue;
    }
    const lower = n.def.onnx;
    if (!lower || LEAVES.has(n.op)) {
      const hint = n.def.source ? ' (a user op: give defineOp an onnx lowering, e.g. onnx: (e, xs) => e.node("Softplus", xs))' : "";
      throw new GradcError(`exportOnnx: op "${n.op}" has no ONNX lowering${hint}\n  at ${printNode(n, names)}`);
    }
    const label = names.get(n)!;
    w.begin(label, printNode(n, names));
    let out: string;
    try {
      out = lower(
        w,
        n.inputs.map((x) => value.get(x)!),
        n.attrs,
        n,
        n.inputs,
      );
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      throw new GradcError(`exportOnnx: op "${n.op}" cannot be written as ONNX: ${e.message}\n  at ${printNode(n, names)}`);
    }
    value.set(n, w.finish(out, label));
    w.info(label, n.dtype, n.shape);
  }
  for (const [k, v] of Object.entries(g.outputs)) w.output(k, value.get(v)!, v.dtype, v.shape);
  const inputs = g.inputs.map((x) => w.valueInfo(x.name, x.dtype, x.shape, Object.hasOwn(g.facts, x.name) ? `${factText(g, x.name)}   (forward)` : undefined));
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: "", version: ONNX_OPSET }],
    producer_name: "gradc",
    producer_version: "0.1.0",
    graph: {
      name: opts.name ?? "gradc",
      doc_string: printGraph(g),
      node: w.nodes,
      initializer: w.initializers,
      input: inputs,
      output: w.outputs,
      value_info: w.infos,
    },
  };
}

/** Collects the nodes, constants and value infos of one model; the OnnxEmitter lowerings see. */
class Writer implements OnnxEmitter {
  readonly nodes: Obj[] = [];
  readonly initializers: Obj[] = [];
  readonly outputs: Obj[] = [];
  readonly infos: Obj[] = [];
  private readonly constants = new Map<string, string>();
  private readonly producer = new Map<string, Obj>();
  private readonly taken = new Set<string>();
  private prefix = "";
  private doc = "";
  private count = 0;
  private first = 0;

  constructor(private readonly g: Graph) {
    for (const x of g.inputs) this.claim(x.name, `input "${x.name}"`);
  }

  private claim(name: string, what: string): void {
    if (this.taken.has(name)) throw new GradcError(`exportOnnx: ${what} is named "${name}", which the model already uses for another value; rename it`);
    this.taken.add(name);
  }

  begin(label: string, doc: string): void {
    this.prefix = label;
    this.doc = doc;
    this.count = 0;
    this.first = this.nodes.length;
  }

  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, OnnxAttr>> = {}): string {
    const out = `${this.prefix}.${this.count++}`;
    const node: Obj = {
      op_type: opType,
      domain: "",
      name: out,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    };
    this.nodes.push(node);
    this.producer.set(out, node);
    return out;
  }

  multiNode(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, OnnxAttr>>, count: number): string[] {
    const first = this.node(opType, inputs, attrs);
    const node = this.producer.get(first)!;
    const rest = Array.from({ length: count - 1 }, () => `${this.prefix}.${this.count++}`);
    node.output = [first, ...rest];
    return [first, ...rest];
  }

  /** Give the lowering's result the printer's name (%7), or copy it there when it is not this node's own. */
  finish(out: string, label: string): string {
    const own = this.producer.get(out);
    const ownIndex = own ? this.nodes.indexOf(own) : -1;
    if (own && ownIndex >= this.first) {
      own.output = (own.output as string[]).map((o) => (o === out ? label : o));
      own.name = label;
      own.doc_string = this.doc;
      this.producer.set(label, own);
    } else {
      this.nodes.push({ op_type: "Identity", domain: "", name: label, input: [out], output: [label], doc_string: this.doc });
    }
    this.claim(label, `node ${label}`);
    return label;
  }

  ints(values: readonly number[]): string {
    return this.initializer(`int64[${values.join(",")}]`, { data_type: ELEM.int64, dims: [values.length], int64_data: [...values] });
  }

  scalar(value: number, dtype: DType): string {
    return this.initializer(`${dtype}:${Object.is(value, -0) ? "-0" : value}`, tensorProto(value, dtype, []));
  }

  /** Concrete shapes are constants; a symbolic size (k*N) is read from an input that carries N. */
  shape(shape: Shape): string {
    if (!shape.some((d) => symbolOf(d))) return this.ints(shape);
    const key = `shape:${shape.join(",")}`;
    const hit = this.constants.get(key);
    if (hit) return hit;
    const parts = shape.map((d) => {
      const s = symbolOf(d);
      if (!s) return this.ints([d]);
      const n = this.symbol(s.name);
      return s.k === 1 ? n : this.node("Mul", [n, this.ints([s.k])]);
    });
    const out = this.node("Concat", parts, { axis: 0 });
    this.constants.set(key, out);
    return out;
  }

  /** Symbol N as an int64 [1]: Shape of the first input whose axis is N (or k*N, divided by k). */
  private symbol(name: string): string {
    const key = `symbol:${name}`;
    const hit = this.constants.get(key);
    if (hit) return hit;
    let found: { input: string; axis: number; k: number } | undefined;
    for (const x of this.g.inputs) {
      x.shape.forEach((d, axis) => {
        const s = symbolOf(d);
        if (s?.name === name && (!found || s.k < found.k)) found = { input: x.name, axis, k: s.k };
      });
    }
    if (!found) throw new Error(`symbolic size ${name} is carried by no input, so the model cannot know it`);
    const at = this.node("Gather", [this.node("Shape", [found.input]), this.ints([found.axis])]);
    const out = found.k === 1 ? at : this.node("Div", [at, this.ints([found.k])]);
    this.constants.set(key, out);
    return out;
  }

  type(dtype: DType): number {
    return ELEM[dtype];
  }

  /** A constant of a shape: a scalar initializer, expanded by ConstantOfShape when it has a shape. */
  constant(value: number, dtype: DType, shape: Shape): string {
    if (shape.length === 0) return this.scalar(value, dtype);
    const key = `fill:${dtype}:${Object.is(value, -0) ? "-0" : value}:${shape.join(",")}`;
    const hit = this.constants.get(key);
    if (hit) return hit;
    const dims = this.shape(shape);
    const name = `%c${this.constants.size}`;
    this.nodes.push({
      op_type: "ConstantOfShape",
      domain: "",
      name,
      input: [dims],
      output: [name],
      attribute: [{ name: "value", type: AttrType.TENSOR, t: tensorProto(value, dtype, [1]) }],
    });
    this.claim(name, `constant ${name}`);
    this.constants.set(key, name);
    return name;
  }

  private initializer(key: string, tensor: Obj): string {
    const hit = this.constants.get(key);
    if (hit) return hit;
    const name = `%c${this.constants.size}`;
    this.claim(name, `constant ${name}`);
    this.initializers.push({ ...tensor, name });
    this.constants.set(key, name);
    return name;
  }

  info(name: string, dtype: DType, shape: Shape): void {
    this.infos.push(this.valueInfo(name, dtype, shape));
  }

  /**
   * A graph output: a copy of the value under the output's name (an output may repeat a value or an
   * input). An output named like an input (the net's updated runningMean1) is written as
   * `runningMean1_out`, and its doc string says so: ONNX values have one name each.
   */
  output(name: string, value: string, dtype: DType, shape: Shape): void {
    let as = name;
    for (let k = 0; this.taken.has(as); k++) as = `${name}_out${k ? k + 1 : ""}`;
    this.claim(as, `output "${name}"`);
    this.nodes.push({ op_type: "Identity", domain: "", name: `output ${as}`, input: [value], output: [as] });
    this.outputs.push(this.valueInfo(as, dtype, shape, as === name ? undefined : `the graph's output "${name}" (an input has that name)`));
  }

  valueInfo(name: string, dtype: DType, shape: Shape, doc?: string): Obj {
    const dims = shape.map((d) => (symbolOf(d) ? { dim_param: dimStr(d) } : { dim_value: d }));
    return { name, type: { tensor_type: { elem_type: ELEM[dtype], shape: { dim: dims } } }, ...(doc ? { doc_string: doc } : {}) };
  }
}

function tensorProto(value: number, dtype: DType, dims: number[]): Obj {
  return dtype === "f32" ? { data_type: ELEM.f32, dims, float_data: [value] } : { data_type: ELEM.f64, dims, double_data: [value] };
}

function attribute(name: string, v: OnnxAttr): Obj {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}=${v} is not an integer; write a float attribute as { float: ${v} }`);
    return { name, type: AttrType.INT, i: v };
  }
  if (typeof v === "string") return { name, type: AttrType.STRING, s: Buffer.from(v, "utf8") };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: [...v] };
  return { name, type: AttrType.FLOAT, f: (v as { float: number }).float };
}
