// Forward mode and second order, as laws:
//   - for every op in the registry and all valid inputs, the JVP agrees with central differences
//     and with the VJP (the dot-product test <u, J v> = <J^T u, v>);
//   - jacfwd == jacrev == finite differences; hessian is jacfwd of jacrev and symmetric;
//   - hvp agrees with finite differences of the gradient (the notebook's net included);
//   - vjp and jvp compose (jvp of jvp, grad of jvp) and the results optimize and compile;
//   - bad input is an error naming the op, node and shapes when the graph is built.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { allOps, type OpDef, type OpSample } from "../core/registry.js";
import { apply, type Node } from "../core/node.js";
import * as b from "../core/builder.js";
import { Graph } from "../core/graph.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { GradcError } from "../core/errors.js";
import { Tensor, shapeStr, tensor } from "../core/tensor.js";
import { grad } from "../compile/autodiff/reverse.js";
import { jvp } from "../compile/autodiff/forward.js";
import { hessian, hvp, jacfwd, jacrev, linearize } from "../compile/autodiff/jacobian.js";
import { optimize } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";
import { compile } from "../compile/codegen/compile.js";
import { zooGraph } from "../ops/zoo.js";
import { defineOp, removeOp } from "../ops/define.js";
import { axpy, checkOp, direction, dot } from "../compile/check/op.js";
import { FullyConnectedNet } from "../nn/net.js";
import { randomTensor, relError, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";
import { randomCase } from "../compile/check/random-graphs.js";

const RUNS = 15;

/** Central differences of `f` along directions `dirs` (input name -> direction). */
function directional(f: (feed: Record<string, Tensor>) => Tensor, feed: Record<string, Tensor>, dirs: Record<string, Tensor>, h = 1e-5): Tensor {
  const at = (s: number) => f({ ...feed, ...Object.fromEntries(Object.entries(dirs).map(([k, d]) => [k, axpy(s * h, d, feed[k])])) });
  const plus = at(1),
    minus = at(-1);
  return new Tensor(
    plus.data.map((v, i) => (v - minus.data[i]) / (2 * h)),
    plus.shape,
  );
}

describe("every op in the registry, forward mode", () => {
  for (const def of allOps().filter((d) => d.kind !== "leaf" && d.vjp)) {
    test(`${def.name}: for all valid inputs, the JVP agrees with central differences and with the VJP`, (t) => {
      let worst = 0;
      fc.assert(
        fc.property(arbSeed(), (seed) => {
          const sampler = (def as OpDef).sample?.bind(def);
          assert.ok(sampler, `${def.name} has no sampler`);
          const s: OpSample = sampler(seededRandom(seed));
          const rand = seededRandom(seed ^ 0x2545f491);
          const names = s.inputs.map((_, k) => `in${k}`);
          const nodes: Node[] = s.inputs.map((x, k) => b.input(names[k], x.shape, x.dtype));
          const g = new Graph(nodes, { out: apply(def.name, nodes, s.attrs) });
          const feed = Object.fromEntries(names.map((n, k) => [n, s.inputs[k]]));
          const wrt = (s.wrt ?? s.inputs.flatMap((x, k) => (x.dtype === "f64" || s.h ? [k] : []))).map((k) => names[k]);
          if (wrt.length === 0) return;
          const dirs = Object.fromEntries(wrt.map((n) => [n, direction(rand, feed[n])]));
          const tangentFeed = Object.fromEntries(wrt.map((n) => [`${n}_dot`, dirs[n]]));
          const jv = evaluate(jvp(g, { wrt }), { ...feed, ...tangentFeed }).out_dot;
          const numeric = directional((f) => evaluate(g, f).out, feed, dirs, s.h ?? 1e-5);
          // normwise: a component near zero measures only the finite differences' noise (f32 casts)
          const scale = Math.max(1e-300, ...Array.from(numeric.data, Math.abs));
          const e = Math.max(0, ...Array.from(jv.data, (v, i) => Math.abs(v - numeric.data[i]))) / scale;
          assert.ok(e <= (s.tol ?? 1e-6), `${def.name}: JVP ${jv} vs numerical ${numeric} (normwise relative error ${e})`);
          worst = Math.max(worst, e);
          // <u, J v> = <J^T u, v>
          const out = g.output("out");
          const u = randomTensor(rand, out.shape, -1, 1, out.dtype);
          const gr = evaluate(grad(g, { of: "out", wrt }), out.rank === 0 ? feed : { ...feed, dout: u });
          const left = out.rank === 0 ? jv.data[0] : dot(u, jv);
          const right = wrt.reduce((acc, n) => acc + dot(gr[`d${n}`], dirs[n]), 0);
          const exact = [...s.inputs.map((x) => x.dtype), out.dtype].includes("f32") ? 1e-5 : 1e-10;
          assert.ok(
            Math.abs(left - right) <= exact * Math.max(1, Math.abs(left), Math.abs(right)),
            `${def.name}: <u, jvp(v)> = ${left}, <vjp(u), v> = ${right}`,
          );
        }),
        runs(RUNS),
      );
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    });
  }
});

describe("Jacobians and Hessians", () => {
  const rand = seededRandom(7);
  test("jacfwd == jacrev == finite differences on batchnorm [4,3] (out wrt x, gamma)", () => {
    const g = zooGraph("batchnorm", [4, 3]);
    const feed = { x: randomTensor(rand, [4, 3]), gamma: randomTensor(rand, [3]), beta: randomTensor(rand, [3]) };
    const fwd = evaluate(jacfwd(g, { of: "out", wrt: ["x", "gamma"] }), feed);
    const rev = evaluate(jacrev(g, { of: "out", wrt: ["x", "gamma"] }), feed);
    assert.deepEqual(fwd.jac_x.shape, [4, 3, 4, 3]);
    assert.ok(relError(fwd.jac_x, rev.jac_x) < 1e-12 && relError(fwd.jac_gamma, rev.jac_gamma) < 1e-12);
    // column (1, 2) of dout/dx by central differences
    const e = new Tensor(new Float64Array(12), [4, 3]);
    e.data[1 * 3 + 2] = 1;
    const col = directional((f) => evaluate(g, f).out, feed, { x: e });
    const got = new Tensor(
      Float64Array.from({ length: 12 }, (_, i) => fwd.jac_x.data[i * 12 + 5]),
      [4, 3],
    );
    assert.ok(relError(got, col) < 1e-7, `${got} vs ${col}`);
  });

  test("for random graphs, jacfwd equals jacrev", () => {
    fc.assert(
      fc.property(arbSeed(), (seed) => {
        const c = randomCase(seed, { steps: 6 });
        const of = c.graph.outputNames[0];
        const small = c.graph.inputs.every((x) => x.size <= 24) && c.graph.output(of).size <= 24;
        if (!small) return;
        const fwd = evaluate(jacfwd(c.graph, { of }), c.inputs);
        const rev = evaluate(jacrev(c.graph, { of }), c.inputs);
        for (const k of Object.keys(fwd)) {
          const scale = Math.max(1, ...Array.from(rev[k].data, Math.abs));
          const diff = Math.max(0, ...Array.from(fwd[k].data, (v, i) => Math.abs(v - rev[k].data[i])));
          assert.ok(diff <= 1e-9 * scale, `seed ${seed}: ${k} differs by ${diff}`);
        }
      }),
      runs(40),
    );
  });

  test("hessian of x^T A x / 2 + sum(exp(x)) is A_sym + diag(exp(x)), symmetric", () => {
    const A = tensor([
      [2, 1, 0],
      [1, 3, -1],
      [0, -1, 4],
    ]);
    const g = trace({ x: [3], A: [3, 3] }, ({ x, A }) =>
      b.add(b.mul(b.sum(b.mul(b.matmul(b.reshape(x, [1, 3]), A), b.reshape(x, [1, 3]))), 0.5), b.sum(b.exp(x))),
    );
    const x = tensor([0.1, -0.2, 0.3]);
    const H = evaluate(hessian(g, { wrt: ["x"] }), { x, A }).hess_x;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const want = A.data[i * 3 + j] + (i === j ? Math.exp(x.data[i]) : 0);
        assert.ok(Math.abs(H.data[i * 3 + j] - want) < 1e-12, `H[${i},${j}] = ${H.data[i * 3 + j]}, want ${want}`);
      }
    }
  });

  test("a Jacobian too large to unroll is an error saying what to use instead", () => {
    const g = trace({ x: [100, 100] }, ({ x }) => b.sum(b.exp(x)));
    assert.throws(
      () => jacfwd(g),
      (e: unknown) => e instanceof GradcError && /jacfwd: input "x" \[100,100\] has 10000 elements/.test(e.message) && /hvp/.test(e.message),
    );
  });
});

