// `npm pack` (prepack): writes the viewer bundle beside viz/page.js, so that a packed gradc draws
// its pages without esbuild, which is a devDependency.

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { bundleViewer, loadEsbuild, PREBUILT_BUNDLE } from "./page.js";

/** Bundles viz/browser.js into PREBUILT_BUNDLE; returns its size in bytes. */
export function writeViewerBundle(): number {
  const esbuild = loadEsbuild();
  if (!esbuild) throw new Error("viz/prebuild: esbuild is not installed (npm ci installs it in the clone)");
  const text = bundleViewer(esbuild);
  writeFileSync(PREBUILT_BUNDLE, text);
  return text.length;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`viz/prebuild: ${PREBUILT_BUNDLE} (${(writeViewerBundle() / 1e3).toFixed(0)} kB)`);
}
