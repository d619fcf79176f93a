// A structure-aware fuzzer over hostile JSON graph files (issue 27): a random graph from the
// registry walk (fuzz-walk.ts), written by toJSON, then edited where a file can lie: attribute
// names and values, shapes and dtypes of inputs, symbols, labels, node inputs, op names, outputs.
// What must hold for every file: fromJSON returns a Graph or throws a GradcError (never a raw
// TypeError, a hang or a stack overflow); a rejected file leaves the symbol table as it was; a
// graph it accepts prints, writes back to the same text, and evaluate and compile either agree or
// refuse it with a GradcError.

import { GradcError } from "../../core/errors.js";
import { evaluate } from "../../core/evaluate.js";
import { printGraph, type Graph } from "../../core/graph.js";
import { graphSymbols } from "../../core/symbolic.js";
import { reservedSymbols } from "../../core/symbol-table.js";
import { allOps } from "../../core/registry.js";
import { sizeOf, Tensor, type DType } from "../../core/tensor.js";
import { compile } from "../../compile/codegen/compile.js";
import { fromJSON, toJSON } from "../../compile/export/json.js";
import { seeded, type Rand } from "../../compile/check/random-graphs.js";
import { walkCase } from "./fuzz-walk.js";
import { compareOutputs } from "./fuzz-check.js";

const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** Names a file may use for attributes, labels, symbols and outputs: key syntax, prototypes, markup, long and empty. */
const NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "perm:[1,0];x",
  "k:v;k:v",
  "",
  " ",
  "a\u2028b",
  "</script>",
  "${x}",
  "`",
  '"',
  "\\",
  "N",
  "M",
  "x",
  "dx",
  "x_dot",
  "out",
  "%0",
  "1048573",
  "a".repeat(300),
  "hasOwnProperty",
  "then",
];
/** Sizes and numbers a file may hold where a size or an integer is expected. */
const NUMBERS = [0, 1, -1, 2, 3, 1.5, -0.5, 1e308, -1e308, 1e12, 2 ** 31, 2 ** 32, 2 ** 53, 1048573, 1048571, 2 * 1048573, 1048575, 65, 5000];
/** Values of the wrong kind. */
const ODD = [null, "0", "", true, {}, [], [[1]], { "0": 1 }, "f16", [null], ["a"]];

type Json = Record<string, unknown>;
interface File {
  inputs: unknown;
  outputs: Json;
  symbols: Json;
  facts: Json;
  nodes: Json[];
  [k: string]: unknown;
}

const hostileNumber = (r: Rand) => (r() < 0.85 ? pick(r, NUMBERS) : pick(r, ODD));
const hostileList = (r: Rand, like: unknown): unknown => {
  if (!Array.isArray(like) || r() < 0.15) return r() < 0.5 ? pick(r, ODD) : Array.from({ length: int(r, 0, 70) }, () => int(r, 0, 3));
  const copy = [...like];
  if (copy.length && r() < 0.8) copy[int(r, 0, copy.length - 1)] = hostileNumber(r);
  else copy.push(hostileNumber(r));
  return copy;
};

/** One edit of the file, chosen at random among the places a file can lie. */
function mutate(r: Rand, f: File): string {
  // an earlier edit may have replaced the node list or a node with something else
  const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
  const nodes = Array.isArray(f.nodes) ? f.nodes.filter(isObject) : [];
  const node = nodes.length ? pick(r, nodes) : undefined;
  if (!node) return "none";
  const attrs = (isObject(node.attrs) ? node.attrs : {}) as Json;
  const keys = Object.keys(attrs);
  const u = r();
  if (u < 0.12) {
    node.attrs = { ...attrs, [pick(r, NAMES)]: r() < 0.5 ? hostileNumber(r) : pick(r, [...ODD, [1, 0], "y"]) };
    return "attribute name";
  }
  if (u < 0.3 && keys.length) {
    const k = pick(r, keys);
    attrs[k] = Array.isArray(attrs[k])
      ? hostileList(r, attrs[k])
      : k === "name"
        ? pick(r, NAMES)
        : k === "dtype"
          ? pick(r, ["f16", "i32", "", null, "f32", "f64"])
          : hostileNumber(r);
    return `attribute ${k}`;
  }
  if (u < 0.42) {
    const input = nodes.find((n) => n.op === "input" && r() < 0.6) ?? nodes[0];
    const a = input.attrs;
    if (isObject(a) && Array.isArray(a.shape)) a.shape = hostileList(r, a.shape);
    return "input shape";
  }
  if (u < 0.52) {
    const k = r() < 0.7 ? pick(r, ["N", "M", "B"]) : pick(r, NAMES);
    if (r() < 0.2) f.symbols = pick(r, ODD) as Json;
    else
      f.symbols = { ...(isObject(f.symbols) ? f.symbols : {}), [k]: r() < 0.6 ? pick(r, [1048573, 1048571, 1048559, 1048433, 3, 0, -1, 1e12]) : pick(r, ODD) };
    return "symbols";
  }
  if (u < 0.6) {
    node.label = r() < 0.8 ? pick(r, NAMES) : pick(r, ODD);
    return "label";
  }
  if (u < 0.72) {
    const ins = Array.isArray(node.inputs) ? [...node.inputs] : [];
    const bad = pick(r, [-1, nodes.length, nodes.length + 5, nodes.indexOf(node), 1.5, "0", null, 1e308]);
    if (ins.length && r() < 0.7) ins[int(r, 0, ins.length - 1)] = bad;
    else ins.push(bad);
    node.inputs = r() < 0.1 ? pick(r, ODD) : ins;
    return "node inputs";
  }
  if (u < 0.8) {
    node.op = r() < 0.7 ? pick(r, allOps()).name : pick(r, [...NAMES, "exq", null, 3]);
    return "op";
  }
  if (u < 0.88) {
    const name = pick(r, NAMES);
    f.outputs =
      r() < 0.15
        ? (pick(r, ODD) as Json)
        : { ...(isObject(f.outputs) ? f.outputs : {}), [name]: pick(r, [0, nodes.length - 1, nodes.length, -1, "0", null, 2.5]) };
    return "outputs";
  }
  if (u < 0.94) {
    f.inputs = r() < 0.5 ? pick(r, ODD) : hostileList(r, f.inputs);
    return "graph inputs";
  }
  const k = pick(r, ["format", "version", "nodes", "facts"]);
  f[k] = pick(r, [...ODD, 2, "gradc-graph"]);
  return `field ${k}`;
}

