// toJSON / fromJSON: a graph as versioned JSON text, one node per line so that two graphs diff as
// text. Reading rebuilds every node with `apply`, so each one passes its op's shape rule again and
// hash-conses to the node already in memory: fromJSON(toJSON(g)) prints as g and has g's nodes.

import { GradcError } from "../../core/errors.js";
import { Graph } from "../../core/graph.js";
import { apply, formatNumber, nextNodeId, Node } from "../../core/node.js";
import type { AttrValue, Attrs } from "../../core/registry.js";
import { isRepresentative, releaseSymbolsSince, representativeOf, reservedSymbols, symbolOf, symbolSize } from "../../core/symbol-table.js";

export const JSON_FORMAT = "gradc-graph";
export const JSON_VERSION = 1;

interface NodeRecord {
  op: string;
  inputs?: number[];
  attrs?: Record<string, unknown>;
  label?: string;
}

interface GraphRecord {
  format: string;
  version: number;
  inputs: number[];
  outputs: Record<string, number>;
  facts?: Record<string, number>;
  /** Symbolic sizes and the representative size each had in the writing process. */
  symbols?: Record<string, number>;
  nodes: NodeRecord[];
}

/** NaN, ±Infinity and -0 do not survive JSON as numbers: they are written { "number": "NaN" }. */
function encodeValue(v: AttrValue): unknown {
  const num = (x: number) => (Number.isFinite(x) && !Object.is(x, -0) ? x : { number: formatNumber(x) });
  if (typeof v === "number") return num(v);
  if (Array.isArray(v)) return v.map(num);
  return v;
}

/**
 * The graph as JSON text: format, version, the nodes in a topological order (each naming its
 * inputs by position in the list), the inputs, outputs and residual definitions (facts).
 *
 *   writeFileSync("bn.json", toJSON(g));
 *   const h = fromJSON(readFileSync("bn.json", "utf8"), "bn.json");   // h.toString() === g.toString()
 */
export function toJSON(g: Graph): string {
  const roots = [...g.inputs, ...Object.values(g.outputs), ...Object.values(g.facts)];
  const order = topo(roots);
  const index = new Map(order.map((n, i) => [n, i]));
  const nodes = order.map((n) => {
    const r: NodeRecord = { op: n.op };
    if (n.inputs.length) r.inputs = n.inputs.map((x) => index.get(x)!);
    if (Object.keys(n.attrs).length) r.attrs = Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, encodeValue(v)]));
    if (n.label) r.label = n.label;
    return JSON.stringify(r);
  });
  const ids = (rec: Readonly<Record<string, Node>>) => JSON.stringify(Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, index.get(v)!])));
  return [
    "{",
    `  "format": ${JSON.stringify(JSON_FORMAT)},`,
    `  "version": ${JSON_VERSION},`,
    `  "inputs": ${JSON.stringify(g.inputs.map((x) => index.get(x)!))},`,
    `  "outputs": ${ids(g.outputs)},`,
    `  "facts": ${ids(g.facts)},`,
    `  "symbols": ${JSON.stringify(symbolsOf(order))},`,
    `  "nodes": [`,
    nodes.map((line, i) => `    ${line}${i < nodes.length - 1 ? "," : ""}`).join("\n"),
    "  ]",
    "}",
    "",
  ].join("\n");
}

/** The symbolic sizes the nodes' shapes use, with this process's representative sizes. */
function symbolsOf(nodes: readonly Node[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes)
    for (const d of n.shape) {
      const s = symbolOf(d);
      if (s) out[s.name] = symbolSize(s.name);
    }
  return out;
}

/** Everything the roots depend on, inputs before users (iterative, as core's toposort). */
function topo(roots: readonly Node[]): Node[] {
  const out: Node[] = [];
  const seen = new Set<Node>();
  for (const root of roots) {
    if (seen.has(root)) continue;
    const stack: [Node, number][] = [[root, 0]];
    seen.add(root);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top[1] < top[0].inputs.length) {
        const x = top[0].inputs[top[1]++];
        if (!seen.has(x)) {
          seen.add(x);
          stack.push([x, 0]);
        }
      } else {
        stack.pop();
        out.push(top[0]);
      }
    }
  }
  return out;
}

/**
 * Read a graph written by toJSON. `source` (a file name) is named in every error: text that is not
 * JSON (a truncated file), another format or version, or a node its op's schema or shape rule
 * rejects. Reading is atomic for the process: a rejected file releases the symbolic sizes it
 * reserved, and a node's "label" names only a node the file itself created (a node the file shares
 * with a graph already in memory keeps that graph's name, or none).
 */
export function fromJSON(text: string, source = "JSON text"): Graph {
  const before = reservedSymbols();
  try {
    return read(text, source);
  } catch (e) {
    releaseSymbolsSince(before);
    throw e;
  }
}

