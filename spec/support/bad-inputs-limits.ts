// The bad-input catalogue, issue 27's second pass continued: sizes compile would loop over where
// evaluate refuses, names transforms generate, and failures that were a raw TypeError or
// RangeError. spec/support/bad-inputs.ts appends these entries.

import { trace } from "../../core/trace.js";
import { evaluate } from "../../core/evaluate.js";
import { concat, slice } from "../../core/indexing.js";
import { compile } from "../../compile/codegen/compile.js";
import { grad } from "../../compile/autodiff/reverse.js";
import { hessian } from "../../compile/autodiff/jacobian.js";
import { jvp } from "../../compile/autodiff/forward.js";
import { RandomState } from "../../nn/random.js";
import { FullyConnectedNet } from "../../nn/net.js";
import type { BadInput } from "./bad-inputs.js";
import { aFile, gradc, tmp } from "./bad-inputs.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** A module file in the catalogue's scratch folder, for the CLI entries. */
const moduleFile = (name: string, text: string): string => {
  const f = join(tmp(), name);
  writeFileSync(f, text);
  return f;
};
const exportJson = (out: string) => gradc("export", "batchnorm", "--format", "json", "--shape", "4,3", "--out", out);

const abbc = () => trace({ a: [], a_b: [], b_c: [], c: [] }, ({ a, a_b, b_c, c }) => a.mul(a_b).mul(b_c).mul(c));

