// A module's own source for the page's editor. The page re-runs it as an ES module whose
// `import ... from "gradc"` resolves to the gradc bundled in the page, so its local imports
// (`./layers.mjs`) must travel with it: esbuild bundles them into one module, leaving "gradc"
// external. A module with no local imports is carried as written, comments and all.

import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { loadEsbuild } from "./page.js";

export interface ModuleSource {
  /** The editor's text, or "" when the module cannot be carried. */
  text: string;
  /** Why the editor holds something else, or what was bundled. */
  note: string;
}

/** Relative imports and re-exports in a module's text (static and literal dynamic ones). */
export const localImports = (text: string): string[] =>
  [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);

/** The source the page carries for the module at `path` (an absolute .mjs/.js path). */
export function moduleSource(path: string): ModuleSource {
  const own = readFileSync(path, "utf8");
  if (localImports(own).length === 0) return { text: own, note: "" };
  const esbuild = loadEsbuild();
  if (!esbuild) {
    return {
      text: "",
      note: `this module imports ${localImports(own).join(", ")}: bundling them into the page needs esbuild (npm i -D esbuild); the editor holds the traced graph instead`,
    };
  }
  const out = esbuild.buildSync({
    entryPoints: [path],
    absWorkingDir: dirname(path),
    bundle: true,
    format: "esm",
    platform: "neutral",
    external: ["gradc"],
    write: false,
    logLevel: "silent",
    charset: "utf8",
    metafile: true,
  });
  const files = Object.keys(out.metafile!.inputs);
  return { text: out.outputFiles[0].text, note: `the module with its local imports bundled in (${files.join(", ")})` };
}
