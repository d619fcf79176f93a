// `npm install` / `npm ci` of gradc: build the optional native matrix-product kernels (binding.gyp,
// compile/codegen/native/) with the node-gyp npm bundles. Never fails the install: when there is no compiler, no
// Node headers, or GRADC_NATIVE=0, it prints one line and gradc runs its WebAssembly kernels.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The files the addon is built from (binding.gyp compiles addon.cc, which includes the headers). */
const NATIVE_SOURCES = ["addon.cc", "gemm.h", "helper.h", "pool.h"];
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const fallback = (why) => console.log(`gradc: native kernels not built (${why}); gradc uses its WebAssembly kernels`);

if (process.env.GRADC_NATIVE === "0") {
  fallback("GRADC_NATIVE=0");
} else {
  // npm sets npm_config_node_gyp to its bundled node-gyp; else the one beside npm, else on PATH
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  const gyp = candidates.find((p) => p && existsSync(p));
  // Node's own headers when they are installed beside it (else node-gyp would download them)
  const headers = join(dirname(process.execPath), "..", "include", "node", "node_api.h");
  const nodedir = !process.env.npm_config_nodedir && existsSync(headers) ? [`--nodedir=${join(dirname(process.execPath), "..")}`] : [];
  const [cmd, args] = gyp ? [process.execPath, [gyp, "rebuild", ...nodedir]] : ["node-gyp", ["rebuild", ...nodedir]];
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) {
    const err = (r.error?.message ?? `${r.stderr}`.split("\n").find((l) => /error/i.test(l)) ?? `exit ${r.status}`).trim();
    fallback(err.slice(0, 160));
  } else {
    // -march=native: the addon may use any instruction this CPU has; compile/codegen/native/addon.ts
    // loads it only on a CPU of the same model (another one could fault on an instruction)
    // and only from the sources it was built from (a pull that changes them needs a rebuild)
    const sources = createHash("sha256");
    for (const f of NATIVE_SOURCES) sources.update(readFileSync(join(root, "compile", "codegen", "native", f)));
    writeFileSync(
      join(root, "build", "Release", "built-for.json"),
      JSON.stringify({ cpu: os.cpus()[0]?.model ?? "unknown", arch: process.arch, files: NATIVE_SOURCES, sources: sources.digest("hex") }) + "\n",
    );
  }
}
