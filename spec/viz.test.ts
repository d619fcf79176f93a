// The viewer, Node side: graph data, the layout's invariants and speed, safe embedding, the SVG
// export and the CLI. The page in a real browser: spec/browser.test.ts.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JSDOM } from "jsdom";
import { zooGraph } from "../ops/zoo.js";
import { numbering, printNode } from "../core/graph.js";
import { layoutDag } from "../viz/layout.js";
import { layoutCompound, pathKey } from "../viz/compound.js";
import { expand, StepGraphs, tableOf, textLine } from "../viz/graphs.js";
import { benchRecords, type PageData } from "../viz/model.js";
import { graphSource } from "../viz/data.js";
import { traceSource } from "../viz/browser.js";
import { scopeOf } from "../core/node.js";
import { FullyConnectedNet } from "../nn/net.js";
import { buildPage, scriptJson } from "../viz/page.js";
import { renderSvg } from "../viz/svg.js";
import { view, viewData } from "../viz/view.js";
import { command } from "../cli/view.js";
import { injected, INJECTED, ladder } from "./support/viz-fixtures.js";

const table = (d: PageData) => tableOf(d.nodes);

test("viewData: the node table and a graph's inputs and outputs give back its nodes, %k numbering and text lines", () => {
  const g = zooGraph("batchnorm", [6, 3]);
  const d = viewData(g, { backward: false });
  const shown = expand(table(d), d.forward);
  assert.deepEqual(
    shown.nodes.map((n) => n.id),
    g.nodes().map((n) => n.id),
  );
  const names = numbering(g);
  for (const n of g.nodes()) assert.equal(shown.names.get(n.id), names.get(n));
  const sub = g.nodes().find((n) => n.op === "sub")!;
  assert.equal(textLine(table(d).get(sub.id)!, shown.names), printNode(sub, names));
  assert.equal(table(d).get(g.nodes().find((n) => n.op === "sum")!.id)!.kind, "reduce");
  assert.deepEqual([...shown.outputsOf.values()], [["out"]]);
});

test("viewData of batchnorm: every step changes the graph and stores only its outputs; the last is the optimized graph", () => {
  const d = viewData(zooGraph("batchnorm", [8, 3]));
  assert.ok(d.backward && d.optimized && d.steps.length > 5);
  const t = table(d);
  const shownBackward = expand(t, d.backward);
  assert.ok(
    shownBackward.nodes.some((n) => n.from.startsWith("residual")),
    "residual inputs say which forward value they are",
  );
  assert.ok(shownBackward.nodes.some((n) => n.from.startsWith("the cotangent")));
  const graphs = new StepGraphs(t, d);
  let prev = JSON.stringify(d.backward.outputs);
  d.steps.forEach((s, i) => {
    const g = graphs.graph(i + 1);
    const now = JSON.stringify(g.outputs);
    assert.notEqual(now, prev, `${s.rule} changes the graph`);
    assert.ok(s.law.includes("=") && s.formula[0] !== s.formula[1], `${s.rule}: ${s.formula.join(" = ")}`);
    const ops = expand(t, g).nodes.filter((n) => n.kind !== "input" && n.kind !== "const");
    assert.equal(ops.length, s.stats.nodes, `step ${i + 1} (${s.rule}) rebuilt from its substitution has the traced graph's nodes`);
    prev = now;
  });
  assert.deepEqual(graphs.graph(d.steps.length).outputs, d.optimized.outputs, "the last step rebuilds the optimized graph, ids and all");
  assert.ok(d.kernels !== null || d.kernelNote.length > 0);
});

test("the batchnorm derivation's proof sketch names sum(xhat) = 0 by the forward's definition of xhat, and the steps that cut sweeps", () => {
  const d = viewData(zooGraph("batchnorm", [200, 3]));
  const words = d.summary.map((s) => s.words);
  assert.ok(
    words.some((w) => w.startsWith("sum(xhat) = 0, by the forward's definition xhat = xc / std")),
    words.join("\n"),
  );
  assert.ok(words.some((w) => /reduction depth \(sequential sweeps\) 2 → 1/.test(w)));
  assert.ok(d.summary.length <= 6, "a sketch, not the log");
  const zero = d.steps.find((s) => s.rule === "sum-of-residual")!;
  assert.deepEqual(zero.cancelled, ["xhat"]);
  assert.ok(d.steps.filter((s) => s.group === "factoring" && s.cancelled.length === 0).length > 3, "rebuilt parents are not cancellations");
});

