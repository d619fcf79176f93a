// Output paths are checked before long work starts: a path under a file, an unwritable folder or a
// pseudo-filesystem (/proc) is a GradcError naming the option, not a stack trace after training
// finished (results lost) or a hang (node's recursive mkdir loops on /proc).

import { mkdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { GradcError } from "../core/errors.js";

/**
 * Make sure `path` can be written: its folders exist (created one at a time) and a probe file can
 * be written next to it. `kind` "dir": `path` is a folder to write files into. Returns the absolute path.
 *
 *   const file = checkOutputPath("view", "--out", "pages/bn.html");
 */
export function checkOutputPath(who: string, what: string, path: string, kind: "file" | "dir" = "file"): string {
  if (typeof path !== "string" || path === "") throw new GradcError(`${who}: ${what} must be a non-empty path, got ${JSON.stringify(path)}`);
  const abs = resolve(path);
  const fail = (why: string): never => {
    throw new GradcError(`${who}: cannot write ${what} ${path}: ${why}`);
  };
  const stat = statOf(abs);
  if (stat?.isDirectory() && kind === "file") fail(`${abs} is a folder, not a file`);
  if (stat && !stat.isDirectory() && kind === "dir") fail(`${abs} is a file, not a folder`);
  const dir = kind === "dir" ? abs : dirname(abs);
  // walk up to the nearest existing ancestor, then create the missing folders one level at a time
  const missing: string[] = [];
  let at = dir;
  let found = statOf(at);
  while (!found) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
    found = statOf(at);
  }
  if (found && !found.isDirectory()) fail(`${at} is a file, not a folder`);
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      fail(`cannot create folder ${m} (${(e as Error).message})`);
    }
  }
  const probe = join(dir, `.gradc-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, "");
    unlinkSync(probe);
  } catch (e) {
    fail(`the folder ${dir} is not writable (${(e as Error).message})`);
  }
  return abs;
}

function statOf(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