export interface JsonCase {
  seed: number;
  text: string;
  edits: string[];
}

/** A hostile file from a seed: a walked graph's JSON with 1 to 3 edits. */
export function jsonCase(seed: number): JsonCase {
  const r = seeded(seed ^ 0x5eed);
  const base = walkCase(seed, { steps: int(r, 1, 5), order: r() < 0.8 ? 0 : 1 });
  const file = JSON.parse(toJSON(base.graph)) as File;
  const edits = Array.from({ length: int(r, 1, 3) }, () => mutate(r, file));
  return { seed, text: JSON.stringify(file), edits };
}

export interface JsonFinding {
  seed: number;
  edits: string[];
  what: string;
}

/** Elements the evaluation of an accepted graph may touch: beyond it only reading and printing are checked. */
const RUN_LIMIT = 200_000;

/** Check one hostile file; the findings (empty when the file was refused or handled as it should be). */
export function checkJsonCase(c: JsonCase): JsonFinding[] {
  const found: JsonFinding[] = [];
  const finding = (what: string) => found.push({ seed: c.seed, edits: c.edits, what });
  const before = [...reservedSymbols()].join();
  let g: Graph;
  try {
    g = fromJSON(c.text, `case-${c.seed}.json`);
  } catch (e) {
    if (!(e instanceof GradcError)) finding(`fromJSON threw ${(e as Error)?.name}: ${(e as Error)?.message?.split("\n")[0]}`);
    else if ([...reservedSymbols()].join() !== before) finding("a rejected file left symbols reserved");
    return found;
  }
  try {
    printGraph(g);
    const again = toJSON(g);
    if (toJSON(fromJSON(again, "again.json")) !== again) finding("toJSON(fromJSON(toJSON(g))) differs from toJSON(g)");
  } catch (e) {
    finding(`an accepted graph failed to print or write back: ${(e as Error)?.name}: ${(e as Error)?.message?.split("\n")[0]}`);
    return found;
  }
  if (graphSymbols(g).length || !(g.nodes().reduce((s, n) => s + n.size, 0) <= RUN_LIMIT)) return found;
  const r = seeded(c.seed);
  const inputs = Object.fromEntries(g.inputs.map((x) => [x.name, randomInput(r, x.shape, x.dtype)]));
  const run = (how: string, f: () => Record<string, Tensor>): Record<string, Tensor> | undefined => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof GradcError)) finding(`${how} threw ${(e as Error)?.name}: ${(e as Error)?.message?.split("\n")[0]}`);
      return undefined;
    }
  };
  const ref = run("evaluate", () => evaluate(g, inputs));
  const got = run("compile(...).run", () => compile(g).run(inputs));
  if (ref && got) {
    const diff = compareOutputs(ref, got, g.inputs.some((x) => x.dtype === "f32") ? "f32" : undefined);
    if (diff) finding(`compile disagrees with evaluate: ${diff}`);
  }
  return found;
}

/** Values in [-2, 2], integers now and then (labels, indices). */
function randomInput(r: Rand, shape: readonly number[], dtype: DType): Tensor {
  const size = sizeOf(shape);
  const data = dtype === "f32" ? new Float32Array(size) : new Float64Array(size);
  const ints = r() < 0.3;
  for (let i = 0; i < size; i++) data[i] = ints ? Math.floor(r() * 3) : 4 * r() - 2;
  return new Tensor(data, shape);
}
