// gradc export <graph> --format onnx|dot|json [--graph forward|backward|optimized|train] --out FILE
//
//   gradc export batchnorm --format onnx --graph optimized --out bn.onnx
//   gradc export layernorm --format dot --graph backward --shape 64,128 --out ln.dot   (N fixed at 64)
//
// The file is written to a temporary name beside --out and renamed when complete, so an error
// (an op without an ONNX lowering, an unwritable folder) leaves nothing behind; a symbolic link is
// written through (the link kept), a FIFO or device (--out /dev/stdout) directly.

import { lstatSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
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
${Object.entries(zoo)
  .map(([k, e]) => `  ${k.padEnd(18)} ${e.summary} (default shape ${e.shape.join(",")})`)
  .join("\n")}`;

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

/**
 * Fail before any work when --out cannot be written (viz/output-path.ts: folders, /proc, a path
 * under a file), and say how it will be written: a regular file (or a new one) through a temporary
 * file renamed into place; a symbolic link through to its target, the link kept; a FIFO or a
 * character device (--out /dev/stdout prints) written directly. Anything else is refused: never
 * replaced by a regular file.
 */
export function checkOutPath(cmd: string, out: string): OutPath {
  const fail = (why: string): never => {
    throw new GradcError(`${cmd}: cannot write --out ${out}: ${why}`);
  };
  let path = resolve(out);
  // the process's own descriptors are written as descriptors (a socket under /proc/self/fd cannot be opened by name)
  const fd = /^\/dev\/(stdout|stderr)$/.exec(path)?.[1] ?? /^\/(?:dev\/fd|proc\/self\/fd)\/(\d+)$/.exec(path)?.[1];
  if (fd !== undefined) return { path, direct: true, fd: fd === "stdout" ? 1 : fd === "stderr" ? 2 : Number(fd), out, cmd };
  let link = lstatOf(path);
  if (link?.isSymbolicLink()) {
    const target = statOf(path); // followed: /dev/stdout -> /proc/self/fd/1 -> a pipe or a terminal
    if (!target) fail("it is a symbolic link whose target cannot be reached");
    // /dev/stdout redirected to a file is that file's open descriptor: written in place, not replaced
    if (target!.isFIFO() || target!.isCharacterDevice() || /^\/(dev|proc)\//.test(path)) return { path, direct: true, out, cmd };
    path = realpathSync(path); // a regular file: replaced at its own place, the link kept
    link = lstatOf(path);
  }
  if (link && (link.isFIFO() || link.isCharacterDevice())) return { path, direct: true, out, cmd };
  if (link && !link.isFile() && !link.isDirectory())
    fail(`${path} is a ${link.isSocket() ? "socket" : link.isBlockDevice() ? "block device" : "special file"}, not a regular file`);
  if (link?.isDirectory()) fail(`${path} is a folder; give a file name`);
  checkFolder(dirname(path), fail);
  return { path, direct: false, out, cmd };
}

/** The folder exists (a file on the way is named) and a probe file can be written in it (/proc cannot, even as root). */
function checkFolder(dir: string, fail: (why: string) => never): void {
  let at = dir;
  while (!lstatOf(at) && dirname(at) !== at) at = dirname(at);
  if (at !== dir) fail(lstatOf(at)?.isDirectory() === false ? `${at} is a file, not a folder` : `folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) fail(`${dir} is a file, not a folder`);
  const probe = join(dir, `.gradc-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (e) {
    fail(`the folder ${dir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export interface OutPath {
  /** Where the bytes go (a link's target). */
  path: string;
  /** Written in place (a FIFO, a terminal, /dev/stdout), not through a temporary file. */
  direct: boolean;
  /** A descriptor of this process to write (/dev/stdout is 1). */
  fd?: number;
  out: string;
  cmd: string;
}

/** Write a checked --out: in place for a FIFO or device, else through a temporary file renamed into place (never half-written). */
export function writeOut(to: OutPath, data: Uint8Array | string): void {
  const fail = (e: unknown): never => {
    throw new GradcError(`${to.cmd}: cannot write --out ${to.out}: ${(e as Error).message}`);
  };
  if (to.direct) {
    try {
      writeFileSync(to.fd ?? to.path, data);
    } catch (e) {
      fail(e);
    }
    return;
  }
  const tmp = `${to.path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, to.path);
  } catch (e) {
    rmSync(tmp, { force: true });
    fail(e);
  }
}

function statOf(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function lstatOf(p: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
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
      if (values.entry !== undefined || values.wrt !== undefined)
        throw new GradcError(`export: --entry and --wrt are for modules; ${name} is a built-in graph`);
      const shape = exportShape(name, values.shape);
      const dtype = parseDtype("export", values.dtype ?? "f64");
      g = exportedGraph(zoo[name].build(shape, dtype), which);
      title = `${name} ${which} ${shapeStr(shape)} ${dtype}`;
    }
    writeOut(path, render(g, format, `${name}_${which}`));
    // written to a FIFO or a terminal (--out /dev/stdout), the note goes to stderr, out of the data's way
    (path.direct ? console.error : console.log)(`wrote ${values.out}: ${title}, ${g.size} nodes, ${format}`);
  },
};
