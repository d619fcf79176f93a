// Every command the README and docs/*.md show in a shell block runs as written. gradc commands
// and example scripts run for real in a scratch folder (examples/ and dist/ linked in, the
// README's model.mjs written from its own code block); the long ones (benchmarks, full
// experiments) are checked to be commands that exist, with options they accept; npm commands
// must be npm's own or a script package.json has.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(repo, "dist", "cli.js");
const docs = [
  "README.md",
  ...readdirSync(join(repo, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

interface Command {
  where: string;
  text: string;
  argv: string[];
}

/** The commands of a file's ```sh blocks: comments cut, `a && b` split. */
export function shellCommands(file: string, text: string): Command[] {
  const out: Command[] = [];
  let inBlock = false;
  text.split("\n").forEach((line, i) => {
    if (/^```(sh|bash|shell)\s*$/.test(line)) return void (inBlock = true);
    if (line.startsWith("```")) return void (inBlock = false);
    if (!inBlock) return;
    const code = line.replace(/(^|\s)#.*$/, "").trim();
    for (const part of code
      .split("&&")
      .map((s) => s.trim())
      .filter(Boolean))
      out.push({ where: `${file}:${i + 1}`, text: part, argv: part.split(/\s+/) });
  });
  return out;
}

/** A code block of the README that starts with `// <name>`, as written. */
function readmeFile(name: string): string {
  const m = readFileSync(join(repo, "README.md"), "utf8").match(new RegExp("```js\\n(// " + name.replace(".", "\\.") + "\\n[\\s\\S]*?)```"));
  assert.ok(m, `README.md has a js block starting // ${name}`);
  return m[1];
}

const run = (args: string[], cwd: string) =>
  new Promise<{ status: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (status) => resolve({ status, out }));
  });

const SHELL = new Set(["cd", "mkdir", "git"]);
const NPM_OWN = new Set(["ci", "install", "i", "pack", "test"]);
/** Long runs: checked, not run (a benchmark takes minutes; an experiment without --quick, tens of seconds). */
const long = (args: string[]) =>
  args[0] === "bench" ? !args.includes("--quick") : args[0] === "experiment" ? !args.includes("--quick") && args[1] !== undefined : false;

test("every command in README.md and docs/*.md runs as written", { timeout: 300_000 }, async (t) => {
  const commands = docs.flatMap((f) => shellCommands(f, readFileSync(join(repo, f), "utf8")));
  assert.ok(commands.length > 20, `${commands.length} commands found`);
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> };

  // a scratch folder as a reader has one: the clone's examples and build, the README's model.mjs
  const dir = mkdtempSync(join(tmpdir(), "gradc-docs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const d of ["examples", "dist"]) symlinkSync(join(repo, d), join(dir, d));
  mkdirSync(join(dir, "docs"));
  mkdirSync(join(dir, "bench", "results"), { recursive: true });
  // what `npm run bench` leaves for `gradc view --bench` (bench/batchnorm.ts's JSON shape)
  writeFileSync(
    join(dir, "bench", "results", "batchnorm.json"),
    JSON.stringify({ rows: [{ id: "fused", label: "fused", dtype: "f64", cells: [{ N: 100, D: 500, ms: 0.04, ratio: 1 }] }] }),
  );
  writeFileSync(join(dir, "model.mjs"), readmeFile("model.mjs"));

  const jobs: { c: Command; args: string[] }[] = [];
  const helpOf = new Map<string, string>();
  for (const c of commands) {
    const [head, ...rest] = c.argv;
    if (SHELL.has(head)) continue;
    if (head === "npm") {
      const ok = NPM_OWN.has(rest[0]) || (rest[0] === "run" && Object.hasOwn(pkg.scripts, rest[1]));
      assert.ok(ok, `${c.where}: \`${c.text}\` is neither npm's own command nor a package.json script`);
      continue;
    }
    assert.notEqual(head, "gradc", `${c.where}: \`${c.text}\`: a bare gradc is not on PATH; write npx gradc`);
    let args: string[];
    if (head === "npx" && rest[0] === "gradc") args = [cli, ...rest.slice(1)];
    else if (head === "node" && rest[0] === "dist/cli.js") args = [cli, ...rest.slice(1)];
    else if (head === "node" && rest[0]?.startsWith("dist/")) args = [join(repo, rest[0]), ...rest.slice(1)];
    else assert.fail(`${c.where}: \`${c.text}\`: not a command this test knows how to run`);
    assert.ok(existsSync(args[0]), `${c.where}: ${args[0]} does not exist`);
    for (const a of args) assert.doesNotMatch(a, /^\[|\]$|^<|>$|FILE|DIR/, `${c.where}: \`${c.text}\` has a placeholder; write a real value`);
    const gradcArgs = args[0] === cli ? args.slice(1) : null;
    if (gradcArgs ? long(gradcArgs) : args[0].includes("/bench/")) {
      // checked: the command exists and takes these options
      const flags = args.filter((a) => a.startsWith("--"));
      let help: string;
      if (gradcArgs) {
        if (!helpOf.has(gradcArgs[0])) helpOf.set(gradcArgs[0], (await run([cli, "help", gradcArgs[0]], dir)).out);
        help = helpOf.get(gradcArgs[0])!;
      } else help = readFileSync(args[0], "utf8");
      for (const f of flags) assert.ok(help.includes(f), `${c.where}: \`${c.text}\`: ${f} is not an option of it`);
      continue;
    }
    jobs.push({ c, args });
  }
  // two at a time (the machine has two cores)
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { c, args } = jobs[next++];
      const r = await run(args, dir);
      assert.equal(r.status, 0, `${c.where}: \`${c.text}\` exited ${r.status}:\n${r.out.slice(-1500)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  t.diagnostic(`${jobs.length} commands run, ${commands.length - jobs.length} checked`);
});
