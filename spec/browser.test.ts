// The viewer in a real browser (Debian's chromium driven by playwright-core): what a person sees.
// Skips when /usr/bin/chromium is absent, except in CI (CI=true), where that is a failure.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { zooGraph } from "../ops/zoo.js";
import { view, viewData } from "../viz/view.js";
import { expand, StepGraphs, tableOf, textLine } from "../viz/graphs.js";
import type { PageData, VizGraph } from "../viz/model.js";
import { traceSource } from "../viz/browser.js";
import { FullyConnectedNet } from "../nn/net.js";
import { injected, INJECTED, ladder, mlpBackward } from "./support/viz-fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const absent = !existsSync(CHROMIUM);
if (absent && process.env.CI) throw new Error(`browser tests: ${CHROMIUM} is missing in CI (.ci/run installs Debian's chromium)`);
const skip = absent ? `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests` : false;

const outDir = resolve("out");
let context: BrowserContext;
let profile: string;
let pages: string;

before(async () => {
  if (skip) return;
  profile = mkdtempSync(join(tmpdir(), "gradc-chromium-"));
  pages = mkdtempSync(join(tmpdir(), "gradc-pages-"));
  mkdirSync(outDir, { recursive: true });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
    viewport: { width: 1400, height: 900 },
  });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (pages) rmSync(pages, { recursive: true, force: true });
});

/** Open a written page; collect page errors and dialogs; wait for the page's rendered flag. */
async function open(file: string): Promise<{ page: Page; errors: string[]; dialogs: string[]; renderedMs: number }> {
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { __gradcRendered?: number }).__gradcRendered !== undefined, null, { timeout: 20_000 });
  const renderedMs = await page.evaluate(() => (window as unknown as { __gradcRendered: number }).__gradcRendered);
  return { page, errors, dialogs, renderedMs };
}

const count = (page: Page, sel: string) => page.locator(sel).count();

const nodesOf = (d: PageData, g: Pick<VizGraph, "inputs" | "outputs">) => expand(tableOf(d.nodes), g).nodes;

/** Page boxes of a selector, as client rectangles. */
const rects = (page: Page, sel: string) =>
  page.locator(sel).evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height };
    }),
  );
const overlap = (a: { x: number; y: number; w: number; h: number }, b: typeof a) =>
  a.x + a.w > b.x + 0.5 && b.x + b.w > a.x + 0.5 && a.y + a.h > b.y + 0.5 && b.y + b.h > a.y + 0.5;

