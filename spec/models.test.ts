// Whole models as users write them (examples/models/): for each, the optimized backward and the
// optimized Hessian-vector product never do more work than the derived ones (multiply-adds,
// elementwise work, reduction reads: compile/optimize/work.ts), compute the same values, and the
// optimizer finishes on its own (no time-limit stop).

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { evaluate } from "../core/evaluate.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { mulberry32 } from "../core/mulberry32.js";
import { Tensor } from "../core/tensor.js";
import { trace } from "../core/trace.js";
import { grad } from "../compile/autodiff/reverse.js";
import { hvp } from "../compile/autodiff/jacobian.js";
import { optimize } from "../compile/optimize/optimize.js";
import { work, type Work } from "../compile/optimize/work.js";

interface Model {
  inputs: Record<string, number[]>;
  fn: (xs: Record<string, Node>) => Node;
  wrt: string[];
}

const models = ["mlp-gelu", "causal-attention", "transformer-block", "vae-loss"];
const dir = fileURLToPath(new URL("../../examples/models/", import.meta.url));

/** Inputs drawn once per graph: labels are class indices, everything else uniform in [-0.5, 0.5). */
function inputsFor(g: Graph, seed: number): Record<string, Tensor> {
  const next = mulberry32(seed);
  return Object.fromEntries(
    g.inputs.map((x) => {
      const data = x.name === "y" ? Array.from({ length: x.size }, (_, i) => (i * 7) % 10) : Array.from({ length: x.size }, () => next() - 0.5);
      return [x.name, new Tensor(Float64Array.from(data), x.shape)];
    }),
  );
}

const show = (w: Work) => `${w.multiplyAdds} multiply-adds, ${w.elementwise} elementwise, ${w.reduced} reduced, ${w.nodes} nodes`;

for (const name of models) {
  test(`${name}: optimized backward and HVP never cost more than derived, compute the same, finish on their own`, async () => {
    const m = (await import(`${dir}${name}.mjs`)).default as Model;
    const g = trace(m.inputs, (xs) => ({ out: m.fn(xs) }));
    for (const [kind, derived] of [
      ["backward", grad(g, { of: "out", wrt: m.wrt })],
      ["hvp", hvp(g, { of: "out", wrt: m.wrt })],
    ] as const) {
      const r = optimize(derived, { trace: true });
      assert.equal(r.stop, "saturated", `${name} ${kind}: stopped by ${r.stop}`);
      const [before, after] = [work(derived), work(r.graph)];
      for (const k of ["multiplyAdds", "elementwise", "reduced"] as const) {
        assert.ok(after[k] <= before[k], `${name} ${kind}: ${k} ${before[k]} -> ${after[k]}\n  derived ${show(before)}\n  optimized ${show(after)}`);
      }
      const inputs = inputsFor(derived, 231);
      const want = evaluate(derived, inputs),
        got = evaluate(r.graph, inputs);
      for (const k of Object.keys(want)) {
        const scale = Math.max(1e-300, ...want[k].data.map(Math.abs));
        want[k].data.forEach((v, i) =>
          assert.ok(Math.abs(v - got[k].data[i]) <= 1e-9 * scale, `${name} ${kind} ${k}[${i}]: optimized ${got[k].data[i]}, derived ${v}`),
        );
      }
    }
  });
}