describe("Hessian-vector products", () => {
  test("hvp of the notebook net's loss (2 hidden layers, batchnorm) agrees with finite differences of the gradient", () => {
    const net = new FullyConnectedNet([6, 5], { inputDim: 7, numClasses: 4, normalization: "batchnorm", reg: 0.1, weightScale: 0.3, seed: 3 });
    const rand = seededRandom(11);
    const n = 5;
    const X = randomTensor(rand, [n, 7]);
    const y = tensor([0, 1, 2, 3, 1]);
    const g = net.graph("train", n);
    const params = Object.keys(net.params);
    const feed: Record<string, Tensor> = { X, y, ...net.params, ...net.state };
    const dirs = Object.fromEntries(params.map((p) => [p, randomTensor(rand, net.params[p].shape, -1, 1)]));
    const H = hvp(g, { of: "loss", wrt: params });
    const got = evaluate(H, { ...feed, ...Object.fromEntries(params.map((p) => [`${p}_dot`, dirs[p]])) });
    const gradOf = grad(g, { of: "loss", wrt: params });
    // normwise over all parameters: b1's gradient is zero in exact arithmetic (batchnorm removes
    // the mean), so its own relative error would measure only finite-difference noise
    const numeric = Object.fromEntries(params.map((p) => [p, directional((f) => evaluate(gradOf, f)[`d${p}`], feed, dirs, 1e-5)]));
    const scale = Math.max(...params.flatMap((p) => Array.from(numeric[p].data, Math.abs)));
    for (const p of params) {
      const diff = Math.max(...Array.from(got[`hvp_${p}`].data, (v, i) => Math.abs(v - numeric[p].data[i])));
      assert.ok(diff / scale < 1e-6, `hvp_${p}: normwise relative error ${diff / scale}`);
    }
    // optimized and compiled, it computes the same
    const fast = compile(optimize(H));
    const run = fast.run({ ...feed, ...Object.fromEntries(params.map((p) => [`${p}_dot`, dirs[p]])) });
    for (const p of params) {
      const diff = Math.max(...Array.from(run[`hvp_${p}`].data, (v, i) => Math.abs(v - got[`hvp_${p}`].data[i])));
      assert.ok(diff / scale < 1e-9, `compiled hvp_${p}: normwise ${diff / scale}`);
    }
  });

  test("batchnorm's HVP optimizes to a constant number of reduction rounds and equals the derived one", () => {
    const g = zooGraph("batchnorm", [16, 5]);
    const H = hvp(g, { of: "out" });
    const fast = optimize(H);
    const before = stats(H),
      after = stats(fast);
    // derived: 4 rounds of reductions; the rules bring it to 3, whatever the batch size. (Two
    // would need sum(xc * v) expanded into sum(x * v) - mean(x) * sum(v), which cancels
    // catastrophically when |mean| >> std: centred differences stay whole, docs/optimizer.md.)
    assert.equal(before.reductionDepth, 4);
    assert.ok(after.reductionDepth <= 3, `depth ${before.reductionDepth} -> ${after.reductionDepth}`);
    const rand = seededRandom(5);
    const feed = Object.fromEntries(H.inputs.map((x) => [x.name, randomTensor(rand, x.shape)]));
    const want = evaluate(H, feed),
      got = compile(fast).run(feed);
    for (const k of Object.keys(want)) assert.ok(relError(got[k], want[k]) < 1e-9, `${k}: ${relError(got[k], want[k])}`);
  });
});