test("batchnorm: the derivation names sum(xhat) = 0, kernels are clusters that never overlap, labels fit, search finds %ids and ops", { skip }, async () => {
  const bench = [
    { impl: "naive", N: 100, D: 500, dtype: "f64", msPerCall: 19, ratioToFused: 51 },
    { impl: "naive", N: 1024, D: 1024, dtype: "f64", msPerCall: 334, ratioToFused: 38 },
    { impl: "fused", N: 100, D: 500, dtype: "f64", msPerCall: 0.37, ratioToFused: 1 },
    { impl: "fused", N: 1024, D: 1024, dtype: "f64", msPerCall: 8.8, ratioToFused: 1 },
  ];
  const { path, data } = view(zooGraph("batchnorm", [200, 3]), { title: "batchnorm", bench, out: join(pages, "bn.html") });
  const { page, errors } = await open(path!);
  assert.deepEqual(errors, []);
  // the proof sketch
  const summary = (await page.locator("#summary li").allTextContents()).join("\n");
  assert.match(summary, /sum\(xhat\) = 0, by the forward's definition xhat = xc \/ std/);
  assert.match(summary, /reduction depth \(sequential sweeps\) 2 → 1/);
  // every recorded step changed the graph, and the page lists each once
  assert.equal(await count(page, "li.step"), data.steps.length);
  const graphs = new StepGraphs(tableOf(data.nodes), data);
  for (let k = 1; k <= data.steps.length; k++) assert.notDeepEqual(graphs.graph(k).outputs, graphs.graph(k - 1).outputs);
  assert.ok(
    (await count(page, "li.step.cancels")) >= 1 && (await count(page, "li.step.cancels")) < data.steps.length / 2,
    "only true cancellations are marked",
  );
  // one box per node, %k on each
  assert.equal(await count(page, "#pane-forward g.node"), nodesOf(data, data.forward).length);
  assert.equal(await count(page, "#pane-optimized g.node"), nodesOf(data, data.optimized!).length);
  const shapes = await page.locator("#pane-optimized g.node:not(.kind-input):not(.kind-const) text.shape").allTextContents();
  assert.ok(shapes.length > 0 && shapes.every((t) => /^%\d+ · f64\[/.test(t)), shapes.join(" | "));
  // kernels: one cluster each, no two overlap, no node in two
  assert.ok(data.kernels && data.kernels.length >= 2);
  assert.equal(await count(page, "#pane-optimized g.cluster.kernel"), data.kernels.length);
  const hulls = await rects(page, "#pane-optimized g.cluster.kernel > rect");
  for (let i = 0; i < hulls.length; i++)
    for (let j = i + 1; j < hulls.length; j++) assert.ok(!overlap(hulls[i], hulls[j]), `kernel clusters ${i} and ${j} overlap`);
  // every label inside its box, and cluster labels inside their clusters
  for (const pane of ["#pane-forward", "#pane-backward", "#pane-optimized", "#player-after"]) {
    const bad = await page.locator(`${pane} g.node, ${pane} g.cluster`).evaluateAll((els) =>
      els.flatMap((g) => {
        const box = g.querySelector("rect")!.getBoundingClientRect();
        return [...g.querySelectorAll(":scope > text")]
          .map((t) => ({ r: t.getBoundingClientRect(), text: t.textContent }))
          .filter(({ r }) => r.x < box.x - 0.5 || r.right > box.right + 0.5 || r.y < box.y - 0.5 || r.bottom > box.bottom + 0.5)
          .map(({ text }) => text);
      }),
    );
    assert.deepEqual(bad, [], `${pane}: labels outside their boxes`);
  }
  // the bench chart: one bar per record, the fused rows marked, labels whole
  assert.equal(await count(page, "#bench g.bar"), 4);
  assert.equal(await count(page, "#bench g.bar.fused"), 2);
  assert.deepEqual(new Set(await page.locator("#bench text.legend").allTextContents()), new Set(["naive", "◆ fused"]));
  // search by %k and by op
  const opt = expand(tableOf(data.nodes), data.optimized!);
  const sub = opt.nodes.find((n) => n.op === "sub")!;
  await page.fill("#search", opt.names.get(sub.id)!);
  await page.click("#search-go");
  assert.ok((await count(page, `#pane-optimized g.node.found[data-id="${sub.id}"]`)) === 1, "search by %k finds the node in the optimized pane");
  await page.fill("#search", "sum");
  await page.press("#search", "Enter");
  assert.equal(await count(page, "#pane-optimized g.node.found"), opt.nodes.filter((n) => n.op === "sum").length);
  // the side panel
  // (the pane may have panned it under the side panel: the click is dispatched to the box itself)
  await page.locator(`#pane-optimized g.node[data-id="${sub.id}"]`).dispatchEvent("click");
  assert.equal(await page.locator("#info-text").textContent(), textLine(sub, opt.names));
  assert.match((await page.locator("#info-kernel").textContent())!, /^k\d+$/);
  assert.match((await page.locator("#info-stats").textContent())!, /^min .* mean .* max/);
  assert.equal(await count(page, "#pane-optimized g.node.in"), new Set(sub.inputs).size);
  // a kernel cluster's label opens its source (stored gzipped in the page, inflated when opened), parameters named
  await page.locator("#pane-optimized g.cluster.kernel > text").first().dispatchEvent("click");
  await page.waitForFunction(() => (document.querySelector("details.kernel-info[open] pre")?.textContent ?? "") !== "", null, { timeout: 5000 });
  assert.match((await page.locator("details.kernel-info[open] pre").first().textContent())!, /^\/\/ parameters:\n\/\/   in\d+ = %\w+[\s\S]*function k\d/);
  await page.locator("#derivation-section").screenshot({ path: join(outDir, "viewer-derivation.png") });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the step player: a step shows its law, formula and counts; rebuilt parents are rewritten, not cancelled", { skip }, async () => {
  const { path, data } = view(zooGraph("batchnorm", [200, 3]), { out: join(pages, "bn-player.html") });
  const { page, errors } = await open(path!);
  await page.click("#player-first");
  const rule = await page.locator("#player-rule").textContent();
  assert.equal(rule, `${data.steps[0].rule}: ${data.steps[0].law}`);
  await page.locator(`li.step[data-step="${data.steps.findIndex((s) => s.rule === "sum-of-residual") + 1}"]`).click();
  assert.match((await page.locator("#player-counts").textContent())!, /sum\(xhat\) = 0/);
  assert.ok((await count(page, "#player-before g.node.cancelled")) >= 1, "xhat is marked cancelled");
  const collect = data.steps.findIndex((s) => s.group === "factoring" && s.cancelled.length === 0) + 1;
  await page.locator(`li.step[data-step="${collect}"]`).click();
  assert.equal(await count(page, "#player-before g.node.cancelled"), 0);
  assert.ok((await count(page, "#player-before g.node.rewritten")) + (await count(page, "#player-before g.node.matched")) > 0);
  await page.click("#player-last");
  assert.match((await page.locator("#player-counts").textContent())!, new RegExp(`^step ${data.steps.length} of ${data.steps.length}`));
  assert.deepEqual(errors, []);
  await page.close();
});

test("a training graph opens folded by layer; a scope unfolds and folds again", { skip }, async () => {
  const net = new FullyConnectedNet([20, 20, 20, 20, 20], { inputDim: 12, numClasses: 4, normalization: "batchnorm", seed: 3 });
  const { path, data } = view(net.graph("train", 8), { title: "6-layer net, training graph", backward: false, out: join(pages, "net.html") });
  const { page, errors } = await open(path!);
  assert.deepEqual(errors, []);
  const all = nodesOf(data, data.forward).length;
  const visible = await count(page, "#pane-forward g.node");
  assert.ok(all > 300 && visible < 40, `${all} nodes open as ${visible} boxes`);
  const folded = await count(page, "#pane-forward g.node.folded");
  assert.ok(folded >= 6, "one folded box per layer");
  await page.locator('#pane-forward g.node.folded[data-path="layer 3"]').click();
  assert.equal(await count(page, "#pane-forward g.node.folded"), folded - 1, "layer 3 is unfolded, its inner scopes drawn as clusters");
  assert.ok((await count(page, "#pane-forward g.node")) > visible, "unfolding shows the layer's boxes");
  assert.equal(await count(page, '#pane-forward g.cluster[data-path="layer 3"]'), 1);
  await page.locator('#pane-forward g.cluster[data-path="layer 3"] > text').click();
  assert.equal(await count(page, "#pane-forward g.node"), visible, "folding it again");
  await page.fill("#search", "layer 3/batchnorm");
  await page.press("#search", "Enter");
  assert.ok((await count(page, "#pane-forward g.node.found")) > 0, "search finds a scope's nodes and unfolds them");
  assert.deepEqual(errors, []);
  await page.close();
});

test("editing the function in the page re-traces, re-derives and re-draws it, offline", { skip }, async () => {
  const { path, data } = view(zooGraph("batchnorm", [200, 3]), {
    title: "batchnorm",
    out: join(pages, "bn-edit.html"),
    source: "trace({ x: [200, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out)",
  });
  const { page, errors } = await open(path!);
  assert.equal(await page.locator("#editor").inputValue(), data.source);
  const edited = "trace({ x: [200, 3], gamma: [3] }, ({ x, gamma }) => rmsnorm(x, gamma))";
  const expected = viewData(traceSource(edited));
  await page.fill("#editor", edited);
  await page.click("#rederive");
  await page.waitForFunction(() => (window as unknown as { __gradcDerived?: number }).__gradcDerived === 1, null, { timeout: 20_000 });
  assert.match((await page.locator("#editor-status").textContent())!, /^re-derived in \d+ ms: forward \d+ nodes/);
  assert.equal(await count(page, "#pane-forward g.node"), nodesOf(expected, expected.forward).length);
  assert.equal(await count(page, "li.step"), expected.steps.length);
  assert.notEqual(expected.forward.stats.nodes, data.forward.stats.nodes);
  await page.fill("#editor", "trace({ x: [2, 3] }, ({ x }) => x.frobnicate())");
  await page.click("#rederive");
  assert.match((await page.locator("#editor-status").textContent())!, /frobnicate/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("an input named <img src=x onerror=alert(1)> shows those characters and runs nothing", { skip }, async () => {
  const { path } = view(injected(), { title: `injected ${INJECTED}`, out: join(pages, "injected.html") });
  const { page, errors, dialogs } = await open(path!);
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, [], "no dialog fired");
  assert.deepEqual(errors, []);
  assert.equal(await count(page, "img"), 0, "no <img> element was created");
  assert.ok((await page.locator("#pane-forward g.node text.title").allTextContents()).includes(INJECTED));
  assert.equal(await page.locator("#title").textContent(), `injected ${INJECTED}`);
  assert.equal(await page.title(), `injected ${INJECTED}`);
  await page.close();
});

for (const [name, build] of [
  ["ladder", () => ladder(2000)],
  ["MLP backward", () => mlpBackward(125)],
] as const) {
  test(`a 2,000-node graph (${name}) lays out and renders every box (the time is printed: speed belongs to benchmarks)`, { skip }, async () => {
    const { path, data } = view(build(), { title: name, backward: false, out: join(pages, "big.html") });
    const { page, errors, renderedMs } = await open(path!);
    assert.deepEqual(errors, []);
    const boxes = await count(page, "#pane-forward g.node");
    assert.equal(boxes, nodesOf(data, data.forward).length);
    assert.ok(boxes >= 2000);
    console.log(`# ${name}, ${boxes} nodes: laid out, drawn and painted ${renderedMs.toFixed(0)} ms after navigation start (headless chromium)`);
    await page.close();
  });
}