/** The file's top-level record, checked: its format and version, and the lists and records a graph needs. */
function header(text: string, bad: (msg: string) => never): GraphRecord {
  if (typeof text !== "string") bad(`expects the file's text as a string, got ${text === null ? "null" : typeof text}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    bad(`is not valid JSON (${(e as Error).message}); ${text.trimEnd().endsWith("}") ? "is it a gradc graph?" : "the file looks truncated"}`);
  }
  const rec = doc as GraphRecord;
  if (typeof rec !== "object" || rec === null || rec.format !== JSON_FORMAT) bad(`is not a gradc graph (expected "format": "${JSON_FORMAT}")`);
  if (rec.version !== JSON_VERSION) bad(`is gradc graph format version ${JSON.stringify(rec.version)}; this gradc reads version ${JSON_VERSION}`);
  const isRecord = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!Array.isArray(rec.nodes) || !Array.isArray(rec.inputs) || !isRecord(rec.outputs)) {
    bad(`needs "nodes" and "inputs" lists and an "outputs" record`);
  }
  for (const key of ["facts", "symbols"] as const) if (rec[key] !== undefined && !isRecord(rec[key])) bad(`"${key}" must be a record`);
  return rec;
}

/**
 * Sizes as this process reads them: a symbol's representative size depends on the order symbols
 * were first used in a process, so shapes written with the writer's are rewritten with this one's.
 */
function sizeReader(rec: GraphRecord, bad: (msg: string) => never): (d: number, where: string) => number {
  const remap: [number, number][] = [];
  for (const [name, rep] of Object.entries(rec.symbols ?? {})) {
    if (typeof rep !== "number" || !isRepresentative(rep))
      bad(
        `symbol ${JSON.stringify(name)} has representative size ${JSON.stringify(rep)}, which is not one gradc writes (a concrete size never becomes a symbol)`,
      );
    if (remap.some(([from]) => from === rep))
      bad(
        `symbols ${JSON.stringify(name)} and ${JSON.stringify(Object.keys(rec.symbols!).find((k) => rec.symbols![k] === rep))} have the same representative size ${rep}`,
      );
    let here: number;
    try {
      here = symbolSize(name);
    } catch (e) {
      return bad(`symbol ${JSON.stringify(name)}: ${(e as Error).message}`);
    }
    remap.push([rep, here]);
  }
  const resize = (d: number, where: string) => {
    for (const [from, to] of remap) if (d % from === 0 && d / from < from) return (d / from) * to;
    const rep = representativeOf(d);
    if (rep !== undefined) bad(`${where}: size ${d} is a multiple of ${rep}, which gradc reserves for symbolic sizes, and the file declares no symbol for it`);
    return d;
  };
  return resize;
}

function read(text: string, source: string): Graph {
  const bad = (msg: string): never => {
    throw new GradcError(`fromJSON: ${source}: ${msg}`);
  };
  const rec = header(text, bad);
  const resize = sizeReader(rec, bad);
  const nodes: Node[] = [];
  const at = (i: unknown, what: string): Node => {
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= nodes.length)
      bad(`${what} refers to node ${JSON.stringify(i)}, which is not an earlier node`);
    return nodes[i as number];
  };
  const firstNew = nextNodeId();
  const labels: [Node, string][] = [];
  rec.nodes.forEach((r, k) => {
    if (typeof r !== "object" || r === null || typeof r.op !== "string") bad(`node ${k} is not a record with an "op"`);
    if (r.inputs !== undefined && !Array.isArray(r.inputs))
      bad(`node ${k} (${r.op}): "inputs" must be a list of node numbers, got ${JSON.stringify(r.inputs)}`);
    if (r.label !== undefined && typeof r.label !== "string") bad(`node ${k} (${r.op}): "label" must be a string`);
    const inputs = (r.inputs ?? []).map((i) => at(i, `node ${k} (${r.op})`));
    let attrs = decodeAttrs(r.attrs ?? {}, (msg) => bad(`node ${k} (${r.op}): ${msg}`));
    if (Array.isArray(attrs.shape)) attrs = { ...attrs, shape: (attrs.shape as number[]).map((d) => resize(d, `node ${k} (${r.op})`)) };
    let n: Node;
    try {
      n = apply(r.op, inputs, attrs);
    } catch (e) {
      if (!(e instanceof GradcError)) throw e;
      return bad(`node ${k}: ${e.message}`);
    }
    if (typeof r.label === "string" && n.id >= firstNew) labels.push([n, r.label]);
    nodes.push(n);
  });
  const pick = (m: Record<string, unknown> | undefined, what: string) =>
    Object.fromEntries(Object.entries(m ?? {}).map(([name, i]) => [name, at(i, `${what} "${name}"`)]));
  let g: Graph;
  try {
    g = new Graph(
      rec.inputs.map((i) => at(i, "an input")),
      pick(rec.outputs, "output"),
      pick(rec.facts, "fact"),
    );
  } catch (e) {
    if (!(e instanceof GradcError)) throw e;
    return bad(e.message);
  }
  // names only once the whole file is accepted, and only on nodes it created
  for (const [n, label] of labels) if (!n.label) n.named(label);
  return g;
}

function decodeAttrs(raw: Record<string, unknown>, bad: (msg: string) => never): Attrs {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad(`"attrs" must be a record`);
  const num = (v: unknown): number => {
    if (typeof v === "number") return v;
    const text = (v as { number?: unknown } | null)?.number;
    if (text === "NaN") return NaN;
    if (text === "Infinity") return Infinity;
    if (text === "-Infinity") return -Infinity;
    if (text === "-0") return -0;
    return bad(`${JSON.stringify(v)} is not a number`);
  };
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === "string" || typeof v === "boolean") out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(num);
    else out[k] = num(v);
  }
  return out;
}