export const limitInputs: BadInput[] = [
  {
    group: "sizes",
    input: "compile(trace({ x: [] }, ({ x }) => x.broadcastTo([1e12]).sum())) (was: a 1e12-iteration loop)",
    run: () => compile(trace({ x: [] }, ({ x }) => x.broadcastTo([1e12]).sum())),
    expect: ["compile:", "1000000000000 elements", "4294967296", "broadcastTo[shape=[1000000000000]]"],
  },
  {
    group: "names",
    input: "hessian(g) of inputs a, a_b, b_c, c (was: 15 blocks, hess_a_b_c twice)",
    run: () => hessian(abbc()),
    expect: ["hessian:", '("a", "b_c")', '("a_b", "c")', '"hess_a_b_c"'],
  },
  {
    group: "names",
    input: 'grad(g, { wrt: ["x", "x"] })',
    run: () =>
      grad(
        trace({ x: [3] }, ({ x }) => x.exp().sum()),
        { wrt: ["x", "x"] },
      ),
    expect: ["grad:", '"x" twice'],
  },
  {
    group: "names",
    cli: true,
    input: 'gradc inspect batchnorm --wrt x,x (was: "clashes with an output")',
    run: () => gradc("inspect", "batchnorm", "--wrt", "x,x"),
    expect: ["inspect:", '"x" twice'],
  },
  {
    group: "unclear",
    input: 'random("abc") (was: TypeError seed.forEach is not a function)',
    run: () => new RandomState("abc" as never),
    expect: ["RandomState.seed:", "integer in [0, 2**32 - 1]", '"abc"'],
  },
  {
    group: "unclear",
    input: "random(1).randn(1e10) (was: RangeError)",
    run: () => new RandomState(1).randn(1e10),
    expect: ["RandomState.standardNormal:", "10000000000 f64 elements"],
  },
  {
    group: "unclear",
    input: "evaluate(g, { x: [1n, 2n] }) (BigInt values; was: TypeError from JSON.stringify)",
    run: () =>
      evaluate(
        trace({ x: [2] }, ({ x }) => x.sum()),
        { x: [1n, 2n] as never },
      ),
    expect: ["evaluate:", 'input "x"', "BigInt 1n", "Number(...)"],
  },
  {
    group: "unclear",
    input: "new FullyConnectedNet([1e9]) (was: RangeError)",
    run: () => new FullyConnectedNet([1e9]),
    expect: ["FullyConnectedNet:", "W1", "[3072, 1000000000]", "more than a tensor can hold"],
  },
  {
    group: "unclear",
    input: 'new FullyConnectedNet([10], { dtype: "f16" }) (was: accepted, failing later)',
    run: () => new FullyConnectedNet([10], { dtype: "f16" as never }),
    expect: ["FullyConnectedNet:", "dtype", '"f16"'],
  },
  {
    group: "unclear",
    input: "compile(g, { threads: true, native: false }) (was: helper.load is not a function at run)",
    run: () =>
      compile(
        trace({ x: [4] }, ({ x }) => x.exp()),
        { threads: true as never, native: false },
      ),
    expect: ["compile:", "option threads", "helperThread()", "boolean true"],
  },
  {
    group: "unclear",
    input: 'compile(g, { wasm: "no" })',
    run: () =>
      compile(
        trace({ x: [4] }, ({ x }) => x.exp()),
        { wasm: "no" as never },
      ),
    expect: ["compile:", "option wasm", "true or false"],
  },
  {
    group: "unclear",
    input: "trace({ x: a rank-5000 shape of ones }, ...) (was: a stack overflow or minutes in compile)",
    run: () => trace({ x: new Array(5000).fill(1) }, ({ x }) => x.sum()),
    expect: ["trace:", 'input "x"', "rank 5000", "at most 64 axes"],
  },
  {
    group: "unclear",
    input: 'jvp(g, { wrt: "x" }) (was: TypeError)',
    run: () =>
      jvp(
        trace({ x: [2] }, ({ x }) => x.exp()),
        { wrt: "x" as never },
      ),
    expect: ["jvp:", "{ wrt } must be a list", '["x"]'],
  },
  {
    group: "symbolic",
    input: 'trace({ x: ["N", 3] }, ({ x }) => slice(x, "1:")) (was: traced, then failed naming 1048573)',
    run: () => trace({ x: ["N", 3] }, ({ x }) => slice(x, "1:")),
    expect: ["slice:", "symbolic size N", "got 1:N:1", /^(?![\s\S]*104857)/],
  },
  {
    group: "symbolic",
    input: 'trace({ x: ["N", 3] }, ({ x }) => slice(x, "-1"))',
    run: () => trace({ x: ["N", 3] }, ({ x }) => slice(x, "-1")),
    expect: ["slice:", "symbolic size N", "got N-1:N:1", /^(?![\s\S]*104857)/],
  },
  {
    group: "symbolic",
    input: 'trace({ x: ["N", 3], y: [2, 3] }, ({ x, y }) => concat([x, y], 0)) (was: shape [1048575,3])',
    run: () => trace({ x: ["N", 3], y: [2, 3] }, ({ x, y }) => concat([x, y], 0)),
    expect: ["concat:", "N + 2", "one symbolic size", /^(?![\s\S]*104857)/],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc inspect tla.mjs (a top-level await that never settles; was: nothing printed, exit 0)",
    run: () => gradc("inspect", moduleFile("tla.mjs", "await new Promise(() => {});\nexport default 1;\n")),
    expect: ["inspect:", "tla.mjs never finished loading", "top-level await"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc inspect promise.mjs (export default Promise.resolve({ inputs, fn }))",
    run: () => gradc("inspect", moduleFile("promise.mjs", "export default Promise.resolve({ inputs: { x: [3] }, fn: ({ x }) => x.sum() });\n")),
    expect: ["inspect:", "export default is a Promise", "await it"],
  },
  {
    group: "cli",
    cli: true,
    input: 'gradc inspect getter.mjs (export default { get inputs() { throw new Error("boom") }, fn })',
    run: () => gradc("inspect", moduleFile("getter.mjs", "export default { get inputs() { throw new Error('boom'); }, fn: ({ x }) => x.sum() };\n")),
    expect: ["inspect:", 'reading its "inputs" threw', "boom"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc inspect proxy.mjs (export default a Proxy whose traps throw)",
    run: () =>
      gradc(
        "inspect",
        moduleFile(
          "proxy.mjs",
          "export default new Proxy({}, { get() { throw new TypeError('trap'); }, getPrototypeOf() { throw new TypeError('proto-trap'); } });\n",
        ),
      ),
    expect: ["inspect:", "proxy.mjs", "threw", "trap"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc inspect node.mjs (export default g.outputs.out, a single node)",
    run: () => gradc("inspect", moduleFile("node.mjs", "import { trace } from 'gradc';\nexport default trace({ x: [3] }, ({ x }) => x.sum()).outputs.out;\n")),
    expect: ["inspect:", "a single node", "{ inputs, fn }"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc export batchnorm --format json --out /proc/x.json (was: a stack trace)",
    run: () => exportJson("/proc/x.json"),
    expect: ["export:", "--out /proc/x.json", "not writable"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc export batchnorm --format json --out FILE/x.json (was: a stack trace)",
    run: () => exportJson(join(aFile(), "x.json")),
    expect: ["export:", "a-file is a file, not a folder"],
  },
  {
    group: "cli",
    cli: true,
    input: "gradc export batchnorm --format json --out /dev/full (was: a stack trace)",
    run: () => exportJson("/dev/full"),
    expect: ["export:", "--out /dev/full", "ENOSPC"],
  },
];
