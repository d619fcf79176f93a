// A Graph: named inputs, named outputs, and the nodes between them. Graphs are values: passes
// return new graphs. Walks are iterative so that deep networks never overflow the stack.

import { shapeStr } from "./tensor.js";
import { GradcError } from "./errors.js";
import { apply, formatAttrs, formatNumber, inheritScope, Node } from "./node.js";
import { kindOf } from "./args.js";

export class Graph {
  readonly inputs: readonly Node[];
  readonly outputs: Readonly<Record<string, Node>>;
  /**
   * Facts about inputs: an input that is a residual of a forward pass may come with its definition
   * in terms of the graph's other inputs (xhat = xc / std). Passes may use them; they never change
   * what the graph computes.
   */
  readonly facts: Readonly<Record<string, Node>>;
  private order?: Node[];
  private byName?: Map<string, Node>;

  constructor(inputs: readonly Node[], outputs: Record<string, Node>, facts: Record<string, Node> = {}) {
    if (!Array.isArray(inputs)) throw new GradcError(`Graph: inputs must be an array of input nodes, got ${kindOf(inputs)}`);
    for (const [what, rec] of [
      ["outputs", outputs],
      ["facts", facts],
    ] as const) {
      if (typeof rec !== "object" || rec === null || Array.isArray(rec))
        throw new GradcError(`Graph: ${what} must be a record { name: node }, got ${kindOf(rec)}`);
      for (const [k, v] of Object.entries(rec)) {
        if (!(v instanceof Node)) throw new GradcError(`Graph: ${what === "outputs" ? "output" : "fact"} "${k}" must be a graph node, got ${kindOf(v)}`);
      }
    }
    const seen = new Set<string>();
    for (const x of inputs) {
      if (!(x instanceof Node)) throw new GradcError(`Graph: an input must be an input node, got ${kindOf(x)}`);
      if (!x.isInput) throw new GradcError(`Graph: ${x} is not an input node`);
      if (seen.has(x.name)) throw new GradcError(`Graph: two inputs are named "${x.name}"`);
      seen.add(x.name);
    }
    this.inputs = Object.freeze([...inputs]);
    this.outputs = Object.freeze({ ...outputs });
    this.facts = Object.freeze({ ...facts });
    const given = new Set(inputs);
    for (const n of this.nodes()) {
      if (n.isInput && !given.has(n)) {
        throw new GradcError(`Graph: output depends on ${n}, which is not among the graph's inputs (${inputs.map((x) => x.name).join(", ")})`);
      }
    }
  }

  input(name: string): Node {
    // by name in a map built on first use: a deep model's passes look up hundreds of inputs
    this.byName ??= new Map(this.inputs.map((i) => [i.name, i]));
    const x = this.byName.get(name);
    if (!x) throw new GradcError(`no input named "${name}": inputs are ${this.inputs.map((i) => i.name).join(", ")}`);
    return x;
  }
  output(name: string): Node {
    const x = Object.hasOwn(this.outputs, name) ? this.outputs[name] : undefined; // "constructor" is not Object's
    if (!x) throw new GradcError(`no output named "${name}": outputs are ${Object.keys(this.outputs).join(", ")}`);
    return x;
  }
  get outputNames(): string[] {
    return Object.keys(this.outputs);
  }
  get inputNames(): string[] {
    return this.inputs.map((x) => x.name);
  }

  /** All nodes the outputs depend on, inputs first, in a topological order. */
  nodes(): Node[] {
    if (!this.order) {
      const reached = toposort(Object.values(this.outputs));
      const set = new Set(reached);
      this.order = [...this.inputs.filter((x) => !set.has(x)), ...reached];
    }
    return this.order;
  }

  /** Operation nodes: inputs and constants not counted. */
  get size(): number {
    return this.nodes().filter((n) => !n.isInput && !n.isConst).length;
  }

  toString(): string {
    return printGraph(this);
  }
}

/**
 * Topological order of everything `roots` depend on; iterative depth-first search. Nodes for
 * which `stop` is true are neither listed nor descended into (a pass skipping finished work).
 */
export function toposort(roots: readonly Node[], stop?: (n: Node) => boolean): Node[] {
  const out: Node[] = [];
  const state = new Map<Node, 1 | 2>();
  const stack: [Node, number][] = [];
  for (const root of roots) {
    if (state.has(root) || stop?.(root)) continue;
    stack.push([root, 0]);
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (i < n.inputs.length) {
        top[1]++;
        const x = n.inputs[i];
        if (!state.has(x) && !stop?.(x)) {
          state.set(x, 1);
          stack.push([x, 0]);
        }
      } else {
        stack.pop();
        state.set(n, 2);
        out.push(n);
      }
    }
  }
  return out;
}

