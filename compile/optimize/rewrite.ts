// The rewrite engine: greedy, bottom-up, to a fixpoint. Each node is normalized after its inputs;
// the first rule (in table order) that matches and whose guard passes replaces it, and the
// replacement is normalized in turn. Limits on rule applications, nodes built and time; the result
// says why it stopped. In traced mode every application that changes the graph is recorded with
// its law, the matched subexpression before and after, what cancelled, and the graph after it.

import { Graph, substitute, toposort } from "../../core/graph.js";
import { apply, inheritScope, type Node } from "../../core/node.js";
import { match, type Context, type Match, type Rule, type RuleGroup } from "./rules/rule.js";
import { describeStep, type StepText } from "./trace.js";
import { compareLocal, costOf, exclusiveCone, localCost } from "./accept.js";
import { checkReplacement } from "./replacement.js";

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
  /**
   * The same graph as a substitution on `base` (the graph the rewriting started from): the entries
   * (base node -> its current value, or null when an entry is dropped) that changed since the
   * previous step on the same base. Replaying them (core's `substitute`) rebuilds `graph`: the
   * viewer stores steps this way instead of as whole graphs.
   */
  base: Graph;
  substitution: [Node, Node | null][];
}

export interface Limits {
  maxIterations: number;
  maxNodes: number;
  timeLimitMs: number;
}

export interface RewriteOptions {
  /** Record every kept application with the graph after it (the graph being rewritten). */
  traceFrom?: Graph;
  /**
   * Keep a replacement only when it is locally no costlier (compile/optimize/accept.ts), counting
   * the nodes of this graph as already paid for. Without it every rule application is kept (used
   * to simplify a residual's forward definition, where only the final form matters).
   */
  acceptWithin?: Graph;
  /**
   * With acceptance: keep a replacement only when it is no costlier in each of critical path,
   * reduced elements and elementwise work (instead of the first two, lexicographically).
   */
  strict?: boolean;
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
  private readonly baseNodes?: Set<Node>;
  private lastSubstitution = new Map<Node, Node>();
  /** The entries of done that replace a node by another (traced mode): kept as done grows. */
  private readonly changed = new Map<Node, Node>();
  /** Each base node's last rebuilt form and the inputs it was built from: a step rebuilds only what changed. */
  private readonly rebuilt = new Map<Node, { ins: Node[]; out: Node }>();
  /** Replacements being normalized (node, original, replacement), innermost last: the traced graph shows them. */
  private readonly pending: [Node, Node, Node][] = [];
  private readonly traceFrom?: Graph;
  private readonly strict: boolean;
  /** Users of each node of the graph being optimized, when acceptance is on. */
  private readonly users?: Map<Node, Node[]>;
  /** When each normal form was finished: a replacement may share only what existed before it. */
  private readonly finishedAt = new Map<Node, number>();
  private clock = 0;
  /** Rule applications whose replacement was costlier than what it replaced, and so not kept. */
  rejected = 0;

  /** Normal forms of values the graph shares: still computed for every consumer once rewritten. */
  private readonly sharedForms = new Set<Node>();
  private readonly ctx: Context;

  constructor(
    private readonly rules: readonly Rule[],
    ctx: Context,
    private readonly limits: Limits,
    opts: RewriteOptions = {},
  ) {
    // a value the graph computes for several consumers stays at hand in its normal form (a bias
    // gradient reads dz, which the weight's gradient needs too: sum(dz), not a new matmul)
    const shared = ctx.shared;
    this.ctx = shared ? { ...ctx, shared: (n) => shared(n) || this.sharedForms.has(n) } : ctx;
    this.traceFrom = opts.traceFrom;
    this.strict = opts.strict ?? false;
    this.snapshot = opts.traceFrom;
    if (opts.traceFrom) this.baseNodes = new Set(opts.traceFrom.nodes());
    if (opts.acceptWithin) {
      this.users = new Map();
      for (const n of opts.acceptWithin.nodes()) {
        if (!this.users.has(n)) this.users.set(n, []);
        for (const x of n.inputs) {
          const us = this.users.get(x) ?? [];
          us.push(n);
          this.users.set(x, us);
        }
      }
      // an output is used by the caller: never exclusively by a node
      for (const out of Object.values(opts.acceptWithin.outputs)) this.users.get(out)?.push(out);
    }
  }

  /** done, and (when traced) the entries that change a node: what a step's graph substitutes. */
  private settle(k: Node, v: Node): void {
    this.done.set(k, v);
    if (!this.traceFrom || k.isInput) return;
    if (k === v) this.changed.delete(k);
    else this.changed.set(k, v);
  }

  /** The normal form of `root`. */
  normalize(root: Node): Node {
    for (const n of toposort([root], (m) => this.done.has(m))) {
      if (this.done.has(n)) continue;
      this.checkTime();
      const ins = n.inputs.map((x) => this.done.get(x) ?? x);
      const m = ins.every((x, i) => x === n.inputs[i]) ? n : this.build(n, ins);
      const known = this.done.get(m);
      if (known) {
        this.settle(n, known);
        continue;
      }
      this.settle(m, m); // in progress: a replacement that contains m sees m itself
      const result = this.rewrite(m, n);
      this.settle(m, result);
      this.settle(n, result);
      if (this.ctx.shared?.(n)) this.sharedForms.add(result);
      this.finishedAt.set(result, this.clock++);
    }
    return this.done.get(root)!;
  }

