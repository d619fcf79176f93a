// The extending guide works as written: every ```js snippet of docs/extending.md is run, in order,
// as a file in a scratch directory inside the repository (so that "gradc" resolves to the package),
// and prints exactly the ```text block that follows it. A snippet whose first line is
// `// file: name.mjs` is a module the later ones import: it is saved, not run.
// After an intended change of output: UPDATE_GUIDE=1 node --test dist/spec/extending-guide.test.js

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const guidePath = join(root, "docs", "extending.md");

interface Snippet {
  code: string;
  file?: string;
  /** The expected output and where its text sits in the guide. */
  expected?: { text: string; start: number; end: number };
  line: number;
}

function snippets(md: string): Snippet[] {
  const fence = /```(\w*)\n([\s\S]*?)```/g;
  const out: Snippet[] = [];
  let m: RegExpExecArray | null;
  while ((m = fence.exec(md))) {
    const [, lang, body] = m;
    const line = md.slice(0, m.index).split("\n").length;
    if (lang === "js") {
      const file = /^\/\/ file: (\S+)\n/.exec(body)?.[1];
      out.push({ code: body, file, line });
    } else if (lang === "text" && out.length && !out[out.length - 1].expected && /^\s*$/.test(md.slice(lastEnd(md, m.index), m.index))) {
      const start = m.index + m[0].indexOf("\n") + 1;
      out[out.length - 1].expected = { text: body, start, end: start + body.length };
    }
  }
  return out;
}

/** Where the fence before `at` ends. */
function lastEnd(md: string, at: number): number {
  return md.lastIndexOf("```", at - 1) + 3;
}

test("every snippet of docs/extending.md runs and prints what the guide shows", () => {
  const md = readFileSync(guidePath, "utf8");
  const list = snippets(md);
  assert.ok(list.length >= 10, `found only ${list.length} snippets`);
  const dir = mkdtempSync(join(root, "dist", "guide-"));
  const updates: { start: number; end: number; text: string }[] = [];
  assert.ok(list.filter((s) => s.expected).length >= 10, "the snippets' outputs are shown in ```text blocks right after them");
  try {
    list.forEach((s, k) => {
      if (s.file) return writeFileSync(join(dir, s.file), s.code);
      const file = join(dir, `snippet-${k}.mjs`);
      writeFileSync(file, s.code);
      let stdout: string;
      try {
        stdout = execFileSync(process.execPath, [file], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      } catch (e) {
        assert.fail(`docs/extending.md line ${s.line}: the snippet fails:\n${(e as { stderr?: string }).stderr ?? e}`);
      }
      if (!s.expected) return;
      const got = stdout.trimEnd() + "\n";
      if (process.env.UPDATE_GUIDE) updates.push({ ...s.expected, text: got });
      else assert.equal(got, s.expected.text, `docs/extending.md line ${s.line}: the snippet prints something else (UPDATE_GUIDE=1 rewrites the outputs)`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (updates.length) {
    let text = md;
    for (const u of updates.reverse()) text = text.slice(0, u.start) + u.text + text.slice(u.end);
    writeFileSync(guidePath, text);
  }
});