test("kernel source names its parameters after the graph's inputs", () => {
  const d = viewData(zooGraph("batchnorm", [8, 3]));
  assert.ok(d.kernels && d.kernels.length > 0);
  for (const k of d.kernels) assert.match(k.source, /^\/\/ parameters:\n\/\/   in\d+ = %\w+: f64\[/);
  assert.ok(d.kernels.some((k) => /in\d+ = %xhat/.test(k.source)));
});

test("name scopes: composites record theirs, gradients are built in their node's scope, nets name layers", () => {
  const d = viewData(zooGraph("batchnorm", [8, 3]));
  const t = table(d);
  assert.ok(
    expand(t, d.forward)
      .nodes.filter((n) => n.op !== "input")
      .every((n) => n.scope === "batchnorm"),
  );
  assert.ok(expand(t, d.backward!).nodes.some((n) => n.scope === "batchnorm" && n.op === "sum"));
  const net = new FullyConnectedNet([5, 5], { inputDim: 6, numClasses: 3, normalization: "batchnorm", seed: 1 });
  const g = net.graph("train", 4);
  const scopes = new Set(g.nodes().map((n) => scopeOf(n)));
  for (const s of ["layer 1/affine", "layer 1/batchnorm", "layer 2/batchnorm", "layer 3/affine"]) assert.ok(scopes.has(s), `${s} in ${[...scopes].join(", ")}`);
});

test("the editor's text is traced with gradc's ops in scope; anything else is a clear error", () => {
  const g = traceSource("trace({ x: [4, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out)");
  assert.equal(g.nodes().filter((n) => n.op === "sum").length, 2);
  assert.equal(traceSource(graphSource(g)).nodes().length, g.nodes().length, "the source written from a graph rebuilds it");
  assert.throws(() => traceSource("42"), /must be a trace\(\.\.\.\) expression/);
});

test("layoutDag: edges point down, boxes in a layer do not overlap, 2,000 nodes in well under a second", () => {
  const g = ladder(2000);
  const v = { nodes: g.nodes() };
  const index = new Map(v.nodes.map((n, i) => [n, i]));
  const edges = v.nodes.flatMap((n, i) => n.inputs.map((x) => [index.get(x)!, i] as [number, number]));
  const sizes = v.nodes.map(() => ({ width: 80, height: 30 }));
  const t0 = performance.now();
  const L = layoutDag({ sizes, edges });
  const ms = performance.now() - t0;
  assert.ok(v.nodes.length >= 2000);
  for (const [a, b] of edges) assert.ok(L.nodes[b].layer > L.nodes[a].layer);
  const byLayer = new Map<number, number[]>();
  L.nodes.forEach((p, i) => byLayer.set(p.layer, [...(byLayer.get(p.layer) ?? []), i]));
  for (const ids of byLayer.values()) {
    const xs = ids.map((i) => L.nodes[i].x).sort((a, b) => a - b);
    for (let k = 1; k < xs.length; k++) assert.ok(xs[k] - xs[k - 1] >= 80 - 1e-6, "boxes overlap");
  }
  console.log(`# layout of ${v.nodes.length} nodes took ${ms.toFixed(0)} ms`); // printed, not asserted: a loaded machine is not a slow layout
});

test("layoutDag: a cycle (a folded scope holding a layer's forward and backward) is laid out with a back edge", () => {
  const L = layoutDag({
    sizes: [
      { width: 10, height: 10 },
      { width: 10, height: 10 },
      { width: 10, height: 10 },
    ],
    edges: [
      [0, 1],
      [1, 2],
      [2, 1],
    ],
  });
  assert.ok(L.nodes[1].layer > L.nodes[0].layer);
  assert.equal(L.edges.filter((e) => e.long).length, 1, "one edge goes back");
});

test("layoutCompound: clusters never overlap, every box sits inside its own clusters", () => {
  const leaves = Array.from({ length: 60 }, (_, i) => ({
    key: String(i),
    width: 40 + (i % 7) * 9,
    height: 30,
    path: i % 5 === 0 ? [] : [`k${i % 4}`, ...(i % 3 ? [] : ["inner"])],
  }));
  const edges = leaves.slice(1).map((l, i) => [String(i), l.key] as const);
  const lay = layoutCompound(leaves, edges, { labelWidth: () => 90 });
  const inside = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
    a.x >= b.x - 1e-6 && a.y >= b.y - 1e-6 && a.x + a.width <= b.x + b.width + 1e-6 && a.y + a.height <= b.y + b.height + 1e-6;
  const disjoint = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
    a.x + a.width <= b.x + 1e-6 || b.x + b.width <= a.x + 1e-6 || a.y + a.height <= b.y + 1e-6 || b.y + b.height <= a.y + 1e-6;
  const top = [...lay.clusters.values()].filter((c) => c.depth === 1);
  assert.equal(top.length, 4);
  for (let i = 0; i < top.length; i++) for (let j = i + 1; j < top.length; j++) assert.ok(disjoint(top[i], top[j]), "two clusters overlap");
  for (const l of leaves) {
    for (let d = 1; d <= l.path.length; d++)
      assert.ok(inside(lay.leaves.get(l.key)!, lay.clusters.get(pathKey(l.path.slice(0, d)))!), `box ${l.key} outside ${l.path.slice(0, d)}`);
  }
  const boxes = [...lay.leaves.values()];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) assert.ok(disjoint(boxes[i], boxes[j]), "two boxes overlap");
});