describe("composition", () => {
  const g = trace({ x: [4] }, ({ x }) => b.sum(b.mul(b.tanh(x), b.exp(b.mul(x, 0.5)))));
  const rand = seededRandom(3);
  const x = randomTensor(rand, [4]);
  const v = randomTensor(rand, [4]);
  test("jvp of jvp gives the second directional derivative v^T H v", () => {
    const jj = jvp(jvp(g), { wrt: ["x"], tangents: { x: "x_dot2" } });
    assert.deepEqual(jj.outputNames, ["out", "out_dot", "out_dot2", "out_dot_dot"]);
    const got = evaluate(jj, { x, x_dot: v, x_dot2: v }).out_dot_dot.data[0];
    const H = evaluate(hessian(g), { x }).hess_x;
    let want = 0;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) want += v.data[i] * H.data[i * 4 + j] * v.data[j];
    assert.ok(Math.abs(got - want) < 1e-12 * Math.max(1, Math.abs(want)), `${got} vs ${want}`);
  });
  test("reverse over forward (grad of jvp) equals forward over reverse (hvp)", () => {
    const rof = evaluate(grad(jvp(g), { of: "out_dot", wrt: ["x"] }), { x, x_dot: v }).dx;
    const for_ = evaluate(hvp(g), { x, x_dot: v }).hvp_x;
    assert.ok(relError(rof, for_) < 1e-12);
  });
  test("linearize: the forward saves residuals; the tangent map is linear and equals jvp", () => {
    const lin = linearize(g);
    const res = evaluate(lin.forward, { x });
    const resFeed = Object.fromEntries(lin.residuals.map((r) => [r, r === "x" ? x : res[r]]));
    const t1 = evaluate(lin.tangent, { ...resFeed, x_dot: v }).out_dot;
    const t2 = evaluate(lin.tangent, { ...resFeed, x_dot: axpy(1, v, v) }).out_dot;
    assert.ok(Math.abs(t2.data[0] - 2 * t1.data[0]) < 1e-12 * Math.max(1, Math.abs(t1.data[0])));
    assert.equal(t1.data[0], evaluate(jvp(g), { x, x_dot: v }).out_dot.data[0]);
    assert.ok(!lin.residuals.some((r) => /^r\d+$/.test(r)), lin.residuals.join(", "));
  });
});

