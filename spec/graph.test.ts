// The graph IR: hash-consed nodes, the one text form, topological order, graph validation.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { trace } from "../core/trace.js";
import { Graph, printGraph, rewriteGraph, toposort } from "../core/graph.js";
import { GradcError } from "../core/errors.js";
import { evaluate } from "../core/evaluate.js";
import * as b from "../core/builder.js";
import { apply, type Node } from "../core/node.js";

describe("hash-consing: building an equal node returns the same object", () => {
  const x = b.input("x", [2, 3]);
  const y = b.input("y", [2, 3]);

  test("same op, same inputs, same attributes: the same node", () => {
    assert.equal(x.add(y), x.add(y));
    assert.equal(x.sum(0, true), b.sum(x, [0], true));
    assert.equal(b.input("x", [2, 3]), x, "inputs too: same name, shape and dtype");
  });

  test("anything different gives a different node", () => {
    assert.notEqual(x.add(y), y.add(x), "operand order matters (canonical order is the optimizer's job)");
    assert.notEqual(x.sum(0, true), x.sum(1, true));
    assert.notEqual(b.input("x", [2, 3], "f32"), x);
    assert.notEqual(b.input("x", [3, 2]), x);
  });

  test("constants are equal by value and dtype, and NaN, ±Infinity and -0 stay distinct", () => {
    assert.equal(b.constant(2), b.constant(2));
    assert.notEqual(b.constant(2), b.constant(2, "f32"));
    const specials = [NaN, Infinity, -Infinity, 0, -0].map((v) => b.constant(v));
    assert.equal(new Set(specials).size, 5);
    assert.ok(Object.is(b.constant(-0).value, -0));
  });

  test("tracing the same function twice records the same nodes", () => {
    const fn = ({ x }: { x: Node }) => x.sub(x.mean(0)).square().mean(0);
    const g1 = trace({ x: [4, 5] }, fn);
    const g2 = trace({ x: [4, 5] }, fn);
    assert.equal(g1.output("out"), g2.output("out"));
  });

  test("a debug name does not split hash-consing", () => {
    const plain = x.mul(y);
    assert.equal(x.mul(y).named("prod"), plain);
    assert.equal(plain.label, "prod");
  });
});

describe("the text form", () => {
  test("a tiny graph prints one line a node, JAX-style (snapshot)", () => {
    const g = trace({ x: [4, 5], gamma: [5] }, ({ x, gamma }) => {
      const xc = x.sub(x.mean(0, true)).named("xc");
      return { out: xc.mul(gamma), sq: xc.square().sum(0) };
    });
    assert.equal(
      printGraph(g),
      [
        "graph(x: f64[4,5], gamma: f64[5]) {",
        "  %0 = sum[axes=[0]] %x : f64[1,5]",
        "  %1 = mul %0 0.25 : f64[1,5]",
        "  %2 = broadcastTo[shape=[4,5]] %1 : f64[4,5]",
        "  %3 = sub %x %2 : f64[4,5]   # xc",
        "  %4 = reshape[shape=[1,5]] %gamma : f64[1,5]",
        "  %5 = broadcastTo[shape=[4,5]] %4 : f64[4,5]",
        "  %6 = mul %3 %5 : f64[4,5]",
        "  %7 = square %3 : f64[4,5]",
        "  %8 = sum[axes=[0]] %7 : f64[1,5]",
        "  %9 = reshape[shape=[5]] %8 : f64[5]",
        "  return { out: %6, sq: %9 }",
        "}",
      ].join("\n"),
    );
    assert.equal(g.toString(), printGraph(g));
    assert.equal(printGraph(g, { labels: false }).includes("# xc"), false);
  });

  test("size counts operation nodes, not inputs or constants", () => {
    const g = trace({ x: [3] }, ({ x }) => x.mul(2).add(1));
    assert.equal(g.size, 2);
    assert.equal(g.nodes().length, 5);
  });
});

describe("topological order", () => {
  test("every node comes after its inputs; inputs come first; each node once", () => {
    const g = trace({ x: [3], unused: [2] }, ({ x }) => {
      const e = x.exp();
      return { a: e.mul(x).add(e), c: e.tanh() };
    });
    const order = g.nodes();
    const at = new Map(order.map((n, i) => [n, i]));
    assert.equal(at.size, order.length, "no node twice");
    for (const n of order) for (const i of n.inputs) assert.ok(at.get(i)! < at.get(n)!, `${i} must precede ${n}`);
    assert.ok(order.includes(g.input("unused")), "an unused input is still a node of the graph");
  });

  test("toposort of roots lists exactly what they depend on", () => {
    const x = b.input("x", [2]);
    const y = b.input("y", [2]);
    const e = x.exp();
    assert.deepEqual(toposort([e]), [x, e]);
    assert.deepEqual(new Set(toposort([e.add(y)])), new Set([x, e, y, e.add(y)]));
  });

  test("rewriteGraph replaces a node and rebuilds what depends on it", () => {
    const g = trace({ x: [2] }, ({ x }) => x.exp().mul(3));
    const e = g.output("out").inputs[0];
    const h = rewriteGraph(g, new Map([[e, g.input("x").tanh()]]));
    assert.equal(h.output("out"), g.input("x").tanh().mul(3));
    assert.deepEqual(Array.from(evaluate(h, { x: [0, 1] }).out.data), [0, 3 * Math.tanh(1)]);
  });
});

describe("graph validation", () => {
  const x = b.input("x", [2]);
  test("an input list may hold only input nodes", () => {
    assert.throws(() => new Graph([x.exp()], { out: x }), GradcError);
  });
  test("two inputs with the same name", () => {
    assert.throws(() => new Graph([x, b.input("x", [3])], { out: x }), /two inputs are named "x"/);
  });
  test("an output that depends on an input the graph does not list", () => {
    const y = b.input("y", [2]);
    assert.throws(() => new Graph([x], { out: x.add(y) }), /depends on %y: f64\[2\], which is not among the graph's inputs \(x\)/);
  });
  test("input() and output() name the choices when asked for a missing one", () => {
    const g = new Graph([x], { out: x.exp() });
    assert.throws(() => g.input("z"), /no input named "z": inputs are x/);
    assert.throws(() => g.output("z"), /no output named "z": outputs are out/);
  });
  test("apply checks arity before anything else", () => {
    assert.throws(() => apply("exp", [x, x]), /exp: expects 1 input\(s\), got 2/);
  });
});