test("scriptJson: no `<` survives, so `</script>` in a name cannot close the script", () => {
  const s = scriptJson({ name: "</script><script>alert(1)</script>" });
  assert.ok(!s.includes("<"));
  assert.deepEqual(JSON.parse(s), { name: "</script><script>alert(1)</script>" });
});

test("the page of a graph named with markup holds that markup only as escaped data", () => {
  const { html } = view(injected(), { title: `view ${INJECTED}` });
  assert.ok(!html.includes("<img src=x"), "raw markup reached the page");
  assert.ok(!html.includes("</script><script>alert(2)"));
  assert.equal(html.match(/<\/script>/g)!.length, 4, "exactly the page's own four scripts close (data, import map, viewer, boot)");
});

test("benchRecords reads bench/batchnorm.ts's rows and flat records", () => {
  const rows = {
    rows: [
      {
        id: "fused",
        label: "**fused**",
        dtype: "f64",
        cells: [
          { N: 100, D: 500, ms: 0.1, ratio: 1 },
          { N: 1024, D: 1024, skipped: "x" },
        ],
      },
    ],
  };
  assert.deepEqual(benchRecords(rows), [{ impl: "fused", label: "fused", N: 100, D: 500, dtype: "f64", ms: 0.1, ratio: 1 }]);
  const flat = [{ impl: "naive", N: 4, D: 5, dtype: "f32", msPerCall: 2, ratioToFused: 20 }];
  assert.deepEqual(benchRecords(flat), [{ impl: "naive", label: "naive", N: 4, D: 5, dtype: "f32", ms: 2, ratio: 20 }]);
  assert.deepEqual(benchRecords({ nonsense: true }), []);
  // a user's file: entries that are not objects are skipped, not dereferenced
  assert.deepEqual(benchRecords([null, 3, ...flat]), benchRecords(flat));
  assert.deepEqual(benchRecords({ rows: [null, { ...rows.rows[0], cells: [null, ...rows.rows[0].cells] }] }), benchRecords(rows));
});

test("renderSvg: well-formed standalone SVG with one box per node, labels as text", () => {
  const d = viewData(injected(), { kernels: false });
  const svg = renderSvg([
    { caption: "forward", graph: d.forward, nodes: d.nodes },
    { caption: "optimized", graph: d.optimized!, nodes: d.nodes },
  ]);
  const doc = new JSDOM(svg, { contentType: "image/svg+xml" }).window.document;
  assert.equal(doc.querySelector("parsererror"), null);
  assert.equal(doc.querySelectorAll("g.node").length, expand(table(d), d.forward).nodes.length + expand(table(d), d.optimized!).nodes.length);
  assert.equal(doc.querySelectorAll("img").length, 0);
  assert.ok([...doc.querySelectorAll("text")].some((t) => t.textContent === INJECTED));
});

test("gradc view writes the page (and --svg the SVG) and prints the path", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-view-"));
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await command.run(["layernorm", "--shape", "6,4", "--out", join(dir, "ln.html")]);
    await command.run(["batchnorm", "--svg", "--out", join(dir, "bn.svg")]);
  } finally {
    console.log = log;
  }
  assert.deepEqual(lines, [join(dir, "ln.html"), join(dir, "bn.svg")]);
  assert.ok(readFileSync(join(dir, "ln.html"), "utf8").startsWith("<!DOCTYPE html>"));
  assert.ok(existsSync(join(dir, "bn.svg")));
  await assert.rejects(() => command.run(["nosuch"]), /unknown graph "nosuch"/);
  await assert.rejects(() => command.run(["batchnorm", "--shape", "3"]), /--shape/);
  writeFileSync(join(dir, "empty.json"), "[1, 2]");
  await assert.rejects(() => command.run(["batchnorm", "--bench", join(dir, "empty.json")]), /--bench file .*empty\.json has no timings to chart/);
});

test("buildPage inlines gradc and the d3 it uses, and needs no network", () => {
  const html = buildPage(viewData(zooGraph("rmsnorm", [4, 3]), { backward: false }));
  assert.ok(!/<script[^>]+src=/i.test(html) && !/<link[^>]+href=/i.test(html));
  assert.ok(html.includes("var gradcViewer=") && html.includes("gradcViewer.boot()"));
  assert.ok(html.length < 400_000, `a small graph's page is ${html.length} bytes`);
});
