// What a subcommand works on: a built-in graph by name (`batchnorm`) or the user's own module
// (`./model.mjs`). One loader for every subcommand, so each gets modules, --entry, --wrt, --shape
// and --dtype the same way, and the same errors.
//
// A module's default export (or the export named by --entry) is either a Graph or a spec
//   { inputs: { name: shape | { shape, dtype } }, fn: (inputs) => node | { name: node }, of?, wrt? }
// which is traced like `trace(inputs, fn)`. Inside the module, `import { ops, trace } from "gradc"`
// resolves to the gradc running it (cli/resolve-gradc.ts).

import { existsSync, statSync } from "node:fs";
import { register } from "node:module";
import { basename, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { GradcError } from "../core/errors.js";
import { Graph } from "../core/graph.js";
import { Node } from "../core/node.js";
import { trace, type InputSpec } from "../core/trace.js";
import type { DType } from "../core/tensor.js";
import { zoo } from "../ops/zoo.js";
import { parseDtype, zooShape } from "./args.js";

export interface Program {
  /** A short name for titles and default file names: `batchnorm`, `mlp` (the module's base name). */
  name: string;
  /** One line saying what it is: the zoo entry's summary, or `module examples/mlp.mjs, export default`. */
  summary: string;
  /** The forward graph in the requested dtype. */
  graph: Graph;
  /** A built-in graph's sizes (--shape). */
  shape?: number[];
  /** A module's absolute path and the export traced. */
  module?: { path: string; entry: string };
  /** The output to differentiate (undefined: the only one). */
  of?: string;
  /** The inputs to differentiate with respect to (undefined: all). */
  wrt?: string[];
  /**
   * The same program in another dtype, or a sentence saying why there is none (a module that
   * exports a finished Graph has the dtypes it was traced with).
   */
  retrace(dtype: DType): Graph | string;
}

export interface ProgramArgs {
  entry?: string;
  shape?: string;
  dtype?: string;
  wrt?: string;
}

/** The options every program-taking subcommand accepts, for parseCommandArgs. */
export const programOptions = {
  entry: { type: "string" },
  shape: { type: "string" },
  dtype: { type: "string" },
  wrt: { type: "string" },
} as const;

export const programUsage = `  <graph>   a built-in graph (${Object.keys(zoo).join(", ")}) or your module, e.g. ./model.mjs,
            whose default export is a Graph or { inputs: { name: shape | { shape, dtype } }, fn, of?, wrt? }
  --entry   the module's export to use instead of the default one
  --wrt     differentiate with respect to these inputs only, e.g. --wrt W1,b1 (default: the module's wrt, else all)
  --shape   a built-in graph's sizes, comma-separated, e.g. 200,3 for batchnorm's N,D
  --dtype   f64 or f32 (default: f64 for built-in graphs, as declared for modules)`;

/** A positional names a module when it looks like a path; anything else is a built-in name. */
export const isModulePath = (arg: string): boolean => /[\\/]/.test(arg) || /\.(mjs|cjs|js|ts|mts)$/.test(arg);

/** The built-in graph or module named by `arg`, traced, with the choices from the command line. */
export async function loadProgram(cmd: string, arg: string | undefined, args: ProgramArgs = {}): Promise<Program> {
  if (arg === undefined) throw new GradcError(`${cmd}: which graph? name a built-in one (${Object.keys(zoo).join(", ")}) or a module like ./model.mjs`);
  const dtype = args.dtype === undefined ? undefined : parseDtype(cmd, args.dtype);
  const program = isModulePath(arg) ? await fromModuleChecked(cmd, arg, args, dtype) : fromZoo(cmd, arg, args, dtype ?? "f64");
  if (args.wrt !== undefined) {
    const names = args.wrt
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (names.length === 0) throw new GradcError(`${cmd}: --wrt needs input names separated by commas, got "${args.wrt}"`);
    program.wrt = names;
  }
  checkChoices(`${cmd}: ${program.summary}`, program.graph, program.of, program.wrt);
  return program;
}

function fromZoo(cmd: string, name: string, args: ProgramArgs, dtype: DType): Program {
  if (!Object.hasOwn(zoo, name)) {
    throw new GradcError(`${cmd}: unknown graph "${name}": choose one of ${Object.keys(zoo).join(", ")}, or give a module path like ./${name}.mjs`);
  }
  if (args.entry !== undefined) throw new GradcError(`${cmd}: --entry names a module's export; ${name} is a built-in graph`);
  const entry = zoo[name];
  const shape = args.shape === undefined ? [...entry.shape] : zooShape(cmd, args.shape, name);
  return {
    name,
    summary: `${name} at [${shape.join(",")}]: ${entry.summary}`,
    graph: entry.build(shape, dtype),
    shape,
    of: "out",
    retrace: (d) => entry.build(shape, d),
  };
}

let hooked = false;

/** Route the modules' `import "gradc"` to this copy of gradc (once per process). */
function hookGradc(): void {
  if (hooked) return;
  hooked = true;
  const gradcUrl = new URL("../index.js", import.meta.url).href;
  register(new URL("./resolve-gradc.js", import.meta.url), { data: { gradcUrl } });
}

/** Import the user's module (its `import "gradc"` routed to this gradc); errors name the file. */
export async function importModule(cmd: string, file: string): Promise<Record<string, unknown>> {
  const path = resolvePath(file);
  if (!existsSync(path)) throw new GradcError(`${cmd}: module ${file} not found (looked for ${path})`);
  if (!statSync(path).isFile()) throw new GradcError(`${cmd}: module ${file} is not a file`);
  if (/\.(ts|mts)$/.test(file)) throw new GradcError(`${cmd}: module ${file} is TypeScript: compile it to JavaScript (an .mjs file) first`);
  hookGradc();
  // a top-level await that never settles leaves nothing to run: Node would exit 0 having printed nothing
  const unsettled = () => {
    console.error(`gradc: ${cmd}: module ${file} never finished loading: a top-level await in it never settles`);
    process.exit(2);
  };
  process.once("beforeExit", unsettled);
  try {
    return await import(pathToFileURL(path).href);
  } catch (e) {
    throw new GradcError(`${cmd}: module ${file} failed to load: ${firstLine(e)}`);
  } finally {
    process.off("beforeExit", unsettled);
  }
}

/** The fields of a module's { inputs, fn, of, wrt }, read once: a getter or Proxy that throws is an error naming the field. */
function readSpec(cmd: string, where: string, value: object): { then?: unknown; inputs?: unknown; fn?: unknown; of?: unknown; wrt?: unknown } {
  const spec: Record<string, unknown> = {};
  for (const k of ["then", "inputs", "fn", "of", "wrt"]) {
    try {
      spec[k] = (value as Record<string, unknown>)[k];
    } catch (e) {
      throw new GradcError(`${cmd}: ${where}: reading its "${k}" threw: ${firstLine(e)}`);
    }
  }
  return spec;
}

/** fromModule, where anything an export does when read (a Proxy's trap, a getter) that is not already a GradcError names the module. */
async function fromModuleChecked(cmd: string, file: string, args: ProgramArgs, dtype: DType | undefined): Promise<Program> {
  try {
    return await fromModule(cmd, file, args, dtype);
  } catch (e) {
    if (e instanceof GradcError) throw e;
    throw new GradcError(`${cmd}: module ${file}: reading its export threw: ${firstLine(e)}`);
  }
}

async function fromModule(cmd: string, file: string, args: ProgramArgs, dtype: DType | undefined): Promise<Program> {
  if (args.shape !== undefined) throw new GradcError(`${cmd}: --shape sizes a built-in graph; the module ${file} declares its own input shapes`);
  const mod = await importModule(cmd, file);
  const exportName = args.entry ?? "default";
  const where = `module ${file}, export ${exportName === "default" ? "default" : `"${exportName}"`}`;
  const names = Object.keys(mod).filter((k) => k !== "default");
  if (!Object.hasOwn(mod, exportName) || mod[exportName] === undefined) {
    const has = names.length ? `its exports are ${names.join(", ")}: pick one with --entry NAME` : "it exports nothing else";
    const what =
      exportName === "default"
        ? `module ${file} has no default export (${has})`
        : `module ${file} has no export "${exportName}" (${names.length ? `its exports are ${names.join(", ")}` : "it has no named exports"})`;
    throw new GradcError(`${cmd}: ${what}; export a Graph or { inputs, fn }`);
  }
  let value: unknown;
  try {
    value = mod[exportName];
  } catch (e) {
    throw new GradcError(`${cmd}: module ${file}: reading its export ${exportName} threw: ${firstLine(e)}`);
  }
  const name = basename(file).replace(/\.[^.]+$/, "") + (exportName === "default" ? "" : `-${exportName}`);
  const summary = `${file}${exportName === "default" ? "" : ` (export ${exportName})`}`;

  if (value instanceof Graph) {
    const declared = value.inputs[0]?.dtype ?? "f64";
    if (dtype !== undefined && value.inputs.some((x) => x.dtype !== dtype)) {
      throw new GradcError(
        `${cmd}: ${where} is a Graph traced in ${declared}; --dtype ${dtype} needs the { inputs, fn } form, which gradc can trace in either dtype`,
      );
    }
    return {
      name,
      summary,
      graph: value,
      module: { path: resolvePath(file), entry: exportName },
      retrace: (d) =>
        value.inputs.every((x) => x.dtype === d) ? value : `${where} is a finished Graph in ${declared}: export { inputs, fn } to run it in ${d} too`,
    };
  }
  if (looksLikeGraph(value)) {
    throw new GradcError(`${cmd}: ${where} is a Graph from another copy of gradc; import { trace, ops } from "gradc" in the module (the command provides it)`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Node) {
    throw new GradcError(`${cmd}: ${where} is ${describe(value)}: expected a Graph or { inputs: { name: shape }, fn }`);
  }
  const spec = readSpec(cmd, where, value);
  if (typeof spec.then === "function") throw new GradcError(`${cmd}: ${where} is a Promise: export the value itself (await it at the module's top level)`);
  if (typeof spec.inputs !== "object" || spec.inputs === null || Array.isArray(spec.inputs) || Object.keys(spec.inputs).length === 0) {
    throw new GradcError(`${cmd}: ${where}: "inputs" must be an object of input shapes like { x: [8, 4] }, got ${describe(spec.inputs)}`);
  }
  if (typeof spec.fn !== "function") throw new GradcError(`${cmd}: ${where}: "fn" must be a function of the traced inputs, got ${describe(spec.fn)}`);
  if (spec.of !== undefined && typeof spec.of !== "string") throw new GradcError(`${cmd}: ${where}: "of" must be an output's name, got ${describe(spec.of)}`);
  if (spec.wrt !== undefined && !(Array.isArray(spec.wrt) && spec.wrt.every((w) => typeof w === "string"))) {
    throw new GradcError(`${cmd}: ${where}: "wrt" must be a list of input names, got ${describe(spec.wrt)}`);
  }
  const inputs = spec.inputs as Record<string, InputSpec>;
  const fn = spec.fn as (xs: Record<string, Node>) => Node | Record<string, Node>;
  const traceAs = (d: DType | undefined): Graph => {
    const typed =
      d === undefined
        ? inputs
        : Object.fromEntries(Object.entries(inputs).map(([k, s]) => [k, { shape: Array.isArray(s) ? s : (s as { shape: number[] })?.shape, dtype: d }]));
    try {
      return trace(typed as Record<string, InputSpec>, fn);
    } catch (e) {
      const during = e instanceof GradcError ? "" : "fn threw while tracing: ";
      throw new GradcError(`${cmd}: ${where}: ${during}${firstLine(e)}`);
    }
  };
  const graph = traceAs(dtype);
  return {
    name,
    summary,
    graph,
    module: { path: resolvePath(file), entry: exportName },
    of: spec.of as string | undefined,
    wrt: spec.wrt as string[] | undefined,
    retrace: (d) => traceAs(d),
  };
}

/** The output and inputs named exist, and a graph with several outputs says which to differentiate. */
function checkChoices(where: string, g: Graph, of: string | undefined, wrt: readonly string[] | undefined): void {
  if (of === undefined && g.outputNames.length > 1) {
    throw new GradcError(
      `${where}: the graph has outputs ${g.outputNames.join(", ")}: say which to differentiate with of: "${g.outputNames[0]}" in the export`,
    );
  }
  if (of !== undefined && !g.outputNames.includes(of)) throw new GradcError(`${where}: of: "${of}" is not an output: outputs are ${g.outputNames.join(", ")}`);
  for (const [i, w] of (wrt ?? []).entries()) {
    if (!g.inputNames.includes(w)) throw new GradcError(`${where}: wrt: "${w}" is not an input: inputs are ${g.inputNames.join(", ")}`);
    if (wrt!.indexOf(w) !== i) throw new GradcError(`${where}: wrt names "${w}" twice: name each input once`);
  }
}

const looksLikeGraph = (v: unknown): boolean =>
  typeof v === "object" && v !== null && "inputs" in v && "outputs" in v && typeof (v as { nodes?: unknown }).nodes === "function";

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Node) return `a single node (${v}): wrap it as { inputs, fn } or trace it into a Graph`;
  if (typeof v === "function") return "a function: export { inputs, fn } so gradc knows the input shapes";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** An error's message without its stack: the first line, or the GradcError's whole message. */
export function firstLine(e: unknown): string {
  if (e instanceof GradcError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message.split("\n")[0]}`;
  return String(e);
}
