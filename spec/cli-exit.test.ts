// The command line's process and output paths (issue 27): the process exits once the command is
// done (a timer a module left running does not keep it alive), and `export --out` writes through a
// symbolic link (the link kept) or to /dev/stdout (it prints), never replacing either with a
// regular file. Each run has a hard timeout: a hang fails the test, it does not block the suite.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
const gradc = (args: string[], cwd?: string) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 20_000, cwd });
const json = ["export", "batchnorm", "--format", "json", "--shape", "4,3", "--out"];

test("a module that leaves a timer running: the command prints and exits 0 (was: never exited)", { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-exit-"));
  try {
    writeFileSync(join(dir, "timer.mjs"), "setInterval(() => {}, 1000);\nexport default { inputs: { x: [3] }, fn: ({ x }) => x.mul(x).sum() };\n");
    const r = gradc(["inspect", "./timer.mjs"], dir);
    assert.equal(r.signal, null, "killed by the timeout: the process did not exit");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /the gradient of out/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("export --out through a symbolic link writes its target and keeps the link; --out /dev/stdout prints", { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-out-"));
  try {
    writeFileSync(join(dir, "target.json"), "old");
    symlinkSync("target.json", join(dir, "link.json"));
    const r = gradc([...json, join(dir, "link.json")]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lstatSync(join(dir, "link.json")).isSymbolicLink(), "the link is still a link");
    assert.equal(readlinkSync(join(dir, "link.json")), "target.json");
    assert.match(readFileSync(join(dir, "target.json"), "utf8"), /"format": "gradc-graph"/);
    const out = gradc([...json, "/dev/stdout"]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^\{\n {2}"format": "gradc-graph"/);
    assert.match(out.stderr, /wrote \/dev\/stdout/, "the note goes to stderr, out of the data's way");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