describe("user ops in forward mode", () => {
  test("an op with only a VJP gets its JVP by transposition, and checkOp runs the forward checks", () => {
    const softsign = defineOp({
      name: "softsignFwd",
      kind: "elementwise",
      arity: 1,
      scalar: (v) => v / (1 + Math.abs(v)),
      expr: ([a]) => `(${a} / (1 + Math.abs(${a})))`,
      vjp: (gr, [xx]) => [b.div(gr, b.square(b.add(b.maximum(xx, b.neg(xx)), 1)))],
    });
    try {
      const report = checkOp(softsign, { runs: 5 });
      const jv = report.checks.find((c) => c.check === "jvp");
      const dp = report.checks.find((c) => c.check === "dot-product");
      assert.ok(jv && jv.worst !== null && jv.worst < 1e-6, JSON.stringify(report.checks));
      assert.ok(dp && dp.worst !== null && dp.worst < 1e-10, JSON.stringify(report.checks));
    } finally {
      removeOp("softsignFwd");
    }
  });
  test("an op's own jvp field is used, and a wrong one is caught by checkOp's jvp check", () => {
    const cube = defineOp({
      name: "cubeFwd",
      kind: "elementwise",
      arity: 1,
      scalar: (v) => v * v * v,
      expr: ([a]) => `(${a} * ${a} * ${a})`,
      vjp: (gr, [xx]) => [b.mul(gr, b.mul(b.square(xx), 3))],
      jvp: ([t], [xx]) => (t ? b.mul(t, b.mul(b.square(xx), 2)) : null), // wrong: 2x^2
    });
    try {
      assert.throws(
        () => checkOp(cube, { runs: 3 }),
        (e: unknown) => e instanceof GradcError && e.message.includes("jvp:"),
      );
    } finally {
      removeOp("cubeFwd");
    }
  });
});

