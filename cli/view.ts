// gradc view <graph>: one self-contained HTML page (or a standalone SVG) showing a zoo graph's
// forward, derived backward, optimized backward with its kernels, and the optimizer's rewrites.
//
//   gradc view batchnorm                                  -> ./gradc-batchnorm.html
//   gradc view layernorm --shape 64,128 --out ln.html
//   gradc view batchnorm --bench bench/results/batchnorm.json
//   gradc view batchnorm --svg --out docs/batchnorm-backward.svg

import { readFileSync, writeFileSync } from "node:fs";
import { GradcError } from "../core/errors.js";
import { zoo } from "../ops/zoo.js";
import { view, viewData } from "../viz/view.js";
import { benchRecords } from "../viz/model.js";
import { renderSvg } from "../viz/svg.js";
import { moduleSource } from "../viz/module-source.js";
import { parseCommandArgs } from "./args.js";
import { loadProgram, programOptions, programUsage } from "./program.js";
import { checkOutputPath } from "../viz/output-path.js";

const usage = `usage: gradc view <graph|module.mjs> [--entry NAME] [--wrt a,b] [--shape N,D,...] [--dtype f64|f32] [--out FILE] [--bench FILE] [--svg]

Writes one HTML file (d3 inlined, opens from disk with no network) showing the forward graph, the
backward derived by autodiff, the optimized backward with its compiled kernels, a player over the
optimizer's rewrite steps, and a benchmark chart when --bench is given. Prints the file's path.

built-in graphs:
${Object.entries(zoo)
  .map(([k, e]) => `  ${k.padEnd(18)} ${e.summary} (default shape ${e.shape.join(",")})`)
  .join("\n")}

options:
${programUsage}
  --out     the file to write (default ./gradc-<graph>.html, or .svg with --svg)
  --bench   a bench JSON written by bench/batchnorm.ts, charted as time per call per size
  --svg     write the derived and optimized backward side by side as a standalone SVG instead`;

/** The page editor's text for a zoo graph: the same trace, written with the composite it names. */
function zooSource(name: string, shape: readonly number[], dtype: string): string {
  const x = `[${shape.join(", ")}]`;
  const c = `[${shape[1]}]`;
  const opts = dtype === "f64" ? "" : `, { dtype: "${dtype}" }`;
  const calls: Record<string, string> = {
    batchnorm: `trace({ x: ${x}, gamma: ${c}, beta: ${c} }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta).out${opts})`,
    "spatial-batchnorm": `trace({ x: ${x}, gamma: ${c}, beta: ${c} }, ({ x, gamma, beta }) => batchnorm(x, gamma, beta, { axes: [0, 2, 3] }).out${opts})`,
    layernorm: `trace({ x: ${x}, gamma: ${c}, beta: ${c} }, ({ x, gamma, beta }) => layernorm(x, gamma, beta)${opts})`,
    rmsnorm: `trace({ x: ${x}, gamma: ${c} }, ({ x, gamma }) => rmsnorm(x, gamma)${opts})`,
    groupnorm: `trace({ x: ${x}, gamma: ${c}, beta: ${c} }, ({ x, gamma, beta }) => groupnorm(x, gamma, beta, ${shape[1] % 2 === 0 ? 2 : 1})${opts})`,
  };
  return calls[name] ?? "";
}

function readBench(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new GradcError(`view: cannot read --bench file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GradcError(`view: --bench file ${file} is not JSON: ${(e as Error).message}`);
  }
  if (benchRecords(json).length === 0) {
    throw new GradcError(
      `view: --bench file ${file} has no timings to chart: expected bench/batchnorm.ts's JSON ({ rows: [{ id, cells: [{ N, D, ms }] }] }) or a list of { impl, N, D, ms }`,
    );
  }
  return json;
}

export const command = {
  summary: "write an HTML page (or SVG) showing a graph, its derived and optimized backward, and the rewrites",
  async run(argv: string[]): Promise<void> {
    const { values, positionals } = parseCommandArgs("view", argv, {
      ...programOptions,
      out: { type: "string" },
      bench: { type: "string" },
      svg: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    });
    if (values.help || positionals.length === 0) {
      console.log(usage);
      return;
    }
    const program = await loadProgram("view", positionals[0], values);
    const { name, graph, of, wrt } = program;
    const dtype = graph.inputs[0]?.dtype ?? "f64";
    const title = `gradc view: ${program.shape ? `${name} [${program.shape.join(",")}]` : program.summary} ${dtype}`;
    const out = checkOutputPath("view", "--out", values.out ?? `gradc-${name}.${values.svg ? "svg" : "html"}`); // before the work
    const bench = values.bench ? readBench(values.bench) : undefined;

    if (values.svg) {
      const data = viewData(graph, { title, bench, of, wrt });
      const panels = [
        { caption: `${name}: backward derived by autodiff`, graph: data.backward!, nodes: data.nodes },
        { caption: "after the optimizer, with its compiled kernels", graph: data.optimized!, nodes: data.nodes, kernels: data.kernels },
      ];
      const path = out;
      writeFileSync(path, renderSvg(panels, `${title.replace(/^gradc view: /, "")}: derived vs optimized backward`));
      console.log(path);
      return;
    }
    // the page editor's text: a built-in graph's trace, or the module's own source (bundled with
    // its local imports) which the page runs again after an edit
    const carried = program.module ? moduleSource(program.module.path) : undefined;
    const source = carried?.text || (program.shape && zooSource(name, program.shape, dtype)) || undefined;
    const module = carried?.text ? { entry: program.module!.entry } : undefined;
    const { path } = view(graph, { title, bench, source, of, wrt, out, module, sourceNote: carried?.note || undefined });
    console.log(path);
  },
};
