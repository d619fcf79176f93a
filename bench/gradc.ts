// The in-process cases at one size: gradc's three ways of running the batchnorm backward, the
// hand-written kernels and the probe, all on the same batch and gradc's own forward residuals.

import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import { Tensor, type DType } from "../core/tensor.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { compile, type CompiledStats } from "../compile/codegen/compile.js";
import { optimize } from "../compile/optimize/optimize.js";
import { zooGraph } from "../ops/zoo.js";
import { altBackward, specializeAlt } from "./alt.js";
import { makeBatch, relativeError, type Gradients } from "./data.js";
import { specializeProbe } from "./probe.js";
import { stagedBackward } from "./staged.js";

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
  const { v, all, inputsOf } = residuals(N, D, "f64", seed);
  const f64 = (name: string) => all[name].data as Float64Array;
  const [dout, xhat, xc, gamma, std] = ["dout", "xhat", "xc", "gamma", "std"].map(f64);
  const reference = altBackward(dout, xhat, gamma, std, N, D);
  const cases: Case[] = [];

  const backward = v.backward;
  const optimized = optimize(backward);
  const naiveIn = inputsOf(backward);
  const optIn = inputsOf(optimized);
  cases.push({ id: "naive", run: () => evaluate(backward, naiveIn), result: () => asGrads(evaluate(backward, naiveIn)) });
  cases.push({ id: "interpreted", run: () => evaluate(optimized, optIn), result: () => asGrads(evaluate(optimized, optIn)) });

  // reuseOutputs: results are views of the executable's buffers, as the hand-specialized kernel
  // writes into fixed buffers; the default run copies every output (timed as its own row)
  const exe = compile(optimized, { reuseOutputs: true });
  const fusedStats = exe.stats;
  cases.push({ id: "fused", run: () => exe.run(optIn), result: () => asGrads(exe.run(optIn)) });
  const copying = compile(optimized);
  cases.push({ id: "fused-copy", run: () => copying.run(optIn), result: () => asGrads(copying.run(optIn)) });
  const r32 = residuals(N, D, "f32", seed);
  const opt32 = optimize(r32.v.backward);
  const exe32 = compile(opt32, { reuseOutputs: true });
  const in32 = r32.inputsOf(opt32);
  cases.push({ id: "fused-f32", run: () => exe32.run(in32), result: () => asGrads(exe32.run(in32)) });

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
