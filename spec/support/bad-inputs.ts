// The bad-input catalogue: each entry is a mistake a user can make, the code that makes it, and the
// parts its GradcError must name. spec/bad-inputs.test.ts asserts every entry; spec/catalogue.ts
// runs them and writes docs/errors.md (input -> message), so the table comes from real runs.

import "../../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as b from "../../core/builder.js";
import { GradcError } from "../../core/errors.js";
import { evaluate } from "../../core/evaluate.js";
import { Graph } from "../../core/graph.js";
import { Tensor, tensor } from "../../core/tensor.js";
import { trace } from "../../core/trace.js";
import { grad, vjp } from "../../compile/autodiff/reverse.js";
import { compile } from "../../compile/codegen/compile.js";
import { optimize } from "../../compile/optimize/optimize.js";
import { stats } from "../../compile/optimize/stats.js";
import { defineRule, removeRule, rule } from "../../compile/optimize/extend.js";
import { P, v } from "../../compile/optimize/rules/rule.js";
import { defineOp, removeOp, type OpSpec } from "../../ops/define.js";
import { batchnorm } from "../../ops/composites.js";
import { view } from "../../viz/view.js";
import { FullyConnectedNet } from "../../nn/net.js";
import { hostileInputs } from "./bad-inputs-hostile.js";
import { limitInputs } from "./bad-inputs-limits.js";

export interface BadInput {
  /** The area of the catalogue. */
  group: string;
  /** What the user wrote, as code or a command line. */
  input: string;
  /** Make the mistake: throws (a GradcError), or returns a CLI run's stderr and exit status. */
  run: () => unknown;
  /** Parts the message must contain. */
  expect: (string | RegExp)[];
  /** A CLI entry: the run returns { status, stderr } instead of throwing. */
  cli?: boolean;
}

const cliPath = fileURLToPath(new URL("../../cli.js", import.meta.url));
/** Run the CLI as a user does; a hang would show as the 20 s timeout's null status. */
export const gradc = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: "utf8", timeout: 20_000 });

/** Define a user op for one entry and remove it after, so entries do not leak into each other. */
function withOp<T>(spec: OpSpec, use: (op: ReturnType<typeof defineOp>) => T): T {
  try {
    return use(defineOp(spec));
  } finally {
    removeOp(spec.name);
  }
}
function withRule<T>(r: Parameters<typeof defineRule>[0], use: () => T): T {
  defineRule(r);
  try {
    return use();
  } finally {
    removeRule(r.name);
  }
}

const g23 = () => trace({ x: [2, 3] }, ({ x }) => x.exp().sum());
let scratch: string | undefined;
export const tmp = () => (scratch ??= mkdtempSync(join(tmpdir(), "gradc-bad-")));
export const aFile = () => {
  const f = join(tmp(), "a-file");
  writeFileSync(f, "");
  return f;
};

