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
import { benchRecords, toVizGraph } from "../viz/model.js";
import { buildPage, scriptJson } from "../viz/page.js";
import { renderSvg } from "../viz/svg.js";
import { view, viewData } from "../viz/view.js";
import { command } from "../cli/view.js";
import { injected, INJECTED, ladder } from "./viz-fixtures.js";

test("toVizGraph: one record per node, with its text line, inputs by id and kind", () => {
  const g = zooGraph("batchnorm", [6, 3]);
  const v = toVizGraph(g);
  const nodes = g.nodes();
  assert.equal(v.nodes.length, nodes.length);
  const names = numbering(g);
  const sub = nodes.find((n) => n.op === "sub")!;
  const rec = v.nodes.find((r) => r.id === sub.id)!;
  assert.equal(rec.text, printNode(sub, names));
  assert.deepEqual(rec.inputs, sub.inputs.map((x) => x.id));
  assert.equal(rec.kind, "elementwise");
  assert.equal(v.nodes.find((r) => r.op === "sum")!.kind, "reduce");
  assert.equal(v.nodes.find((r) => r.op === "broadcastTo")!.kind, "movement");
  assert.equal(v.nodes.find((r) => r.op === "input")!.kind, "input");
  assert.deepEqual(v.nodes.filter((r) => r.outputs.length).map((r) => r.outputs), [["out"]]);
});

test("viewData of batchnorm: backward from vjp, optimizer steps replayable, kernels or a note", () => {
  const d = viewData(zooGraph("batchnorm", [8, 3]));
  assert.ok(d.backward && d.optimized);
  assert.ok(d.backward.nodes.some((n) => n.from.startsWith("residual")), "residual inputs say which forward value they are");
  assert.ok(d.backward.nodes.some((n) => n.from.startsWith("the cotangent")));
  for (const s of d.steps) {
    const ids = new Set(s.graph.nodes.map((n) => n.id));
    assert.ok(s.produced.every((id) => ids.has(id)), `${s.rule}: produced nodes are in the graph after the step`);
  }
  if (d.steps.length) assert.deepEqual(d.steps[d.steps.length - 1].graph.stats, d.optimized.stats);
  assert.ok(d.kernels !== null || d.kernelNote.length > 0);
});

test("layoutDag: edges point down, boxes in a layer do not overlap, 2,000 nodes in well under a second", () => {
  const g = ladder(2000);
  const v = toVizGraph(g);
  const index = new Map(v.nodes.map((n, i) => [n.id, i]));
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
  assert.ok(ms < 1500, `layout of ${v.nodes.length} nodes took ${ms.toFixed(0)} ms`);
});

test("layoutDag: a cycle is an error that says so", () => {
  assert.throws(() => layoutDag({ sizes: [{ width: 1, height: 1 }, { width: 1, height: 1 }], edges: [[0, 1], [1, 0]] }), /cycle/);
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
  assert.equal(html.match(/<\/script>/g)!.length, 3, "exactly the page's own three scripts close");
});

test("benchRecords reads bench/batchnorm.ts's rows and flat records", () => {
  const rows = { rows: [{ id: "fused", label: "**fused**", dtype: "f64", cells: [{ N: 100, D: 500, ms: 0.1, ratio: 1 }, { N: 1024, D: 1024, skipped: "x" }] }] };
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
  const svg = renderSvg([{ caption: "forward", graph: d.forward }, { caption: "optimized", graph: d.optimized! }]);
  const doc = new JSDOM(svg, { contentType: "image/svg+xml" }).window.document;
  assert.equal(doc.querySelector("parsererror"), null);
  assert.equal(doc.querySelectorAll("g.node").length, d.forward.nodes.length + d.optimized!.nodes.length);
  assert.equal(doc.querySelectorAll("img").length, 0);
  assert.ok([...doc.querySelectorAll("text")].some((t) => t.textContent === INJECTED));
});

test("gradc view writes the page (and --svg the SVG) and prints the path", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-view-"));
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    command.run(["layernorm", "--shape", "6,4", "--out", join(dir, "ln.html")]);
    command.run(["batchnorm", "--svg", "--out", join(dir, "bn.svg")]);
  } finally {
    console.log = log;
  }
  assert.deepEqual(lines, [join(dir, "ln.html"), join(dir, "bn.svg")]);
  assert.ok(readFileSync(join(dir, "ln.html"), "utf8").startsWith("<!DOCTYPE html>"));
  assert.ok(existsSync(join(dir, "bn.svg")));
  assert.throws(() => command.run(["nosuch"]), /unknown graph "nosuch"/);
  assert.throws(() => command.run(["batchnorm", "--shape", "3"]), /--shape/);
  writeFileSync(join(dir, "empty.json"), "[1, 2]");
  assert.throws(() => command.run(["batchnorm", "--bench", join(dir, "empty.json")]), /--bench file .*empty\.json has no timings to chart/);
});

test("buildPage inlines d3 and needs no network", () => {
  const html = buildPage(viewData(zooGraph("rmsnorm", [4, 3]), { backward: false }));
  assert.ok(!/<script[^>]+src=/i.test(html) && !/<link[^>]+href=/i.test(html));
  assert.ok(html.includes("d3js.org v7"));
});