/** Consumers of each node within a node list. */
export function consumers(nodes: readonly Node[]): Map<Node, Node[]> {
  const users = new Map<Node, Node[]>();
  for (const n of nodes) users.set(n, []);
  for (const n of nodes) for (const x of n.inputs) users.get(x)?.push(n);
  return users;
}

/**
 * Rebuild `roots` bottom-up, replacing nodes found in `map` (and everything above them).
 * Returns the new node for every old node visited.
 */
export function substitute(roots: readonly Node[], map: ReadonlyMap<Node, Node>): Map<Node, Node> {
  const done = new Map<Node, Node>(map);
  for (const n of toposort(roots)) {
    if (done.has(n)) continue;
    const inputs = n.inputs.map((x) => done.get(x)!);
    if (inputs.every((x, i) => x === n.inputs[i])) done.set(n, n);
    else {
      const rebuilt = apply(n.op, inputs, n.attrs);
      inheritScope(n, rebuilt);
      done.set(n, rebuilt);
    }
  }
  return done;
}

/** The graph with some nodes replaced; inputs stay as they are unless listed in `inputs`. */
export function rewriteGraph(g: Graph, map: ReadonlyMap<Node, Node>, inputs: readonly Node[] = g.inputs): Graph {
  const done = substitute(Object.values(g.outputs), map);
  const outputs = Object.fromEntries(Object.entries(g.outputs).map(([k, v]) => [k, done.get(v)!]));
  return new Graph(inputs, outputs, g.facts);
}

/**
 * The text form, one line a node, JAX-style:
 *
 *   graph(x: f64[4,5], gamma: f64[5]) {
 *     %0 = sum[axes=[0]] %x : f64[1,5]
 *     ...
 *     return { out: %7 }
 *   }
 */
export function printGraph(g: Graph, opts: { labels?: boolean } = {}): string {
  const names = numbering(g);
  const lines = [`graph(${g.inputs.map((x) => `${x.name}: ${x.dtype}${shapeStr(x.shape)}`).join(", ")}) {`];
  const factName = new Map(Object.entries(g.facts).map(([k, v]) => [v, `%${k}`]));
  for (const [name, def] of Object.entries(g.facts)) lines.push(`  # ${name} = ${expression(def, factName, 3, true)}   (forward)`);
  for (const n of g.nodes()) {
    if (n.isInput || n.isConst) continue;
    lines.push(`  ${printNode(n, names)}${opts.labels !== false && n.label ? `   # ${n.label}` : ""}`);
  }
  lines.push(
    `  return { ${Object.entries(g.outputs)
      .map(([k, v]) => `${k}: ${names.get(v) ?? operand(v)}`)
      .join(", ")} }`,
  );
  lines.push("}");
  return lines.join("\n");
}

/** `%7 = sub %0 %6 : f64[200,3]` */
export function printNode(n: Node, names: ReadonlyMap<Node, string>): string {
  const args = n.inputs.map((x) => names.get(x) ?? operand(x)).join(" ");
  return `${names.get(n)} = ${n.op}${formatAttrs(n.attrs)} ${args} : ${n.dtype}${shapeStr(n.shape)}`;
}

/** %name for inputs, %k for operation nodes, literals for constants. */
export function numbering(g: Graph): Map<Node, string> {
  const names = new Map<Node, string>();
  let k = 0;
  for (const n of g.nodes()) names.set(n, n.isInput ? `%${n.name}` : n.isConst ? operand(n) : `%${k++}`);
  return names;
}

/** A residual's forward definition as the printer shows it: `xhat = div(%xc, broadcastTo(%std))`. */
export function factText(g: Graph, name: string): string {
  const factName = new Map(Object.entries(g.facts).map(([k, v]) => [v, `%${k}`]));
  return `${name} = ${expression(g.facts[name], factName, 3, true)}`;
}

/** A forward definition inline, naming values the graph knows: div(%xc, broadcastTo(%std)). */
function expression(n: Node, known: ReadonlyMap<Node, string>, depth: number, root = false): string {
  if (n.isInput) return `%${n.name}`;
  if (n.isConst) return formatNumber(n.value);
  const name = known.get(n);
  if (name && !root) return name;
  if (depth === 0) return "...";
  return `${n.op}${formatAttrs(n.attrs)}(${n.inputs.map((x) => expression(x, known, depth - 1)).join(", ")})`;
}

function operand(n: Node): string {
  return n.isConst ? formatNumber(n.value) : n.isInput ? `%${n.name}` : `%n${n.id}`;
}
