// The backend seam: a backend is one object (accepts, bind, lower) and one line in a table. The
// toy below is the worked example of docs/compiler.md: it takes elementwise loop stages whose ops
// all have a scalar function and runs them element by element in a closure.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Node } from "../core/node.js";
import type { Data } from "../core/tensor.js";
import { evaluate } from "../core/evaluate.js";
import { trace } from "../core/trace.js";
import { compile, compileWith } from "../compile/codegen/compile.js";
import { BACKENDS, type Backend, type KernelBuilder } from "../compile/codegen/backend.js";
import { rowMajor, type Term } from "../compile/codegen/layout.js";
import type { PlannedStage } from "../compile/codegen/plan.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";

const scalarTerm = (t: Term): boolean =>
  t.kind === "load" || t.kind === "const" || (t.kind === "op" && typeof t.node.def.scalar === "function" && t.args.every(scalarTerm));

/** A toy backend: elementwise stages, one element at a time through each op's scalar function. */
const scalarBackend: Backend = {
  name: "scalar",
  accepts: (ps) => ps.kind === "loop" && ps.st.stores.every((s) => s.kind === "map") && [...ps.terms.values()].every(scalarTerm),
  bind: () => ({ lower: lowerScalar }),
};

function lowerScalar(ps: PlannedStage, k: KernelBuilder): string[] {
  if (ps.kind !== "loop") throw new Error("scalar backend: loop stages only");
  const { domain, stores } = ps.st;
  const rank = domain.length;
  // the buffers it reads and writes are passed by their generated names, in this order
  const bases = [...new Set<Node>([...stores.map((s) => s.node), ...[...ps.terms.values()].flatMap(loadBases)])];
  const slot = new Map(bases.map((n, i) => [n, i]));
  const idx = new Array<number>(rank).fill(0);
  const at = (a: readonly number[]) => a.reduce((o, c, d) => o + c * idx[d], 0);
  const run = (arrays: Data[]) => {
    const value = (t: Term): number => {
      if (t.kind === "const") return t.node.value as number;
      if (t.kind === "load") return arrays[slot.get(t.base)!][at(t.offset)];
      if (t.kind !== "op") throw new Error("scalar backend: no iota");
      const r = t.node.def.scalar!(...t.args.map(value));
      return t.node.dtype === "f32" ? Math.fround(r) : r;
    };
    for (let flat = 0; flat < ps.size; flat++) {
      for (let d = rank - 1, f = flat; d >= 0; d--) [idx[d], f] = [f % domain[d], Math.floor(f / domain[d])];
      for (const s of stores) arrays[slot.get(s.node)!][at(rowMajor(s.node.shape, rank))] = value(ps.terms.get(s)!);
    }
  };
  const [fn] = k.closeOver(["x", run]);
  return [`${fn}([${bases.map((n) => k.names.buffer(n)).join(", ")}]); // scalar backend`];
}

const loadBases = (t: Term): Node[] => (t.kind === "load" ? [t.base] : t.kind === "op" ? t.args.flatMap(loadBases) : []);

test("a backend added at the head of the table takes the stages it accepts, and the results equal evaluate's bit for bit", () => {
  const g = trace({ x: [6, 5], y: [1, 5] }, ({ x, y }) => ({ z: x.tanh().mul(y).add(x.exp()) }));
  const r = seededRandom(3);
  const feed = { x: randomTensor(r, [6, 5]), y: randomTensor(r, [1, 5]) };
  const exe = compileWith(g, { wasm: false }, [scalarBackend, ...BACKENDS]);
  assert.match(exe.source, /x\d+\(\[b0, in0, in1\]\); \/\/ scalar backend/);
  assert.deepEqual([...exe.run(feed).z.data], [...evaluate(g, feed).z.data]);
  assert.doesNotMatch(compile(g, { wasm: false }).source, /scalar backend/);
  // a stage with a reduction is not elementwise: JavaScript takes it
  const h = trace({ x: [6, 5] }, ({ x }) => ({ s: x.exp().sum(1) }));
  const mixed = compileWith(h, { wasm: false }, [scalarBackend, ...BACKENDS]);
  assert.doesNotMatch(mixed.source, /scalar backend/);
  assert.deepEqual([...mixed.run({ x: feed.x }).s.data], [...evaluate(h, { x: feed.x }).s.data]);
});

test("every stage is lowered by some backend: a table without one that takes everything is an error naming the stage", () => {
  const g = trace({ x: [4, 3] }, ({ x }) => ({ s: x.sum(0) }));
  assert.throws(() => compileWith(g, {}, [scalarBackend]), /no backend took stage over \[4,3\]/);
  assert.deepEqual(
    BACKENDS.map((b) => b.name),
    ["native", "wasm", "js"],
  );
});