describe("bad input, when the graph is built", () => {
  const g = trace({ x: [2, 3], w: [3] }, ({ x, w }) => b.mul(x, b.broadcastTo(b.reshape(w, [1, 3]), [2, 3])));
  const named =
    (...parts: string[]) =>
    (e: unknown): boolean =>
      e instanceof GradcError && parts.every((p) => e.message.includes(p));
  test("a tangent whose shape or dtype differs from its primal", () => {
    assert.throws(() => jvp(g, { tangents: { x: b.input("t", [3, 2]) } }), named("jvp:", '"x"', "f64[3,2]", "f64[2,3]"));
    assert.throws(() => jvp(g, { tangents: { x: b.input("t", [2, 3], "f32") } }), named("jvp:", "f32[2,3]", "f64[2,3]"));
  });
  test("a name in wrt or tangents that is not an input", () => {
    assert.throws(() => jvp(g, { wrt: ["z"] }), named("jvp: { wrt }", '"z"', "x, w"));
    assert.throws(
      () =>
        hvp(
          trace({ x: [2] }, ({ x }) => b.sum(x)),
          { wrt: ["y"] },
        ),
      named("hvp: { wrt }", '"y"'),
    );
    assert.throws(() => jvp(null as unknown as Graph), named("jvp: the first argument must be a Graph"));
  });
  test("an op declared not differentiable, reached by a tangent, names the op, node and shapes", () => {
    defineOp({ name: "floorFwd", kind: "elementwise", arity: 1, scalar: Math.floor, expr: ([a]) => `Math.floor(${a})`, vjp: "none" });
    try {
      const h = trace({ x: [2, 3] }, ({ x }) => b.exp(apply("floorFwd", [x])));
      assert.throws(() => jvp(h), named('jvp: op "floorFwd" is not differentiable', "floorFwd (%x: f64[2,3])"));
    } finally {
      removeOp("floorFwd");
    }
  });
  test("tangent names that clash with inputs or outputs", () => {
    const c = trace({ x: [2], x_dot: [2] }, ({ x, x_dot }) => b.add(x, x_dot));
    assert.throws(() => jvp(c, { wrt: ["x"], tangents: { x: "x_dot" } }), named('"x_dot" would clash'));
    assert.deepEqual(jvp(c, { wrt: ["x"] }).inputNames, ["x", "x_dot", "x_dot2"], "the default name steps aside");
    assert.equal(shapeStr(jvp(c, { wrt: ["x"], tangents: { x: "tx" } }).output("out_dot").shape), "[2]");
  });
});

describe("gradc inspect --hvp", () => {
  test("batchnorm: the derived HVP needs 4 rounds of reductions, the optimized one 3, in at most 4 kernels; a module works too", async () => {
    const { spawnSync } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
    const run = spawnSync(process.execPath, [cli, "inspect", "batchnorm", "--shape", "16,4", "--hvp", "--json"], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.deepEqual(r.wrt, ["x", "gamma", "beta"]);
    assert.match(r.derived.text, /x_dot: f64\[16,4\]/);
    assert.match(r.optimized.text, /return \{ hvp_x: %\d+, hvp_gamma: %\d+, hvp_beta: 0 \}/, "beta enters linearly: its Hessian block is zero");
    assert.equal(r.derived.reductionDepth, 4);
    assert.equal(r.optimized.reductionDepth, 3, "two rounds for the centred statistics, one for the HVP's own sums");
    assert.ok(r.compiled.kernels <= 4, `${r.compiled.kernels} kernels`);
    const text = spawnSync(process.execPath, [cli, "inspect", "examples/mlp.mjs", "--hvp", "--wrt", "W2"], {
      encoding: "utf8",
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
    });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Hessian-vector product of \w+ with respect to W2/);
  });
});
