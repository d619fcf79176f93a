// What a traced rewrite step records for a reader: the matched subexpression before and after in
// the printer's text form, and which operands truly cancelled. A rule that only rebuilds its
// parents (collect-mul reordering a product) cancels nothing; one whose result no longer uses a
// reduction or input the matched expression used (x * sum(y) / sum(y) = x, sum(xhat) = 0,
// 0 * sum(dout * xhat) dropped) cancelled it.
//
// A traced run records each step as its substitution on the graph the run started from (the
// entries that changed since the previous step), which costs what the step changed. The graph
// after a step, its text and what it produced are rebuilt from those on first use (a Timeline):
// rebuilding the whole graph at every step made recording quadratic in the graph's size.

import { Graph, numbering, toposort } from "../../core/graph.js";
import { apply, formatAttrs, formatNumber, inheritScope, type Node } from "../../core/node.js";
import type { RuleGroup } from "./rules/rule.js";

export interface StepText {
  /** The matched subexpression before the step, nodes the step keeps named by their %k in the graph before. */
  before: string;
  /** The replacement, nodes that existed before named by their %k in the graph after. */
  after: string;
  /** Reductions and inputs of the matched expression the replacement no longer uses: true cancellations. */
  cancelled: Node[];
  /** The same, in text form (numbered in the graph before). */
  cancelledText: string[];
}

/** How deep the text form inlines new or vanished nodes before naming them "...". */
const DEPTH = 4;

export function describeStep(before: Graph, after: Graph, root: Node, out: Node): StepText {
  const under = (n: Node) => new Set(toposort([n]));
  const was = under(root);
  const now = under(out);
  const vanished = new Set([...was].filter((n) => !now.has(n)));
  const fresh = new Set([...now].filter((n) => !was.has(n)));
  // A reduction or an input the result no longer uses is gone, not rebuilt: sums are never
  // recreated by reordering (hash-consing would return the same node), so a vanished one cancelled.
  const gone = (n: Node) => n !== root && (n.isInput || (!n.isConst && n.def.kind === "reduce"));
  const cancelled: Node[] = [];
  const covered = new Set<Node>();
  for (const n of [...vanished].reverse()) {
    if (covered.has(n)) continue;
    if (gone(n)) {
      cancelled.push(n);
      for (const x of toposort([n])) covered.add(x);
    }
  }
  const beforeNames = numbering(before);
  const afterNames = numbering(after);
  return {
    before: inline(root, beforeNames, vanished),
    after: inline(out, afterNames, fresh),
    cancelled,
    cancelledText: cancelled.map((n) => inline(n, beforeNames, new Set([n]))),
  };
}

/** `sum[axes=[0]](mul(%3, %dout))`: nodes in `open` are written out, others named. */
export function inline(n: Node, names: ReadonlyMap<Node, string>, open: ReadonlySet<Node>, depth = DEPTH): string {
  if (n.isInput) return `%${n.name}`;
  if (n.isConst) return formatNumber(n.value);
  const name = names.get(n);
  if (name && !open.has(n)) return name;
  if (depth === 0) return name ?? "...";
  return `${n.op}${formatAttrs(n.attrs)}(${n.inputs.map((x) => inline(x, names, open, depth - 1)).join(", ")})`;
}

/** One rule application as a traced run records it. */
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

/** What a step records when it is taken; the rest of a RewriteStep is derived from it on demand. */
export interface StepRecord {
  rule: string;
  law: string;
  group: RuleGroup;
  at: Node;
  replacement: Node;
  matched: Node[];
  substitution: [Node, Node | null][];
}

type Memo = Map<Node, { ins: Node[]; out: Node }>;

/**
 * The graphs after a run's steps, all substitutions on one base graph: the graph after step k is
 * the base with the substitutions of steps 1..k applied in order. Built on demand, walking forward
 * from the last one built (a reader going through the steps in order pays one rebuild each).
 */
