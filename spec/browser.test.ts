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
import { view } from "../viz/view.js";
import { injected, INJECTED, ladder, mlpBackward } from "./viz-fixtures.js";

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
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
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

test("batchnorm: one box per node in each pane, hover shows the node's text, click marks its neighbours", { skip }, async () => {
  const bench = [
    { impl: "naive", N: 100, D: 500, dtype: "f64", msPerCall: 19, ratioToFused: 51 },
    { impl: "naive", N: 1024, D: 1024, dtype: "f64", msPerCall: 334, ratioToFused: 38 },
    { impl: "fused", N: 100, D: 500, dtype: "f64", msPerCall: 0.37, ratioToFused: 1 },
    { impl: "fused", N: 1024, D: 1024, dtype: "f64", msPerCall: 8.8, ratioToFused: 1 },
  ];
  const { path, data } = view(zooGraph("batchnorm", [200, 3]), { title: "batchnorm", bench, out: join(pages, "bn.html") });
  const { page, errors } = await open(path!);
  assert.deepEqual(errors, []);
  assert.equal(await count(page, "#pane-forward g.node"), data.forward.nodes.length);
  assert.equal(await count(page, "#pane-backward g.node"), data.backward!.nodes.length);
  assert.equal(await count(page, "#pane-optimized g.node"), data.optimized!.nodes.length);
  if (data.kernels) assert.equal(await count(page, "#pane-optimized g.kernel"), data.kernels.length);
  assert.equal(await count(page, "#bench g.series"), 2, "one line per implementation in the bench chart");
  assert.equal(await count(page, "#bench circle"), 4);

  const sub = data.optimized!.nodes.find((n) => n.op === "sub") ?? data.optimized!.nodes[data.optimized!.nodes.length - 1];
  const box = page.locator(`#pane-optimized g.node[data-id="${sub.id}"]`);
  await box.hover();
  assert.equal(await page.locator("#info-text").textContent(), sub.text);
  assert.equal(await page.locator("#info-shape").textContent(), `[${sub.shape.join(", ")}]`);
  await box.click();
  assert.equal(await count(page, "#pane-optimized g.node.in"), new Set(sub.inputs).size);
  assert.ok((await count(page, "#pane-optimized g.node.sel")) === 1);
  const xhat = data.backward!.nodes.find((n) => n.kind === "input" && n.title === "xhat")!;
  await page.locator(`#pane-backward g.node[data-id="${xhat.id}"]`).hover();
  assert.match((await page.locator("#info-from").textContent())!, /^residual xhat, saved by the forward/);
  if (data.kernels) {
    await page.locator("#pane-optimized g.kernel text").first().click();
    // the source is filled in by the <details> toggle event, which fires asynchronously
    await page.waitForFunction(() => (document.querySelector("details.kernel-info[open] pre")?.textContent ?? "") !== "", null, { timeout: 5000 });
    assert.match((await page.locator("details.kernel-info[open] pre").first().textContent())!, /function/);
  }
  await page.screenshot({ path: join(outDir, "viewer-batchnorm.png"), fullPage: true });
  await page.close();
});

test("the rewrite player: stepping changes the rule, the highlighted nodes and the counts", { skip }, async () => {
  const { path, data } = view(zooGraph("batchnorm", [200, 3]), { out: join(pages, "bn-player.html") });
  assert.ok(data.steps.length >= 2, "the optimizer rewrites batchnorm's backward in several steps");
  const { page } = await open(path!);
  const state = async () => ({
    counts: await page.locator("#player-counts").textContent(),
    marked: await page.locator("#player-before g.node.matched, #player-after g.node.produced").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")).join(",")),
  });
  const first = await state();
  assert.match(first.counts!, new RegExp(`^step 1 of ${data.steps.length} · nodes ${data.backward!.stats.nodes} → ${data.steps[0].graph.stats.nodes}`));
  assert.equal(await page.locator("#player-rule").textContent(), data.steps[0].rule);
  assert.ok(first.marked.length > 0, "step 1 highlights nodes");
  assert.equal(await count(page, "#player-after g.node"), data.steps[0].graph.nodes.length);
  await page.click("#player-next");
  const second = await state();
  assert.notEqual(second.counts, first.counts);
  assert.notEqual(second.marked, first.marked);
  assert.equal(await page.locator("#player-rule").textContent(), data.steps[1].rule);
  await page.click("#player-last");
  const last = data.steps[data.steps.length - 1];
  assert.match((await page.locator("#player-counts").textContent())!, new RegExp(`→ ${last.graph.stats.nodes} · reduction depth \\d+ → ${last.graph.stats.reductionDepth}`));
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

for (const [name, build] of [["ladder", () => ladder(2000)], ["MLP backward", () => mlpBackward(125)]] as const) {
  test(`a 2,000-node graph (${name}) lays out and renders in under 3 s`, { skip }, async () => {
    const { path, data } = view(build(), { title: name, backward: false, out: join(pages, "big.html") });
    const { page, errors, renderedMs } = await open(path!);
    assert.deepEqual(errors, []);
    const boxes = await count(page, "#pane-forward g.node");
    assert.equal(boxes, data.forward.nodes.length);
    assert.ok(boxes >= 2000);
    console.log(`# ${name}, ${boxes} nodes: laid out, drawn and painted ${renderedMs.toFixed(0)} ms after navigation start (headless chromium)`);
    assert.ok(renderedMs < 3000, `took ${renderedMs.toFixed(0)} ms`);
    await page.screenshot({ path: join(outDir, `viewer-${name.replace(/ /g, "-")}.png`) });
    await page.close();
  });
}
