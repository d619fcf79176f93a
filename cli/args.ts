// What the subcommands that draw a built-in graph parse alike: its name, --shape and --dtype.
// Names are looked up as own keys, so "constructor" or "toString" is an unknown graph, not a crash.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { GradcError } from "../core/errors.js";
import type { DType } from "../core/tensor.js";
import { zoo } from "../ops/zoo.js";

/** The zoo graph named by the first positional argument of `cmd`. */
export function zooName(cmd: string, positional: string | undefined): string {
  const names = Object.keys(zoo);
  if (positional === undefined) throw new GradcError(`${cmd}: which graph? choose one of ${names.join(", ")}`);
  if (!Object.hasOwn(zoo, positional)) throw new GradcError(`${cmd}: unknown graph "${positional}": choose one of ${names.join(", ")}`);
  return positional;
}

/** `--shape 200,3`: as many positive integers as the graph's default shape has axes. */
export function zooShape(cmd: string, text: string, name: string): number[] {
  const rank = zoo[name].shape.length;
  const parts = text.split(",").map((s) => s.trim());
  if (parts.length !== rank || parts.some((s) => !/^[0-9]+$/.test(s) || Number(s) < 1)) {
    throw new GradcError(`${cmd}: --shape for ${name} must be ${rank} positive integers separated by commas, like ${zoo[name].shape.join(",")}; got "${text}"`);
  }
  const shape = parts.map(Number);
  const size = shape.reduce((m, s) => m * s, 1);
  if (size > MAX_ELEMENTS) {
    throw new GradcError(
      `${cmd}: --shape ${text} has ${size.toExponential(2)} elements; at most ${MAX_ELEMENTS.toExponential(0)} (the compiled backward holds several buffers of this size)`,
    );
  }
  return shape;
}

/** The largest --shape the commands accept: 1e8 elements, 800 MB per f64 buffer. */
export const MAX_ELEMENTS = 1e8;

export function parseDtype(cmd: string, value: string): DType {
  if (value !== "f64" && value !== "f32") throw new GradcError(`${cmd}: --dtype must be f64 or f32, got "${value}"`);
  return value;
}

/** node's parseArgs with positionals; a bad option is one line naming the command, not a stack trace. */
type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O }>>;

export function parseCommandArgs<const O extends Options>(cmd: string, argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (e) {
    // node's message goes on to explain "--"; its first sentence says what is wrong
    const first = (e as Error).message.split(". ")[0];
    throw new GradcError(`${cmd}: ${first}; see gradc ${cmd} --help`);
  }
}