export const badInputs: BadInput[] = [
  // values
  { group: "values", input: "new Tensor(new Float64Array(2), [3])", run: () => new Tensor(new Float64Array(2), [3]), expect: ["Tensor:", "2 values", "[3]"] },
  { group: "values", input: "new Tensor([1, 2], [2])", run: () => new Tensor([1, 2] as never, [2]), expect: ["Tensor:", "Float64Array", "tensor(...)"] },
  {
    group: "values",
    input: "evaluate(g, { x: new Tensor(new Float64Array(5), [2, 3]) })",
    run: () => evaluate(g23(), { x: new Tensor(new Float64Array(5), [2, 3]) }),
    expect: ["Tensor:", "5 values", "[2,3]"],
  },
  {
    group: "values",
    input: "trace({ x: [0, 3] }, ({ x }) => x.max(0))",
    run: () => trace({ x: [0, 3] }, ({ x }) => x.max(0)),
    expect: [/^max:/, "empty", "%x: f64[0,3]"],
  },
  {
    group: "values",
    input: "batchnorm(x, gamma, beta) with x: [0, 3]",
    run: () => trace({ x: [0, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out),
    expect: [/^batchnorm:/, "0 elements", "%x: f64[0,3]"],
  },
  {
    group: "values",
    input: "batchnorm(x, gamma, beta, { eps: NaN })",
    run: () => trace({ x: [4, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta, { eps: NaN }).out),
    expect: [/^batchnorm:/, "eps", "NaN"],
  },
  {
    group: "values",
    input: "batchnorm(x, gamma, beta, { eps: -1e-5 })",
    run: () => trace({ x: [4, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta, { eps: -1e-5 }).out),
    expect: [/^batchnorm:/, "eps", "-0.00001"],
  },
  {
    group: "values",
    input: "net.loss(X, [7, 0]) for a net with 3 classes",
    run: () =>
      new FullyConnectedNet([4], { inputDim: 2, numClasses: 3, seed: 1 }).loss(
        tensor([
          [1, 2],
          [3, 4],
        ]),
        [7, 0],
      ),
    expect: ["label 7", "0..2"],
  },
  // public entries
  { group: "entries", input: "evaluate(g, null)", run: () => evaluate(g23(), null as never), expect: ["evaluate:", "inputs", "null"] },
  { group: "entries", input: "evaluate(null, {})", run: () => evaluate(null as never, {}), expect: ["evaluate:", "Graph", "null"] },
  { group: "entries", input: "compile(g).run(null)", run: () => compile(g23()).run(null as never), expect: ["compile(...).run:", "inputs", "null"] },
  { group: "entries", input: "compile(undefined)", run: () => compile(undefined as never), expect: ["compile:", "Graph", "undefined"] },
  { group: "entries", input: 'optimize("x")', run: () => optimize("x" as never), expect: ["optimize:", "Graph", 'a string "x"'] },
  { group: "entries", input: "grad(null)", run: () => grad(null as never), expect: ["grad:", "Graph", "null"] },
  { group: "entries", input: 'grad(g, { wrt: "x" })', run: () => grad(g23(), { wrt: "x" as never }), expect: ["grad:", "wrt", "list"] },
  { group: "entries", input: "vjp(3)", run: () => vjp(3 as never), expect: ["vjp:", "Graph", "a number 3"] },
  { group: "entries", input: "stats({})", run: () => stats({} as never), expect: ["stats:", "Graph", "an object"] },
  { group: "entries", input: "view(null)", run: () => view(null as never), expect: ["view:", "Graph", "null"] },
  {
    group: "entries",
    input: "new Graph([x], { out: 3 })",
    run: () => new Graph([b.input("x", [2])], { out: 3 as never }),
    expect: ["Graph:", 'output "out"', "a number 3"],
  },
  { group: "entries", input: "new Graph(null, {})", run: () => new Graph(null as never, {}), expect: ["Graph:", "inputs", "null"] },
  {
    group: "entries",
    input: "evaluate(g, { x }) where g = trace({ x: [1, 1] }, ({ x }) => x.broadcastTo([1e5, 1e5]))",
    run: () =>
      evaluate(
        trace({ x: [1, 1] }, ({ x }) => x.broadcastTo([1e5, 1e5])),
        { x: tensor([[1]]) },
      ),
    expect: ["allocate:", "10000000000 f64", "at %0 = broadcastTo", "[100000,100000]"],
  },
  {
    group: "entries",
    input: "compile(trace({ x: [1, 1] }, ({ x }) => x.broadcastTo([1e5, 1e5]).exp()))",
    run: () => compile(trace({ x: [1, 1] }, ({ x }) => x.broadcastTo([1e5, 1e5]).exp())),
    expect: ["compile:", "10000000000 elements", "f64[100000,100000]"],
  },
  // defineOp
  {
    group: "defineOp",
    input: "defineOp({ name: 'twice', arity: 1, scalar: (x) => 2 * x, expr: ([x]) => `3 * ${x}`, vjp })",
    run: () => withOp({ name: "twice", arity: 1, scalar: (x) => 2 * x, expr: ([x]) => `3 * ${x}`, vjp: (g) => [g.mul(2)] }, () => 0),
    expect: ["defineOp(twice):", "expr and scalar disagree", "3 * a0"],
  },
  {
    group: "defineOp",
    input: "defineOp({ name: 'plus', arity: 1, scalar: (x) => x + 1, expr: ([x, y]) => `${x} + ${y}`, vjp })",
    run: () => withOp({ name: "plus", arity: 1, scalar: (x) => x + 1, expr: ([x, y]) => `${x} + ${y}`, vjp: (g) => [g] }, () => 0),
    expect: ["defineOp(plus):", "disagree", "undefined"],
  },
  {
    group: "defineOp",
    input: 'an "other" op whose impl is right only at the probe shape [2,3], evaluated on [4,3]',
    run: () =>
      withOp(shortKernel("rowsum"), (op) =>
        evaluate(
          trace({ x: [4, 3] }, ({ x }) => op(x)),
          { x: new Tensor(new Float64Array(12), [4, 3]) },
        ),
      ),
    expect: ["evaluate:", "rowsum", "returned f64[2,1]", "f64[4,1]"],
  },
  {
    group: "defineOp",
    input: "the same op compiled and run on [4,3]",
    run: () =>
      withOp(shortKernel("rowsum"), (op) => compile(trace({ x: [4, 3] }, ({ x }) => op(x).exp())).run({ x: new Tensor(new Float64Array(12), [4, 3]) })),
    expect: ["compile(...).run:", "rowsum", "returned f64[2,1]", "f64[4,1]"],
  },
  {
    group: "defineOp",
    input: "vjp: () => [] (no cotangent for the one input)",
    run: () => withOp({ name: "noct", arity: 1, scalar: (x) => 2 * x, vjp: () => [] }, (op) => grad(trace({ x: [3] }, ({ x }) => op(x).sum()))),
    expect: ["grad:", "vjp rule of op noct", "0 cotangent(s) for 1 input(s)", "null"],
  },
  {
    group: "defineOp",
    input: "vjp returning a [3,2] cotangent for a [2,3] input",
    run: () =>
      withOp({ name: "swapped", arity: 1, scalar: (x) => 2 * x, vjp: (g) => [g.T.mul(2)] }, (op) => grad(trace({ x: [2, 3] }, ({ x }) => op(x).sum()))),
    expect: ["grad:", "vjp rule of op swapped", "[3,2]", "[2,3]"],
  },
  {
    group: "defineOp",
    input: "vjp: (g) => [2] (a number)",
    run: () => withOp({ name: "numct", arity: 1, scalar: (x) => 2 * x, vjp: () => [2 as never] }, (op) => grad(trace({ x: [3] }, ({ x }) => op(x).sum()))),
    expect: ["grad:", "vjp rule of op numct", "number 2", "builder ops"],
  },
  {
    group: "defineOp",
    input: "vjp: (g) => [undefined] (a missing cotangent)",
    run: () =>
      withOp({ name: "undefct", arity: 1, scalar: (x) => 2 * x, vjp: () => [undefined as never] }, (op) => grad(trace({ x: [3] }, ({ x }) => op(x).sum()))),
    expect: ["grad:", "undefct", "explicit null"],
  },
  {
    group: "defineOp",
    input: "vjp returning an f32 cotangent for an f64 input",
    run: () => withOp({ name: "f32ct", arity: 1, scalar: (x) => 2 * x, vjp: (g) => [g.cast("f32")] }, (op) => grad(trace({ x: [3] }, ({ x }) => op(x).sum()))),
    expect: ["grad:", "f32ct", "f32 cotangent", "f64"],
  },
  // defineRule
  {
    group: "defineRule",
    input: 'rule("log-of-exq", P.log(P.exq(v("x"))), ({ x }) => x) (a misspelt op)',
    run: () => rule("log-of-exq", P.log(P.exq(v("x"))), ({ x }) => x),
    expect: ["P.exq:", 'no op named "exq"', 'did you mean "exp"'],
  },
  {
    group: "defineRule",
    input: 'defineRule(rule("exp-in-f32", P.exp(v("x")), ({ x }) => x.cast("f32").exp().cast("f64").cast("f32")))',
    run: () =>
      withRule(
        rule("exp-in-f32", P.exp(v("x")), ({ x }) => b.cast(b.exp(b.cast(x, "f32")), "f32")),
        () => optimize(g23()),
      ),
    expect: ["rule exp-in-f32", "shape and dtype f64[2,3]", "f32[2,3]"],
  },
  {
    group: "defineRule",
    input: 'defineRule(rule("exp-summed", P.exp(v("x")), ({ x }) => x.exp().sum(0, true)))',
    run: () =>
      withRule(
        rule("exp-summed", P.exp(v("x")), ({ x }) => b.sum(b.exp(x), 0, true)),
        () => optimize(g23()),
      ),
    expect: ["rule exp-summed", "f64[1,3]", "f64[2,3]"],
  },
  {
    group: "defineRule",
    input: 'defineRule(rule("exp-is-one", P.exp(v("x")), () => 1))',
    run: () =>
      withRule(
        rule("exp-is-one", P.exp(v("x")), () => 1 as never),
        () => optimize(g23()),
      ),
    expect: ["rule exp-is-one", "graph node", "number 1"],
  },
  // CLI
  {
    group: "cli",
    cli: true,
    input: "gradc experiment deep --quick --out FILE (an existing file)",
    run: () => gradc("experiment", "deep", "--quick", "--out", aFile()),
    expect: ["experiment:", "--out", "is a file, not a folder"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc view batchnorm --out FILE/x.html",
    run: () => gradc("view", "batchnorm", "--out", join(aFile(), "x.html")),
    expect: ["view:", "--out", "is a file, not a folder"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc view batchnorm --out /proc/x",
    run: () => gradc("view", "batchnorm", "--out", "/proc/x"),
    expect: ["view:", "--out /proc/x", "not writable"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc view batchnorm --out DIR (an existing folder)",
    run: () => gradc("view", "batchnorm", "--out", tmp()),
    expect: ["view:", "is a folder, not a file"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc experiment deep --epochs 1e20",
    run: () => gradc("experiment", "deep", "--epochs", "1e20"),
    expect: ["experiment:", "--epochs", "1 to 1000", "1e20"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc inspect batchnorm --shape 100000,100000",
    run: () => gradc("inspect", "batchnorm", "--shape", "100000,100000"),
    expect: ["inspect:", "--shape", "1.00e+10 elements"],
  },
  ...hostileInputs,
  ...limitInputs,
];

/** An "other" op whose kernel always returns [2,1]: right at the default probe [2,3] only. */
function shortKernel(name: string): OpSpec {
  return {
    name,
    kind: "other",
    arity: 1,
    vjp: "none",
    shape: ([x]) => ({ shape: [x.shape[0], 1], dtype: x.dtype }),
    impl: ([x]) => new Tensor(new Float64Array([x.data[0] + x.data[1] + x.data[2], x.data[3] + x.data[4] + x.data[5]]), [2, 1]),
  };
}

/** Run one entry: its message (first line kept whole, later lines too), or why it did not fail as it should. */
export function runBadInput(c: BadInput): { message: string; ok: boolean; why?: string } {
  if (c.cli) {
    const r = c.run() as { status: number | null; stderr: string };
    const message = r.stderr.trim().replace(/^gradc: /, "");
    if (r.status !== 2) return { message, ok: false, why: `exit status ${r.status} (expected 2)` };
    if (/\n\s+at .*\.js:\d+/.test(r.stderr)) return { message, ok: false, why: "printed a stack trace" };
    return check(c, message);
  }
  try {
    c.run();
  } catch (e) {
    if (!(e instanceof GradcError)) return { message: String(e), ok: false, why: `not a GradcError: ${e instanceof Error ? e.name : typeof e}` };
    return check(c, e.message);
  }
  return { message: "", ok: false, why: "no error" };
}

function check(c: BadInput, message: string): { message: string; ok: boolean; why?: string } {
  const missing = c.expect.filter((p) => (typeof p === "string" ? !message.includes(p) : !p.test(message)));
  return missing.length ? { message, ok: false, why: `the message does not mention ${missing.join(", ")}` } : { message, ok: true };
}
