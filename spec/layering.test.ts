// Layers only look down: core <- ops <- compile (autodiff, optimize, codegen; then export and check,
// which may use the three) <- viz, nn, spec, bench, cli. Checked on the sources: every relative import of every .ts file is resolved to the
// folder ("room") it lands in, and each room may import only the rooms listed for it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

// Tests run from dist/spec; the sources sit two levels up, beside dist/.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const LOWER = ["core", "ops"];
const PIPELINE = ["compile/autodiff", "compile/optimize", "compile/codegen"];
const WINGS = [...PIPELINE, "compile/export", "compile/check"];
const allowed: Record<string, readonly string[]> = {
  core: ["core"],
  ops: ["core", "ops"],
  "compile/autodiff": [...LOWER, "compile/autodiff"],
  "compile/optimize": [...LOWER, "compile/autodiff", "compile/optimize"],
  "compile/codegen": [...LOWER, "compile/optimize", "compile/codegen"],
  "compile/export": [...LOWER, ...PIPELINE, "compile/export"],
  "compile/check": [...LOWER, ...PIPELINE, "compile/check"],
  compile: [...LOWER, ...WINGS, "compile"],
  viz: [...LOWER, ...PIPELINE, "viz"],
  nn: [...LOWER, ...PIPELINE, "nn"],
};

/** The room a repository path belongs to: a compile wing, else its top-level folder ("." for root files). */
function roomOf(path: string): string {
  const parts = relative(root, path).split(sep);
  if (parts.length === 1) return ".";
  if (parts[0] === "compile" && parts.length > 2) return `compile/${parts[1]}`;
  return parts[0];
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|(?:^|\n)\s*import\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), m[1] ?? m[2] ?? m[3]));
}

test("no file imports a room above its own (core imports only core; the compile wings only what their headers allow)", () => {
  const violations: string[] = [];
  for (const file of sources(root)) {
    const from = roomOf(file);
    const may = allowed[from];
    if (!may) continue; // the top floor (spec, cli, bench, examples, root entry points) may import anything
    for (const target of importsOf(file)) {
      const to = roomOf(target);
      if (!may.includes(to)) violations.push(`${relative(root, file)} (${from}) imports ${relative(root, target)} (${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test("the check sees imports: core/node.ts imports core files, and a planted upward import would be caught", () => {
  const nodeImports = importsOf(join(root, "core", "node.ts")).map(roomOf);
  assert.ok(nodeImports.length > 0 && nodeImports.every((r) => r === "core"));
  assert.equal(roomOf(join(root, "compile", "optimize", "rules", "rule.ts")), "compile/optimize");
  assert.ok(!allowed.core.includes(roomOf(join(root, "ops", "index.ts"))));
});

test("each compile wing opens with a comment saying what it holds and what it may import", () => {
  for (const wing of WINGS) {
    const head = readFileSync(join(root, wing, "index.ts"), "utf8")
      .split("\n")
      .slice(0, 12)
      .join("\n");
    assert.match(head, /^\/\/ compile\/\w+: /, wing);
    assert.match(head, /May import:/, wing);
  }
});

test("spec/ holds the test files; the modules they share sit in spec/support/, and the library never imports spec/", () => {
  const top = readdirSync(join(root, "spec")).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"));
  assert.deepEqual(top, [], "support modules belong in spec/support/");
  const library = sources(root).filter(
    (f) => (!["spec", "bench", "examples", "cli"].includes(roomOf(f)) && roomOf(f) !== ".") || (f.endsWith(`${sep}index.ts`) && roomOf(f) === "."),
  );
  const into = library.flatMap((f) =>
    importsOf(f)
      .filter((t) => roomOf(t) === "spec")
      .map((t) => `${relative(root, f)} imports ${relative(root, t)}`),
  );
  assert.deepEqual(into, []);
});

test("no function in compile/ runs over about 80 lines (85): a longer one is asking to be split into named steps", () => {
  const long: string[] = [];
  for (const file of sources(join(root, "compile"))) {
    const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) && "body" in n && n.body) {
        const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
        const lines = sf.getLineAndCharacterOfPosition(n.getEnd()).line - first + 1;
        if (lines > 85) long.push(`${relative(root, file)}:${first + 1} (${lines} lines)`);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  assert.deepEqual(long, []);
});
