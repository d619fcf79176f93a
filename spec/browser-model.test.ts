// The viewer on models (Debian's chromium driven by playwright-core, 1600x1000 as a laptop has):
// labels readable at the zoom a pane opens with, folds in data-flow order, unfolding shows what
// was unfolded, search by a composite's name, no empty sections, and the editor holding a module's
// own source (its local imports bundled in) that re-runs and refreshes the page after an edit.
// Skips when /usr/bin/chromium is absent, except in CI (CI=true), where that is a failure.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { zooGraph } from "../ops/zoo.js";
import { view } from "../viz/view.js";
import { FullyConnectedNet } from "../nn/net.js";
import { READABLE_ZOOM } from "../viz/overview.js";

const CHROMIUM = "/usr/bin/chromium";
const absent = !existsSync(CHROMIUM);
if (absent && process.env.CI) throw new Error(`browser tests: ${CHROMIUM} is missing in CI (.ci/run installs Debian's chromium)`);
const skip = absent ? `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests` : false;

const repo = fileURLToPath(new URL("../../", import.meta.url));
let browser: Browser;
let pages: string;
let blockPage: string;
let netPage: string;

before(async () => {
  if (skip) return;
  pages = mkdtempSync(join(tmpdir(), "gradc-model-pages-"));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  // a user's module with a local import, written as a user writes it, through the command
  blockPage = join(pages, "block.html");
  const r = spawnSync(process.execPath, [join(repo, "dist", "cli.js"), "view", "examples/attention-block.mjs", "--out", blockPage], {
    cwd: repo,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  // the notebook's 6-layer net: its training graph (forward, loss and every gradient)
  const net = new FullyConnectedNet([100, 100, 100, 100, 100], { inputDim: 3072, numClasses: 10, normalization: "batchnorm", seed: 231 });
  netPage = view(net.graph("train", 50), { title: "6-layer net, training graph", backward: false, out: join(pages, "net.html") }).path!;
});

after(async () => {
  await browser?.close();
  if (pages) rmSync(pages, { recursive: true, force: true });
});

async function open(file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { __gradcRendered?: number }).__gradcRendered !== undefined, null, { timeout: 30_000 });
  return { page, errors };
}

/** Each drawn pane: its zoom, whether its overview shows, and its boxes. */
const panes = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(".pane")]
      .filter((p) => p.offsetParent !== null && p.querySelector("g.node"))
      .map((p) => ({
        id: p.id,
        zoom: Number(
          p
            .querySelector("g.viewport")!
            .getAttribute("transform")!
            .match(/scale\(([\d.e-]+)\)/)![1],
        ),
        overview: (p.querySelector("svg.graph") as SVGElement).dataset.overview,
        boxes: p.querySelectorAll("g.node").length,
        view: [p.querySelector("svg.graph")!.clientWidth, p.querySelector("svg.graph")!.clientHeight],
      })),
  );

test("labels are readable at the zoom every pane opens with; a drawing that does not fit has an overview", { skip }, async () => {
  for (const file of [blockPage, netPage]) {
    const { page, errors } = await open(file);
    const shown = await panes(page);
    assert.ok(shown.length >= 1);
    for (const p of shown) {
      assert.ok(p.zoom >= READABLE_ZOOM - 1e-9, `${p.id} opens at zoom ${p.zoom}: 11 px labels drawn at ${(11 * p.zoom).toFixed(1)} px`);
      const size = await page.locator(`#${p.id} g.drawing`).evaluate((g) => {
        const b = (g as SVGGElement).getBBox();
        return { width: b.width, height: b.height };
      });
      const fits = (size.width + 32) * READABLE_ZOOM <= p.view[0] && (size.height + 32) * READABLE_ZOOM <= p.view[1];
      if (!fits)
        assert.equal(
          p.overview,
          "shown",
          `${p.id}: the drawing (${size.width.toFixed(0)}x${size.height.toFixed(0)}) is larger than the pane (${p.view.join("x")}) at zoom ${p.zoom}, so the overview shows`,
        );
    }
    // the measured size of a label, as the reader sees it
    const px = await page
      .locator(".pane g.node text.title")
      .first()
      .evaluate((t) => t.getBoundingClientRect().height);
    assert.ok(px >= 9, `a label is ${px.toFixed(1)} px high`);
    assert.deepEqual(errors, []);
    await page.close();
  }
});

test("a training graph folds in data-flow order: layer 1 ... layer 6, then the loss", { skip }, async () => {
  const { page, errors } = await open(netPage);
  const folded = await page
    .locator("#pane-forward g.node.folded")
    .evaluateAll((els) => els.map((e) => ({ path: e.getAttribute("data-path")!, y: e.getBoundingClientRect().y })).sort((a, b) => a.y - b.y));
  const order = folded.map((f) => f.path).filter((p) => /^layer \d$|^softmaxCrossEntropy$/.test(p));
  assert.deepEqual(
    order,
    ["layer 1", "layer 2", "layer 3", "layer 4", "layer 5", "layer 6", "softmaxCrossEntropy"],
    `top to bottom: ${folded.map((f) => f.path).join(", ")}`,
  );
  for (let i = 1; i < folded.length; i++) if (order.includes(folded[i].path) && order.includes(folded[i - 1].path)) assert.ok(folded[i].y > folded[i - 1].y);
  // unfolding a layer shows it: its cluster is in view, at a readable zoom
  await page.locator('#pane-forward g.node.folded[data-path="layer 3"]').click();
  const pane = await page.locator("#pane-forward svg.graph").evaluate((s) => s.getBoundingClientRect());
  const cluster = await page.locator('#pane-forward g.cluster[data-path="layer 3"] > rect').evaluate((r) => r.getBoundingClientRect());
  assert.ok(
    cluster.x >= pane.x - 1 && cluster.y >= pane.y - 1 && cluster.x < pane.x + pane.width && cluster.y < pane.y + pane.height,
    `layer 3 at ${JSON.stringify(cluster)} in the pane ${JSON.stringify(pane)}`,
  );
  assert.ok((await panes(page)).find((p) => p.id === "pane-forward")!.zoom >= READABLE_ZOOM - 1e-9);
  assert.deepEqual(errors, []);
  await page.close();
});

