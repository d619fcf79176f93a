// A page's graphs from its node table: the nodes a graph reaches in the text form's order, their
// %k numbering and text lines. The same walk as core's Graph.nodes() and numbering(), so a box's
// %k is the one the text form, the derivation and the kernel source use.

import type { PageData, VizGraph, VizNode } from "./model.js";

export interface Shown {
  /** Nodes in the text form's order (unused inputs first, then a depth-first topological order). */
  nodes: VizNode[];
  /** id -> %k, %name, or a literal. */
  names: Map<number, string>;
  /** id -> output names it is returned as. */
  outputsOf: Map<number, string[]>;
}

export function expand(table: ReadonlyMap<number, VizNode>, g: Pick<VizGraph, "inputs" | "outputs">): Shown {
  const reached: VizNode[] = [];
  const state = new Map<number, number>();
  for (const [, root] of g.outputs) {
    if (state.has(root)) continue;
    const stack: [VizNode, number][] = [[table.get(root)!, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const n = top[0];
      if (top[1] < n.inputs.length) {
        const x = n.inputs[top[1]++];
        if (!state.has(x)) {
          state.set(x, 1);
          stack.push([table.get(x)!, 0]);
        }
      } else {
        stack.pop();
        reached.push(n);
      }
    }
  }
  const nodes = [...g.inputs.filter((id) => !state.has(id)).map((id) => table.get(id)!), ...reached];
  const names = new Map<number, string>();
  let k = 0;
  for (const n of nodes) names.set(n.id, n.operand || `%${k++}`);
  const outputsOf = new Map<number, string[]>();
  for (const [name, id] of g.outputs) outputsOf.set(id, [...(outputsOf.get(id) ?? []), name]);
  return { nodes, names, outputsOf };
}

/** The node's line in the text form: `%7 = sub %x %6 : f64[200,3]`. */
export function textLine(n: VizNode, names: ReadonlyMap<number, string>): string {
  const type = `${n.dtype}[${n.shape.join(",")}]`;
  if (n.kind === "input") return `${n.operand} : ${type} (input)`;
  if (n.kind === "const") return `${n.operand} : ${type} (constant)`;
  return `${names.get(n.id)} = ${n.op}${n.attrs} ${n.inputs.map((x) => names.get(x) ?? "?").join(" ")} : ${type}`;
}

export const tableOf = (nodes: readonly VizNode[]): Map<number, VizNode> => new Map(nodes.map((n) => [n.id, n]));

type Shape = Pick<VizGraph, "inputs" | "outputs">;

/**
 * The graphs after each rewrite step, rebuilt from the steps' substitutions: walk the base graph
 * in order, replace what the substitution maps, and rebuild each parent whose inputs changed.
 * A rebuilt node takes the id of the page's node with the same op, attributes and inputs when the
 * page has it (hash-consing, as gradc's own), otherwise a new negative id of its own.
 */
export class StepGraphs {
  private readonly byKey = new Map<string, number>();
  private readonly cache = new Map<number, Shape>();
  private readonly maps: (Map<number, number> | undefined)[] = [];
  private nextId = -1;

  constructor(
    private readonly table: Map<number, VizNode>,
    private readonly data: Pick<PageData, "backward" | "steps">,
  ) {
    for (const n of table.values()) if (n.kind !== "input" && n.kind !== "const") this.byKey.set(this.key(n.op, n.attrs, n.inputs), n.id);
  }

  private key(op: string, attrs: string, inputs: readonly number[]): string {
    return `${op}${attrs}(${inputs.join(",")})`;
  }

  /** The substitution in force after step k (1-based), over its base's nodes. */
  private substitution(k: number): Map<number, number> {
    const known = this.maps[k];
    if (known) return known;
    const step = this.data.steps[k - 1];
    const prev = k > 1 && this.data.steps[k - 2].base === step.base ? this.substitution(k - 1) : new Map<number, number>();
    const map = new Map(prev);
    for (const [from, to] of step.substitution) {
      if (to < 0) map.delete(from);
      else map.set(from, to);
    }
    this.maps[k] = map;
    return map;
  }

  /** The graph after step k (0 = the derived backward). */
  graph(k: number): Shape {
    if (k === 0) return this.data.backward!;
    const hit = this.cache.get(k);
    if (hit) return hit;
    const step = this.data.steps[k - 1];
    const base = this.graph(step.base);
    const map = this.substitution(k);
    const done = new Map<number, number>();
    for (const n of expand(this.table, base).nodes) {
      const mapped = map.get(n.id);
      if (mapped !== undefined) {
        done.set(n.id, mapped);
        continue;
      }
      const inputs = n.inputs.map((x) => done.get(x) ?? x);
      if (inputs.every((x, i) => x === n.inputs[i])) {
        done.set(n.id, n.id);
        continue;
      }
      const key = this.key(n.op, n.attrs, inputs);
      let id = this.byKey.get(key);
      if (id === undefined) {
        id = this.nextId--;
        this.byKey.set(key, id);
        this.table.set(id, { ...n, id, inputs, values: undefined });
      }
      done.set(n.id, id);
    }
    const g: Shape = { inputs: this.data.backward!.inputs, outputs: base.outputs.map(([name, id]) => [name, done.get(id) ?? id]) };
    if (this.cache.size > 64) this.cache.clear();
    this.cache.set(k, g);
    return g;
  }
}
