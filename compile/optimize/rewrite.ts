// The rewrite engine: greedy, bottom-up, to a fixpoint. Each node is normalized after its inputs;
// the first rule (in table order) that matches and whose guard passes replaces it, and the
// replacement is normalized in turn. Limits on rule applications, nodes built and time; the result
// says why it stopped. In traced mode every application that changes the graph is recorded with
// its law, the matched subexpression before and after, what cancelled, and the graph after it.

import { Graph, substitute, toposort } from "../../core/graph.js";
import { apply, type Node } from "../../core/node.js";
import { match, type Context, type Match, type Rule, type RuleGroup } from "./rules/rule.js";
import { describeStep, type StepText } from "./trace.js";

export type StopReason = "saturated" | "iteration-limit" | "node-limit" | "time-limit";

export interface RewriteStep extends StepText {
  /** The rule's name, e.g. "sum-of-terms". */
  rule: string;
  /** The rule's law, e.g. "sum(a + b) = sum(a) + sum(b)". */
  law: string;
  group: RuleGroup;
  /** The node the rule replaced and its replacement. */
  at: Node;
  replacement: Node;
  /** The node the rule replaced, then the nodes its pattern bound. */
  matched: Node[];
  /** Nodes of the graph after the step that were not in the graph before it. */
  produced: Node[];
  /** The whole graph after this step. */
  graph: Graph;
}

export interface Limits {
  maxIterations: number;
  maxNodes: number;
  timeLimitMs: number;
}

export interface RewriteResult {
  graph: Graph;
  steps: RewriteStep[];
  stop: StopReason;
  iterations: number;
}

class Stop extends Error {
  constructor(readonly reason: StopReason) {
    super(reason);
  }
}

export class Rewriter {
  private readonly done = new Map<Node, Node>();
  private iterations = 0;
  private built = 0;
  private readonly started = performance.now();
  readonly steps: RewriteStep[] = [];
  private snapshot?: Graph;
  /** Replacements being normalized (node, original, replacement), innermost last: the traced graph shows them. */
  private readonly pending: [Node, Node, Node][] = [];

  constructor(
    private readonly rules: readonly Rule[],
    private readonly ctx: Context,
    private readonly limits: Limits,
    private readonly traceFrom?: Graph,
  ) {
    this.snapshot = traceFrom;
  }

  /** The normal form of `root`. */
  normalize(root: Node): Node {
    for (const n of toposort([root], (m) => this.done.has(m))) {
      if (this.done.has(n)) continue;
      const ins = n.inputs.map((x) => this.done.get(x) ?? x);
      const m = ins.every((x, i) => x === n.inputs[i]) ? n : this.build(n, ins);
      const known = this.done.get(m);
      if (known) {
        this.done.set(n, known);
        continue;
      }
      this.done.set(m, m); // in progress: a replacement that contains m sees m itself
      const fired = this.fire(m, n);
      let result = m;
      if (fired) {
        this.pending.push([m, n, fired]);
        try {
          result = this.normalize(fired);
        } finally {
          this.pending.pop();
        }
      }
      this.done.set(m, result);
      this.done.set(n, result);
    }
    return this.done.get(root)!;
  }

  private build(n: Node, ins: Node[]): Node {
    if (++this.built > this.limits.maxNodes) throw new Stop("node-limit");
    return apply(n.op, ins, n.attrs);
  }

  private fire(m: Node, original: Node): Node | null {
    for (const r of this.rules) {
      const bound = match(r.pattern, m);
      if (!bound) continue;
      const mt = { ...bound, root: m } as Match;
      if (r.guard && !r.guard(mt, this.ctx)) continue;
      const out = r.rewrite(mt, this.ctx);
      if (!out || out === m) continue;
      if (++this.iterations > this.limits.maxIterations) throw new Stop("iteration-limit");
      if (performance.now() - this.started > this.limits.timeLimitMs) throw new Stop("time-limit");
      if (this.traceFrom) this.record(r, mt, original, out);
      return out;
    }
    return null;
  }

  private record(rule: Rule, mt: Match, original: Node, out: Node): void {
    const before = this.snapshot!;
    const map = new Map(this.done);
    map.set(mt.root, out);
    map.set(original, out);
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const [m, n, fired] = this.pending[i];
      const now = substitute([fired], new Map([...map].filter(([k, v]) => k !== v && !k.isInput))).get(fired)!;
      map.set(m, now);
      map.set(n, now);
    }
    const graph = rebuild(this.traceFrom!, map);
    // A rewrite of a node the outputs no longer reach changes nothing a reader can see.
    if (sameOutputs(before, graph)) return;
    const had = new Set(before.nodes());
    const matched = [mt.root, ...Object.entries(mt).filter(([k]) => k !== "root").map(([, n]) => n)];
    this.steps.push({
      rule: rule.name,
      law: rule.law,
      group: rule.group,
      ...describeStep(before, graph, mt.root, out),
      at: mt.root,
      replacement: out,
      matched: [...new Set(matched)],
      produced: graph.nodes().filter((n) => !had.has(n)),
      graph,
    });
    this.snapshot = graph;
  }

  /** Normalize every output; stop early (keeping what was done) at a limit. */
  run(g: Graph): RewriteResult {
    let stop: StopReason = "saturated";
    try {
      for (const out of Object.values(g.outputs)) this.normalize(out);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      stop = e.reason;
    }
    return { graph: rebuild(g, this.done), steps: this.steps, stop, iterations: this.iterations };
  }
}

const sameOutputs = (a: Graph, b: Graph) => Object.keys(a.outputs).every((k) => a.outputs[k] === b.outputs[k]);

/** The graph with processed nodes replaced by their normal forms (inputs unchanged). */
function rebuild(g: Graph, map: ReadonlyMap<Node, Node>): Graph {
  const outs = Object.values(g.outputs);
  const safe = new Map([...map].filter(([k, v]) => k !== v && !k.isInput));
  const done = substitute(outs, safe);
  const outputs = Object.fromEntries(Object.entries(g.outputs).map(([k, v]) => [k, done.get(v)!]));
  const used = new Set(toposort(Object.values(outputs)));
  // a forward value the graph's facts define (a forward output) becomes an input once it is read
  const added = [...used].filter((x) => x.isInput && !g.inputs.includes(x) && Object.hasOwn(g.facts, x.name));
  return new Graph([...g.inputs, ...added], outputs, g.facts);
}
