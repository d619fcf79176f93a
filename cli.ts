#!/usr/bin/env node
// The gradc command: one subcommand per file under cli/.

import "./ops/index.js"; // registers the builtin primitives once, before any command builds a node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { GradcError } from "./core/errors.js";

type Command = { summary: string; run(argv: string[]): Promise<void> | void };

const commands: Record<string, () => Promise<Command>> = {
  inspect: async () => (await import("./cli/inspect.js")).command,
  view: async () => (await import("./cli/view.js")).command,
  bench: async () => (await import("./cli/bench.js")).command,
  experiment: async () => (await import("./cli/experiment.js")).command,
  export: async () => (await import("./cli/export.js")).command,
  train: async () => (await import("./cli/train.js")).command,
};

/** The installed package's version (package.json sits one level above dist/). */
function version(): string {
  return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

async function main(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv.slice(0, 2), allowPositionals: true, strict: false });
  let name = positionals[0];
  let rest = argv.slice(1);
  if (argv[0] === "--version" || argv[0] === "-v" || name === "version") {
    console.log(version());
    return;
  }
  // `gradc help inspect` is `gradc inspect --help`
  if (name === "help" && positionals[1]) [name, rest] = [positionals[1], ["--help"]];
  if (!name || name === "help" || argv[0] === "--help" || argv[0] === "-h") {
    const lines = await Promise.all(
      Object.entries(commands).map(async ([k, load]) => `  gradc ${k.padEnd(11)} ${(await load().catch(() => null))?.summary ?? ""}`),
    );
    console.log(
      `usage: gradc <command> [options]\n\n${lines.join("\n")}\n\nRun gradc help <command> (or gradc <command> --help) for its options; gradc --version prints ${version()}.`,
    );
    return;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) throw new GradcError(`unknown command "${name}": try ${Object.keys(commands).join(", ")}`);
  await (await load()).run(rest);
}

main(process.argv.slice(2))
  .then(
    // the command is done: a timer or handle a user's module left behind must not keep the process alive
    () => process.stdout.write("", () => process.exit(process.exitCode ?? 0)),
  )
  .catch((e: unknown) => {
    if (e instanceof GradcError || (e instanceof Error && e.name === "GradcError")) {
      console.error(`gradc: ${e.message}`);
      process.exit(2);
    }
    throw e;
  });
