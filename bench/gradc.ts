// The in-process cases at one size: gradc's ways of running the batchnorm backward (the cases of
// `gradc bench batchnorm`, bench/program.ts, on this batch), the hand-written kernels and the
// probe, all on the same batch and gradc's own forward residuals.

import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import { Tensor, type DType } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { compile, type CompiledStats } from "../compile/codegen/compile.js";
import { zooGraph } from "../ops/zoo.js";
import { altBackward, specializeAlt } from "./alt.js";
import { makeBatch, relativeError, type Gradients } from "./data.js";
import { specializeProbe } from "./probe.js";
import { stagedBackward } from "./staged.js";
import { programCases } from "./program.js";

/** One thing to time: `run` does one backward pass; `result` gives its gradients for the check. */
export interface Case {
  id: string;
  run: () => unknown;
  result: () => Gradients;
}

export interface SizeSetup {
  cases: Case[];
  /** The reference for every check: the ordinary alt kernel on gradc's residuals. */
  reference: Gradients;
  /** compile's stats for the float64 fused kernels. */
  fusedStats: CompiledStats;
}

const asGrads = (out: Record<string, Tensor>): Gradients => ({ dx: out.dx.data, dgamma: out.dgamma.data, dbeta: out.dbeta.data });

/** The backward's inputs (residuals from gradc's forward, plus dout) in one dtype. */
function residuals(N: number, D: number, dtype: DType, seed: number) {
  const batch = makeBatch(N, D, seed);
  const cast = (a: Float64Array) => (dtype === "f32" ? Float32Array.from(a) : a);
  const v = vjp(zooGraph("batchnorm", [N, D], dtype));
  const fwdIn = { x: new Tensor(cast(batch.x), [N, D]), gamma: new Tensor(cast(batch.gamma), [D]), beta: new Tensor(cast(batch.beta), [D]) };
  const fwd = evaluate(v.forward, fwdIn);
  const dout = new Tensor(cast(batch.dout), [N, D]);
  const all: Record<string, Tensor> = { ...fwdIn, ...fwd, dout };
  const inputsOf = (g: Graph) => Object.fromEntries(g.inputNames.map((name) => [name, all[name]]));
  return { v, all, inputsOf };
}

export function setupSize(N: number, D: number, seed: number): SizeSetup {
  const { all } = residuals(N, D, "f64", seed);
  const f64 = (name: string) => all[name].data as Float64Array;
  const [dout, xhat, xc, gamma, std] = ["dout", "xhat", "xc", "gamma", "std"].map(f64);
  const reference = altBackward(dout, xhat, gamma, std, N, D);
  const cases: Case[] = [];

  // gradc's own rows are `gradc bench batchnorm`'s backward cases (bench/program.ts) on this batch
  let all32: Record<string, Tensor> | undefined;
  const batchIn = (dtype: DType) => (dtype === "f64" ? all : (all32 ??= residuals(N, D, "f32", seed).all));
  const batchOf = (g: Graph) => batchIn(g.inputs[0].dtype);
  const program = programCases((dtype) => zooGraph("batchnorm", [N, D], dtype), {
    of: "out",
    passes: ["backward"],
    inputs: (g) => Object.fromEntries(g.inputNames.map((k) => [k, batchOf(g)[k]])),
    cotangent: (_, dtype) => batchIn(dtype).dout,
  });
  const byId = (id: string) => program.cases.find((c) => c.id === id)!;
  for (const [id, from] of [
    ["naive", "backward-naive-f64"],
    ["interpreted", "backward-optimized-f64"],
    ["fused", "backward-compiled-f64"],
    ["fused-f32", "backward-compiled-f32"],
  ] as const) {
    const c = byId(from);
    cases.push({ id, run: c.run, result: () => asGrads(c.run()) });
  }
  // the default run copies every output (results are fresh arrays), timed as its own row
  const opt = program.optimized.get("f64")!;
  const copying = compile(opt.graph);
  cases.push({ id: "fused-copy", run: () => copying.run(opt.inputs), result: () => asGrads(copying.run(opt.inputs)) });
  const fusedStats = compile(opt.graph, { reuseOutputs: true }).stats;

  cases.push({ id: "alt", run: () => altBackward(dout, xhat, gamma, std, N, D), result: () => altBackward(dout, xhat, gamma, std, N, D) });
  const buf = { dout, xhat, gamma, std, dx: new Float64Array(N * D), dgamma: new Float64Array(D), dbeta: new Float64Array(D) };
  const special = specializeAlt(N, D, buf);
  cases.push({ id: "alt-specialized", run: special, result: () => (special(), { dx: buf.dx, dgamma: buf.dgamma, dbeta: buf.dbeta }) });
  cases.push({ id: "staged", run: () => stagedBackward(dout, xhat, xc, gamma, std, N, D), result: () => stagedBackward(dout, xhat, xc, gamma, std, N, D) });

  // the probe computes nothing meaningful: its "result" is the reference, so its check is vacuous
  const probe = specializeProbe(N, D, { a: new Float64Array(dout), b: new Float64Array(xhat), out: new Float64Array(N * D), acc: new Float64Array(D) });
  cases.push({ id: "probe", run: probe, result: () => reference });
  return { cases, reference, fusedStats };
}

export const checkCase = (c: Case, reference: Gradients): number => relativeError(c.result(), reference);
