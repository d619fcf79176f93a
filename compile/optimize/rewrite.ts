// The rewrite engine: greedy, bottom-up, to a fixpoint. Each node is normalized after its inputs;
// the first rule (in table order) that matches and whose guard passes replaces it, and the
// replacement is normalized in turn. Limits on rule applications, nodes built and time; the result
// says why it stopped. In traced mode every application that changes the graph is recorded with
// its law, the matched subexpression before and after, what cancelled, and the graph after it.

import { toposort, type Graph } from "../../core/graph.js";
import { apply, inheritScope, type Node } from "../../core/node.js";
import { match, type Context, type Match, type Rule } from "./rules/rule.js";
import { rebuild, Timeline, type RewriteStep } from "./trace.js";
import { compareLocal, costOf, exclusiveCone, localCost } from "./accept.js";
import { checkReplacement } from "./replacement.js";

export type StopReason = "saturated" | "iteration-limit" | "node-limit" | "time-limit";

export type { RewriteStep } from "./trace.js";

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
  /** Traced mode: the graphs after the steps, as substitutions on the graph being rewritten. */
  private readonly timeline?: Timeline;
  private readonly baseNodes?: Set<Node>;
  /** The entries of done that replace a node by another (traced mode): kept as done grows. */
  private readonly changed = new Map<Node, Node>();
  /** Replacements being normalized (node, original, replacement), innermost last: the traced graph shows them. */
  private readonly pending: [Node, Node, Node][] = [];
  /** The substitution on the base as of the last step: base node -> its value then. */
  private readonly recorded = new Map<Node, Node>();
  /** Each step's entries of `recorded` before it (undefined: none), to take a step back. */
  private readonly undo: [Node, Node | undefined][][] = [];
  /** Base nodes whose entry in `changed` moved since the last step was recorded. */
  private readonly dirty = new Set<Node>();
  /** The base nodes the last record's pending replacements mapped (gone once those are normalized). */
  private overlaid: Node[] = [];
  /** Every base node a record looked at, in order: what to look at again when steps are taken back. */
  private readonly seen: Node[] = [];
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
    this.strict = opts.strict ?? false;
    if (opts.traceFrom) {
      this.timeline = new Timeline(opts.traceFrom);
      this.baseNodes = new Set(opts.traceFrom.nodes());
    }
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
    if (!this.timeline || k.isInput) return;
    if (k === v) this.changed.delete(k);
    else this.changed.set(k, v);
    if (this.baseNodes!.has(k)) this.dirty.add(k);
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
      const mark = this.mark();
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
      const kept = rules[index].cancellationHazard
        ? after[0] <= before[0] && after[1] < before[1]
        : this.strict
          ? after[0] <= before[0] && after[1] <= before[1] && after[2] <= before[2]
          : compareLocal(after, before, 2) <= 0;
      if (kept) return result;
      // costlier here: forget the replacement's trace and try the next rule
      this.rejected++;
      this.takeBack(mark);
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
      if (this.timeline) this.record(r, mt, original, out);
      return [out, i];
    }
    return null;
  }

  /**
   * Record a step: the entries of the substitution on the base that it changes, looked up among
   * the base nodes touched since the last record (not the whole graph). A step that changes no
   * entry changes nothing a reader can see and is not recorded.
   */
  private record(rule: Rule, mt: Match, original: Node, out: Node): void {
    const overlay = this.overlay(mt.root, original, out);
    const look = new Set([...this.dirty, ...this.overlaid, ...overlay.keys()].filter((k) => this.baseNodes!.has(k) && !k.isInput));
    this.dirty.clear();
    this.overlaid = [...look].filter((k) => overlay.has(k));
    this.seen.push(...look);
    const substitution: [Node, Node | null][] = [];
    const undo: [Node, Node | undefined][] = [];
    for (const k of look) {
      const v = overlay.get(k) ?? this.changed.get(k);
      const now = v === k ? undefined : v;
      const was = this.recorded.get(k);
      if (now === was) continue;
      substitution.push([k, now ?? null]);
      undo.push([k, was]);
      if (now) this.recorded.set(k, now);
      else this.recorded.delete(k);
    }
    if (!substitution.length) return;
    const matched = [
      mt.root,
      ...Object.entries(mt)
        .filter(([k]) => k !== "root")
        .map(([, n]) => n),
    ];
    this.undo.push(undo);
    this.steps.push(
      this.timeline!.push({ rule: rule.name, law: rule.law, group: rule.group, at: mt.root, replacement: out, matched: [...new Set(matched)], substitution }),
    );
  }

  /** The step's own entries over `changed`: the node replaced, and each pending replacement as it now reads. */
  private overlay(root: Node, original: Node, out: Node): Map<Node, Node> {
    const overlay = new Map([
      [root, out],
      [original, out],
    ]);
    const get = (x: Node) => overlay.get(x) ?? this.changed.get(x);
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const [m, n, fired] = this.pending[i];
      const now = substituteWith(fired, get);
      overlay.set(m, now);
      overlay.set(n, now);
    }
    return overlay;
  }

  /** Where the trace stands, to take back the steps of a replacement that is not kept. */
  private mark(): { steps: number; seen: number; overlaid: Node[] } {
    return { steps: this.steps.length, seen: this.seen.length, overlaid: this.overlaid };
  }

  private takeBack(mark: { steps: number; seen: number; overlaid: Node[] }): void {
    if (!this.timeline) return;
    for (let i = this.undo.length - 1; i >= mark.steps; i--) {
      for (const [k, was] of this.undo[i]) {
        if (was) this.recorded.set(k, was);
        else this.recorded.delete(k);
      }
    }
    // every entry looked at since may differ from the restored substitution now: look again
    for (const k of [...this.seen.slice(mark.seen), ...this.overlaid]) this.dirty.add(k);
    this.seen.length = mark.seen;
    this.overlaid = mark.overlaid;
    this.undo.length = mark.steps;
    this.steps.length = mark.steps;
    this.timeline.truncate(mark.steps);
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

/** `root` with every node `get` maps replaced (and everything above them rebuilt). */
function substituteWith(root: Node, get: (n: Node) => Node | undefined): Node {
  const hit = get(root);
  if (hit) return hit;
  const done = new Map<Node, Node>();
  const value = (x: Node) => done.get(x) ?? get(x) ?? x;
  for (const n of toposort([root], (m) => get(m) !== undefined)) {
    const ins = n.inputs.map(value);
    if (ins.every((x, i) => x === n.inputs[i])) {
      done.set(n, n);
      continue;
    }
    const out = apply(n.op, ins, n.attrs);
    inheritScope(n, out);
    done.set(n, out);
  }
  return done.get(root)!;
}
