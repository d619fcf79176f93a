// gradc export <graph> --format onnx|dot|json [--graph forward|backward|optimized|train] --out FILE
//
//   gradc export batchnorm --format onnx --graph optimized --out bn.onnx
//   gradc export layernorm --format dot --graph backward --shape 64,128 --out ln.dot   (N fixed at 64)
//
// The file is written to a temporary name beside --out and renamed when complete, so an error
// (an op without an ONNX lowering, an unwritable folder) leaves nothing behind.

import { accessSync, constants, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { GradcError } from "../core/errors.js";
import type { Graph } from "../core/graph.js";
import { grad, vjp } from "../compile/autodiff/reverse.js";
import { optimize } from "../compile/optimize/optimize.js";
import { exportOnnx, toDot, toJSON } from "../compile/export/index.js";
import { zoo } from "../ops/zoo.js";
import { symbolSize } from "../core/symbol-table.js";
import { shapeStr } from "../core/tensor.js";
import { parseCommandArgs, parseDtype, zooName, zooShape } from "./args.js";
import { isModulePath, loadProgram, programOptions, programUsage } from "./program.js";

const FORMATS = ["onnx", "dot", "json"] as const;
const GRAPHS = ["forward", "backward", "optimized", "train"] as const;
export type Format = (typeof FORMATS)[number];
export type Which = (typeof GRAPHS)[number];

const usage = `usage: gradc export <graph> --format onnx|dot|json --out FILE [--graph forward|backward|optimized|train]
                    [--shape N,D,...] [--dtype f64|f32] [--entry NAME] [--wrt a,b]

The batch axis is the symbolic size N unless --shape gives it a number: the model takes any batch.

Writes a graph for other tools: an ONNX model (opset 17; run it on ONNX Runtime, open it in
Netron), Graphviz DOT with the text form's labels, or gradc's JSON (read back with fromJSON).

--graph
  forward     the forward pass, returning its output and the residuals the backward takes
  backward    the backward derived by autodiff (residuals and d<out> in, gradients out)
  optimized   that backward after the optimizer (the default)
  train       one graph computing the output (the loss) and every gradient, optimized

${programUsage}

graphs:
${Object.entries(zoo).map(([k, e]) => `  ${k.padEnd(18)} ${e.summary} (default shape ${e.shape.join(",")})`).join("\n")}`;

/** The graph `--graph` names, from a forward graph (`of`: the output to differentiate, default its first). */
export function exportedGraph(forward: Graph, which: Which, of = forward.outputNames[0], wrt?: readonly string[]): Graph {
  if (which === "train") return optimize(grad(forward, { of, wrt, withValue: true }));
  const split = vjp(forward, { of, wrt });
  if (which === "forward") return split.forward;
  return which === "backward" ? split.backward : optimize(split.backward);
}

/** The file's contents in a format. */
export function render(g: Graph, format: Format, name: string): Uint8Array | string {
  if (format === "onnx") return exportOnnx(g, { name });
  return format === "dot" ? toDot(g, { name }) : toJSON(g);
}

/** Fail before any work when --out cannot be written: its folder must exist and be writable, and it must not be a folder. */
export function checkOutPath(cmd: string, out: string): string {
  const path = resolve(out);
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch {
    throw new GradcError(`${cmd}: cannot write ${out}: folder ${dirname(path)} does not exist or is not writable`);
  }
  try {
    if (statSync(path).isDirectory()) throw new GradcError(`${cmd}: --out ${out} is a folder; give a file name`);
  } catch (e) {
    if (e instanceof GradcError) throw e;
  }
  return path;
}

/** Write through a temporary file in the same folder, renamed into place: never a half-written file. */
export function writeAtomically(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The traced shape: the batch axis is the symbolic size N unless --shape fixes it, so one exported
 * model serves every batch size; a --shape entry may itself be a symbol name (N,128).
 */
export function exportShape(name: string, text: string | undefined): number[] {
  if (text === undefined) return [symbolSize("N"), ...zoo[name].shape.slice(1)];
  const parts = text.split(",").map((s) => s.trim());
  const symbolic = parts.map((p) => (/^[A-Za-z_]\w*$/.test(p) ? symbolSize(p) : p));
  const concrete = zooShape("export", symbolic.map((p) => (typeof p === "number" ? "1" : p)).join(","), name);
  return concrete.map((d, i) => (typeof symbolic[i] === "number" ? (symbolic[i] as number) : d));
}

const options = {
  format: { type: "string" },
  graph: { type: "string", default: "optimized" },
  out: { type: "string" },
  ...programOptions,
  help: { type: "boolean", short: "h", default: false },
} as const;

export const command = {
  summary: "write a graph (forward, backward, optimized, train) as ONNX, Graphviz DOT or JSON",
  async run(argv: string[]): Promise<void> {
    const { values, positionals } = parseCommandArgs("export", argv, options);
    if (values.help) {
      console.log(usage);
      return;
    }
    if (positionals.length > 1) throw new GradcError(`export: one graph at a time, got ${positionals.join(" ")}`);
    const format = values.format as Format;
    if (!FORMATS.includes(format)) throw new GradcError(`export: --format must be one of ${FORMATS.join(", ")}, got ${JSON.stringify(values.format ?? null)}`);
    const which = values.graph as Which;
    if (!GRAPHS.includes(which)) throw new GradcError(`export: --graph must be one of ${GRAPHS.join(", ")}, got "${values.graph}"`);
    if (values.out === undefined) throw new GradcError("export: say where to write with --out FILE");
    const path = checkOutPath("export", values.out);
    let g: Graph, title: string, name: string;
    if (positionals[0] !== undefined && isModulePath(positionals[0])) {
      // the user's module (shapes may name the batch "N" themselves), loaded as every command loads it
      const program = await loadProgram("export", positionals[0], values);
      g = exportedGraph(program.graph, which, program.of, program.wrt);
      name = program.name;
      title = `${program.summary} ${which}`;
    } else {
      name = zooName("export", positionals[0]);
      if (values.entry !== undefined || values.wrt !== undefined) throw new GradcError(`export: --entry and --wrt are for modules; ${name} is a built-in graph`);
      const shape = exportShape(name, values.shape);
      const dtype = parseDtype("export", values.dtype ?? "f64");
      g = exportedGraph(zoo[name].build(shape, dtype), which);
      title = `${name} ${which} ${shapeStr(shape)} ${dtype}`;
    }
    writeAtomically(path, render(g, format, `${name}_${which}`));
    console.log(`wrote ${values.out}: ${title}, ${g.size} nodes, ${format}`);
  },
};
