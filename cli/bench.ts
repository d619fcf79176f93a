// gradc bench <graph|module>: time a program's backward and forward the three ways (naive
// interpreted, optimized interpreted, fused compiled), in float64 and float32, with ratios from one
// run. The engine is bench/program.ts; `npm run bench` builds its batchnorm table's gradc rows from
// the same cases.
//
//   gradc bench examples/mlp.mjs
//   gradc bench batchnorm --shape 1024,1024 --dtype f32
//   gradc bench ./model.mjs --quick --json > model-bench.json

import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { GradcError } from "../core/errors.js";
import type { DType } from "../core/tensor.js";
import { zoo } from "../ops/zoo.js";
import { runProgramBench, summarizeBench } from "../bench/program.js";
import { addNumpyRows } from "../bench/numpy.js";
import { parseCommandArgs } from "./args.js";
import { loadProgram, programOptions, programUsage } from "./program.js";

const usage = `usage: gradc bench <graph|module.mjs> [--entry NAME] [--wrt a,b] [--shape N,D,...] [--dtype f64|f32] [--quick] [--json] [--out FILE]

Times the backward (and the forward) naive interpreted, optimized interpreted and fused compiled,
in float64 and float32 (or the --dtype given), and prints the median time per call with each
row's ratio to the compiled row of its pass and dtype, all measured in one run. Each result is
checked against the naive float64 one (relErr in the JSON).

built-in graphs:
${Object.entries(zoo)
  .map(([k, e]) => `  ${k.padEnd(18)} ${e.summary} (default shape ${e.shape.join(",")})`)
  .join("\n")}

options:
${programUsage}
  --quick   one short round per case (a smoke run, not a measurement)
  --json    print the report as JSON instead of a table (progress goes to stderr)
  --out     also write the JSON report to this file`;

export const command = {
  summary: "time a graph's (or your module's) backward and forward: naive, optimized, compiled; f64 and f32",
  async run(argv: string[]): Promise<void> {
    const { values, positionals } = parseCommandArgs("bench", argv, {
      ...programOptions,
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    });
    if (values.help) {
      console.log(usage);
      return;
    }
    if (positionals.length > 1) throw new GradcError(`bench: one graph at a time, got ${positionals.join(" ")}`);
    const program = await loadProgram("bench", positionals[0], values);
    const dtypes: DType[] = values.dtype === undefined ? ["f64", "f32"] : [program.graph.inputs[0]?.dtype ?? "f64"];
    const out = values.out === undefined ? undefined : resolve(values.out);
    // with --json, stdout holds the JSON alone: progress (ours and benny's "Running..." lines) goes to stderr
    const stdoutLog = console.log;
    if (values.json) console.log = (...xs: unknown[]) => console.error(...xs);
    const log = (line: string) => console.log(line);
    const report = await runProgramBench((d) => (d === program.graph.inputs[0]?.dtype ? program.graph : program.retrace(d)), {
      quick: values.quick,
      of: program.of,
      wrt: program.wrt,
      dtypes,
      log,
      program: program.name,
      summary: program.summary,
      command: ["gradc", "bench", ...argv].join(" "),
    }).finally(() => (console.log = stdoutLog));
    // the seed's numpy code exists for batchnorm: its rows join the table when python3 + numpy do
    if (program.name === "batchnorm" && program.shape?.length === 2) addNumpyRows(report, program.shape[0], program.shape[1]);
    const json = JSON.stringify(report, null, 2) + "\n";
    if (out) writeFileSync(out, json);
    console.log(values.json ? json.trimEnd() : "\n" + summarizeBench(report) + (out ? `\n\nReport written to ${out}` : ""));
  },
};