  /** The normal form of m: the first rule whose normalized replacement is accepted, else m. */
  private rewrite(m: Node, n: Node): Node {
    const rules = this.rules;
    const since = this.clock;
    let freed: Set<Node> | undefined;
    // alive without m: the graph's nodes m does not hold alone, normal forms finished before m
    const alive = (x: Node) => !freed!.has(x) && (this.users!.has(x) || (this.finishedAt.get(x) ?? Infinity) < since);
    for (let from = 0; from < this.rules.length; ) {
      const steps = this.steps.length, snapshot = this.snapshot, lastSubstitution = this.lastSubstitution;
      const fired = this.fire(m, n, from);
      if (!fired) return m;
      const [out, index] = fired;
      this.pending.push([m, n, out]);
      let result: Node;
      try {
        result = this.normalize(out);
      } finally {
        this.pending.pop();
      }
      if (!this.users || result === m) return result;
      freed ??= exclusiveCone(m, this.users);
      const [after, before] = [localCost(result, alive), costOf(m, freed)];
      const kept = rules[index].cancellationHazard ? after[0] <= before[0] && after[1] < before[1]
        : this.strict ? after[0] <= before[0] && after[1] <= before[1] && after[2] <= before[2]
        : compareLocal(after, before, 2) <= 0;
      if (kept) return result;
      // costlier here: forget the replacement's trace and try the next rule
      this.rejected++;
      this.steps.length = steps;
      this.snapshot = snapshot;
      this.lastSubstitution = lastSubstitution;
      from = index + 1;
    }
    return m;
  }

  /** The time limit, checked per node normalized and per node built (so within a long rewrite too). */
  private checkTime(): void {
    if (performance.now() - this.started > this.limits.timeLimitMs) throw new Stop("time-limit");
  }

  private build(n: Node, ins: Node[]): Node {
    if (++this.built > this.limits.maxNodes) throw new Stop("node-limit");
    this.checkTime();
    return apply(n.op, ins, n.attrs);
  }

  private fire(m: Node, original: Node, from: number): [Node, number] | null {
    for (let i = from; i < this.rules.length; i++) {
      const r = this.rules[i];
      const bound = match(r.pattern, m);
      if (!bound) continue;
      const mt = { ...bound, root: m } as Match;
      if (r.guard && !r.guard(mt, this.ctx)) continue;
      const out = checkReplacement(r, m, r.rewrite(mt, this.ctx));
      if (!out || out === m) continue;
      if (++this.iterations > this.limits.maxIterations) throw new Stop("iteration-limit");
      this.checkTime();
      if (this.traceFrom) this.record(r, mt, original, out);
      return [out, i];
    }
    return null;
  }

  private record(rule: Rule, mt: Match, original: Node, out: Node): void {
    const before = this.snapshot!;
    // only the entries that change a node (done holds every node normalized, most unchanged)
    const map = new Map(this.changed);
    map.set(mt.root, out);
    map.set(original, out);
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const [m, n, fired] = this.pending[i];
      const now = substitute([fired], map).get(fired)!;
      map.set(m, now);
      map.set(n, now);
    }
    const graph = rebuild(this.traceFrom!, map, this.rebuilt);
    // A rewrite of a node the outputs no longer reach changes nothing a reader can see.
    if (sameOutputs(before, graph)) return;
    const had = new Set(before.nodes());
    const matched = [mt.root, ...Object.entries(mt).filter(([k]) => k !== "root").map(([, n]) => n)];
    const effective = new Map([...map].filter(([k, v]) => k !== v && !k.isInput && this.baseNodes!.has(k)));
    const substitution: [Node, Node | null][] = [];
    for (const [k, v] of effective) if (this.lastSubstitution.get(k) !== v) substitution.push([k, v]);
    for (const k of this.lastSubstitution.keys()) if (!effective.has(k)) substitution.push([k, null]);
    this.lastSubstitution = effective;
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
      base: this.traceFrom!,
      substitution,
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

/**
 * core's substitute, remembering each node's rebuilt form by the inputs it was rebuilt from (a
 * traced run rebuilds the graph after every step; hash-consing each unchanged parent again cost
 * most of the trace's time).
 */
function substituteMemo(roots: readonly Node[], map: ReadonlyMap<Node, Node>, memo: Map<Node, { ins: Node[]; out: Node }>): Map<Node, Node> {
  const done = new Map<Node, Node>();
  const get = (x: Node) => done.get(x) ?? map.get(x) ?? x;
  for (const n of toposort(roots, (m) => map.has(m))) {
    const ins = n.inputs.map(get);
    if (ins.every((x, i) => x === n.inputs[i])) {
      done.set(n, n);
      continue;
    }
    const hit = memo.get(n);
    if (hit && hit.ins.every((x, i) => x === ins[i])) {
      done.set(n, hit.out);
      continue;
    }
    const out = apply(n.op, ins, n.attrs);
    inheritScope(n, out);
    memo.set(n, { ins, out });
    done.set(n, out);
  }
  for (const r of roots) if (map.has(r)) done.set(r, map.get(r)!);
  return done;
}

/** The graph with processed nodes replaced by their normal forms (inputs unchanged). */
function rebuild(g: Graph, map: ReadonlyMap<Node, Node>, memo?: Map<Node, { ins: Node[]; out: Node }>): Graph {
  const outs = Object.values(g.outputs);
  const safe = new Map([...map].filter(([k, v]) => k !== v && !k.isInput));
  const done = memo ? substituteMemo(outs, safe, memo) : substitute(outs, safe);
  const outputs = Object.fromEntries(Object.entries(g.outputs).map(([k, v]) => [k, done.get(v)!]));
  const used = new Set(toposort(Object.values(outputs)));
  // a forward value the graph's facts define (a forward output) becomes an input once it is read
  const added = [...used].filter((x) => x.isInput && !g.inputs.includes(x) && Object.hasOwn(g.facts, x.name));
  return new Graph([...g.inputs, ...added], outputs, g.facts);
}