test('search finds composites by name ("softmax", "layernorm") and a whole layer ("layer 3")', { skip }, async () => {
  const { page, errors } = await open(blockPage);
  for (const q of ["softmax", "layernorm", "query"]) {
    await page.fill("#search", q);
    await page.press("#search", "Enter");
    assert.match((await page.locator("#search-status").textContent())!, /^\d+ found$/, `"${q}" is found`);
    assert.ok((await page.locator("#pane-forward g.node.found").count()) > 0, `"${q}" marks boxes in the forward pane`);
  }
  await page.close();
  const net = await open(netPage);
  await net.page.fill("#search", "layer 3");
  await net.page.press("#search", "Enter");
  const found = await net.page.locator("#pane-forward g.node.found").count();
  const layer = await net.page
    .locator("#pane-forward g.cluster")
    .evaluateAll((cs) => cs.filter((c) => c.getAttribute("data-path")!.startsWith("layer 3")).length);
  assert.ok(found > 20 && layer >= 1, `"layer 3" marks the layer's ${found} boxes (its affine, batchnorm and relu and their gradients), not 3`);
  assert.deepEqual([...errors, ...net.errors], []);
  await net.page.close();
});

test("a forward-only page draws no empty derivation, step list, player or kernel sections", { skip }, async () => {
  const { page, errors } = await open(netPage);
  for (const id of ["derivation-section", "player", "backward-section", "kernels-section"])
    assert.equal(await page.locator(`#${id}`).isVisible(), false, `#${id} is not drawn`);
  assert.equal(await page.locator("#forward-section").isVisible(), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a module's page carries its own source with its local imports; an edit re-runs it and refreshes title, panes, panel and search", { skip }, async () => {
  const { page, errors } = await open(blockPage);
  const source = await page.locator("#editor").inputValue();
  assert.match(source, /function attention\(x, p, heads\)/, "the local import's code is in the editor");
  assert.match(source, /scope\d*\("attention block"/, "and the module's own");
  assert.doesNotMatch(source, /\bop\("/, "not a generated list of op(...) calls");
  // select a node, then edit: layernorm -> rmsnorm in both blocks
  await page.locator("#pane-forward g.node:not(.folded)").first().click();
  assert.notEqual(await page.locator("#info-text").textContent(), "hover or click a box");
  const before = await page.locator("#pane-forward g.node").count();
  await page.fill(
    "#editor",
    source
      .replace(/\blayernorm\(([^,]+), ([^,]+), [^)]+\)/g, "rmsnorm($1, $2)")
      .replace(/\bb1: \[D\], /, "")
      .replace(/, b2: \[D\]/, ""),
  );
  await page.click("#rederive");
  await page.waitForFunction(() => (window as unknown as { __gradcDerived?: number }).__gradcDerived === 1, null, { timeout: 60_000 });
  assert.match((await page.locator("#editor-status").textContent())!, /^re-derived in \d+ ms/, (await page.locator("#editor-status").textContent())!);
  assert.match((await page.locator("#title").textContent())!, /^gradc view: attention block, mlp block \[32,64\] f64 \(edited in the page\)$/);
  assert.equal(await page.title(), await page.locator("#title").textContent());
  assert.equal(await page.locator("#info-text").textContent(), "hover or click a box", "the side panel no longer shows a node of the old graph");
  assert.notEqual(await page.locator("#pane-forward g.node").count(), before, "the panes are drawn from the edited module");
  await page.fill("#search", "rmsnorm");
  await page.press("#search", "Enter");
  assert.match((await page.locator("#search-status").textContent())!, /^\d+ found$/);
  await page.fill("#search", "layernorm");
  await page.press("#search", "Enter");
  assert.equal(await page.locator("#search-status").textContent(), "not found");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a built-in graph edited in the page retitles it: batchnorm -> layernorm", { skip }, async () => {
  const source = "trace({ x: [200, 3], gamma: [3], beta: [3] }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out)";
  const { path } = view(zooGraph("batchnorm", [200, 3]), { title: "gradc view: batchnorm [200,3] f64", out: join(pages, "bn.html"), source });
  const { page, errors } = await open(path!);
  await page.fill("#editor", source.replace("batchnorm(x, gamma, beta).out", "layernorm(x, gamma, beta)"));
  await page.click("#rederive");
  await page.waitForFunction(() => (window as unknown as { __gradcDerived?: number }).__gradcDerived === 1, null, { timeout: 30_000 });
  assert.equal(await page.locator("#title").textContent(), "gradc view: layernorm [200,3] f64 (edited in the page)");
  assert.deepEqual(errors, []);
  await page.close();
});