export class Timeline {
  private readonly records: StepRecord[] = [];
  private readonly graphs: (Graph | undefined)[] = [];
  private readonly memo: Memo = new Map();
  /** The substitution in force after `cursor` steps. */
  private readonly map = new Map<Node, Node>();
  private cursor = 0;

  constructor(readonly base: Graph) {}

  get length(): number {
    return this.records.length;
  }

  /** Add a step's record; returns the step, its graph and text built when first read. */
  push(record: StepRecord): RewriteStep {
    this.records.push(record);
    return new TracedStep(record, this, this.records.length);
  }

  /** Forget the steps after the first `n` (a replacement the engine did not keep). */
  truncate(n: number): void {
    this.records.length = Math.min(this.records.length, n);
    this.graphs.length = Math.min(this.graphs.length, n + 1);
    if (this.cursor > n) {
      this.map.clear();
      this.cursor = 0;
    }
  }

  /** The graph after the first k steps (0: the base). */
  graph(k: number): Graph {
    if (k === 0) return this.base;
    const known = this.graphs[k];
    if (known) return known;
    if (k < this.cursor) {
      this.map.clear();
      this.cursor = 0;
    }
    for (; this.cursor < k; this.cursor++) {
      for (const [from, to] of this.records[this.cursor].substitution) {
        if (to) this.map.set(from, to);
        else this.map.delete(from);
      }
    }
    const g = rebuild(this.base, this.map, this.memo);
    this.graphs[k] = g;
    return g;
  }
}

/** A recorded step: the record's fields, and the graph after it, its text and what it produced, built when read. */
class TracedStep implements RewriteStep {
  readonly rule: string;
  readonly law: string;
  readonly group: RuleGroup;
  readonly at: Node;
  readonly replacement: Node;
  readonly matched: Node[];
  readonly substitution: [Node, Node | null][];
  private text?: StepText;
  private made?: Node[];

  constructor(
    record: StepRecord,
    private readonly timeline: Timeline,
    private readonly index: number,
  ) {
    ({
      rule: this.rule,
      law: this.law,
      group: this.group,
      at: this.at,
      replacement: this.replacement,
      matched: this.matched,
      substitution: this.substitution,
    } = record);
  }

  get base(): Graph {
    return this.timeline.base;
  }
  get graph(): Graph {
    return this.timeline.graph(this.index);
  }
  get produced(): Node[] {
    if (!this.made) {
      const had = new Set(this.timeline.graph(this.index - 1).nodes());
      this.made = this.graph.nodes().filter((n) => !had.has(n));
    }
    return this.made;
  }
  private get described(): StepText {
    this.text ??= describeStep(this.timeline.graph(this.index - 1), this.graph, this.at, this.replacement);
    return this.text;
  }
  get before(): string {
    return this.described.before;
  }
  get after(): string {
    return this.described.after;
  }
  get cancelled(): Node[] {
    return this.described.cancelled;
  }
  get cancelledText(): string[] {
    return this.described.cancelledText;
  }
}

/**
 * core's substitute, remembering each node's rebuilt form by the inputs it was rebuilt from (the
 * graphs of successive steps share most of their rebuilt nodes).
 */
function substituteMemo(roots: readonly Node[], map: ReadonlyMap<Node, Node>, memo: Memo): Map<Node, Node> {
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
export function rebuild(g: Graph, map: ReadonlyMap<Node, Node>, memo: Memo = new Map()): Graph {
  const outs = Object.values(g.outputs);
  const safe = new Map([...map].filter(([k, v]) => k !== v && !k.isInput));
  const done = substituteMemo(outs, safe, memo);
  const outputs = Object.fromEntries(Object.entries(g.outputs).map(([k, v]) => [k, done.get(v)!]));
  const used = new Set(toposort(Object.values(outputs)));
  // a forward value the graph's facts define (a forward output) becomes an input once it is read
  const added = [...used].filter((x) => x.isInput && !g.inputs.includes(x) && Object.hasOwn(g.facts, x.name));
  return new Graph([...g.inputs, ...added], outputs, g.facts);
}
