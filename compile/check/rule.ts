// checkRule: the soundness check gradc runs on its own rule tables, for one rule. Wherever the rule
// fires, on graphs built from its own pattern, on random graphs and on the normalizations'
// backward graphs, both sides are evaluated with the reference interpreter and compared.

import { GradcError } from "../../core/errors.js";
import { Graph } from "../../core/graph.js";
import { apply, type Node } from "../../core/node.js";
import * as b from "../../core/builder.js";
import { evaluate } from "../../core/evaluate.js";
import { allOps } from "../../core/registry.js";
import { vjp } from "../autodiff/reverse.js";
import { randomCase, randomInputs, seeded, type Rand } from "./random-graphs.js";
import { checkRules, type SoundnessCase } from "../optimize/soundness.js";
import { validateRule } from "../optimize/extend.js";
import type { Pattern, Rule } from "../optimize/rules/index.js";
import { zoo, zooGraph } from "../../ops/zoo.js";

export interface CheckRuleOptions {
  /** Random graphs, and random instances of the rule's pattern (default 200 each). */
  runs?: number;
  /** First seed (default 1); case labels carry their seed. */
  seed?: number;
  /** More graphs where the rule should fire (inputs drawn uniformly from [-2, 2]). */
  graphs?: Graph[];
  /** Tolerated error relative to the magnitude of the values involved (default 1e-12). */
  tolerance?: number;
}

export interface CheckRuleReport {
  rule: string;
  cases: number;
  /** How many times it fired, and the worst error over the firings. */
  firings: number;
  worst: number;
}

/**
 * Check that a rule is sound wherever it fires; throws a GradcError with the failing cases, or when
 * the rule never fired (then pass `graphs` where it applies).
 *
 *   checkRule(rule("log-of-exp", P.log(P.exp(v("x"))), ({ x }) => x))   // { firings: 200, worst: 0, ... }
 */
export function checkRule(r: Rule, opts: CheckRuleOptions = {}): CheckRuleReport {
  validateRule(r, "checkRule");
  const runs = opts.runs ?? 200,
    first = opts.seed ?? 1;
  const cases: SoundnessCase[] = [];
  for (let seed = first; seed < first + runs; seed++) {
    const inst = instance(r.pattern, seeded(seed));
    if (inst) cases.push({ ...inst, label: `pattern instance seed ${seed}` });
    cases.push({ ...randomCase(seed), label: `random graph seed ${seed}` });
  }
  for (const name of Object.keys(zoo)) cases.push(backwardCase(name, smallShapes[name] ?? zoo[name].shape, first));
  (opts.graphs ?? []).forEach((graph, k) => cases.push({ graph, inputs: randomInputs(graph, seeded(first + k)), label: `graphs[${k}]` }));
  const { firings, failures } = checkRules([r], cases, opts.tolerance ?? 1e-12);
  if (failures.length) {
    const shown = failures
      .slice(0, 3)
      .map((f) => `  error ${f.error} at ${f.where}`)
      .join("\n");
    throw new GradcError(
      `checkRule(${r.name}): unsound: the two sides differ in ${failures.length} of ${firings.length} firings\n${shown}${firstCase(cases, failures[0].where)}`,
    );
  }
  if (firings.length === 0) {
    throw new GradcError(
      `checkRule(${r.name}): the rule never fired on ${cases.length} graphs (its pattern's instances, random graphs, the normalizations): pass { graphs } where it applies`,
    );
  }
  return { rule: r.name, cases: cases.length, firings: firings.length, worst: Math.max(...firings.map((f) => f.error)) };
}

/** The first failing case in full, when it is small enough to read. */
function firstCase(cases: readonly SoundnessCase[], where: string): string {
  const c = cases.find((k) => k.label !== undefined && where.startsWith(`${k.label}: `));
  if (!c || c.graph.size > 12 || Object.values(c.inputs).some((t) => t.size > 12)) return "";
  const values = Object.entries(c.inputs).map(([k, t]) => `  ${k} = ${JSON.stringify(Array.from(t.data, (x) => +x.toPrecision(4)))}`);
  return `\nthe first case (${c.label}):\n${c.graph.toString().replace(/^/gm, "  ")}\n${values.join("\n")}`;
}

/**
 * A graph that is the pattern itself: each variable an input (or a positive value built from one,
 * so that guards asking for positivity can pass), each op applied to its arguments; `any` tries an
 * elementwise op of the right arity. Null when the pattern needs attributes (sum, reshape, ...).
 */
function instance(p: Pattern, rand: Rand): Omit<SoundnessCase, "label"> | null {
  const shapes = [[3, 4], [5], []];
  const shape = shapes[Math.floor(rand() * shapes.length)];
  const inputs: Node[] = [];
  const vars = new Map<string, Node>();
  const build = (q: Pattern): Node => {
    if ("var" in q) {
      let x = vars.get(q.var);
      if (!x) {
        const raw = b.input(`${q.var.replace(/[^A-Za-z0-9_]/g, "_")}_${inputs.length}`, shape);
        inputs.push(raw);
        const k = Math.floor(rand() * 3);
        x = k === 0 ? raw : k === 1 ? b.exp(raw) : b.add(b.square(raw), 1);
        vars.set(q.var, x);
      }
      return x;
    }
    const args = q.args.map(build);
    if (q.op !== "*") return apply(q.op, args, {});
    const candidates = allOps().filter((d) => d.kind === "elementwise" && d.arity === args.length && d.vjp && d.name !== "stopGradient");
    return apply(candidates[Math.floor(rand() * candidates.length)].name, args, {});
  };
  let root: Node;
  try {
    root = build(p);
  } catch (e) {
    if (e instanceof GradcError) return null;
    throw e;
  }
  const graph = new Graph(inputs, { out: root });
  return { graph, inputs: randomInputs(graph, rand) };
}

const smallShapes: Record<string, number[]> = {
  batchnorm: [7, 3],
  "spatial-batchnorm": [3, 2, 2, 3],
  layernorm: [4, 5],
  rmsnorm: [3, 6],
  groupnorm: [2, 4, 2, 2],
};

/** A normalization's backward from vjp, its residuals computed by its forward on random inputs. */
function backwardCase(name: string, shape: readonly number[], seed: number): SoundnessCase {
  const rand = seeded(seed);
  const { forward, backward } = vjp(zooGraph(name, shape));
  const fin = randomInputs(forward, rand);
  const fout = evaluate(forward, fin);
  const more = randomInputs(backward, rand);
  const inputs = Object.fromEntries(backward.inputs.map((x) => [x.name, fout[x.name] ?? fin[x.name] ?? more[x.name]]));
  // the forward's outputs, which an optimized backward may read
  for (const name of Object.keys(backward.facts)) inputs[name] ??= fout[name];
  return { graph: backward, inputs, label: `${name} backward seed ${seed}` };
}
