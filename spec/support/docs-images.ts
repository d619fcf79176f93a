// Writes the viewer screenshots the docs show, from pages as `gradc view` writes them, in Debian's
// chromium at 1600x1000: `node dist/spec/support/docs-images.js` (about half a minute).
//   docs/viewer-derivation.png       gradc view batchnorm: the derivation's proof sketch and first steps
//   docs/viewer-attention-block.png  examples/attention-block.mjs: derived and optimized backward at open
//   docs/viewer-train-graph.png      the notebook's 6-layer net, training graph, at open (folded by layer)

import "../../ops/index.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";
import { FullyConnectedNet } from "../../nn/net.js";
import { view } from "../../viz/view.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const docs = join(repo, "docs");

function gradcView(args: string[], out: string): string {
  const r = spawnSync(process.execPath, [join(repo, "dist", "cli.js"), "view", ...args, "--out", out], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gradc view ${args.join(" ")}: ${r.stderr}`);
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "gradc-docs-images-"));
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  const open = async (file: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => (window as unknown as { __gradcRendered?: number }).__gradcRendered !== undefined, null, { timeout: 60_000 });
    return page;
  };
  try {
    const bn = await open(gradcView(["batchnorm"], join(dir, "bn.html")));
    await bn.locator("#derivation-section").screenshot({ path: join(docs, "viewer-derivation.png") });
    const block = await open(gradcView(["examples/attention-block.mjs"], join(dir, "block.html")));
    await block.locator("#backward-section").screenshot({ path: join(docs, "viewer-attention-block.png") });
    const net = new FullyConnectedNet([100, 100, 100, 100, 100], { inputDim: 3072, numClasses: 10, normalization: "batchnorm", seed: 231 });
    const trainPage = view(net.graph("train", 50), {
      title: "gradc view: the notebook's 6-layer net [100]x5 with batchnorm, training graph (batch 50)",
      backward: false,
      out: join(dir, "net.html"),
    }).path!;
    const train = await open(trainPage);
    await train.locator("#forward-section").screenshot({ path: join(docs, "viewer-train-graph.png") });
    for (const f of ["viewer-derivation.png", "viewer-attention-block.png", "viewer-train-graph.png"]) console.log(join("docs", f));
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
