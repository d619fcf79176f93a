// node dist/spec/support/catalogue.js [--out docs/errors.md]
// Runs every entry of the bad-input catalogue (spec/bad-inputs.ts) and writes the table of
// input -> error message, as measured, to docs/errors.md (or prints it with --out -).

import "../../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { badInputs, runBadInput } from "./bad-inputs.js";

const { values } = parseArgs({ options: { out: { type: "string", default: "docs/errors.md" } } });
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n\s*/g, "<br>");
const titles: Record<string, string> = {
  values: "Values: tensors, reductions, normalization, labels",
  entries: "Public entries: wrong arguments, allocation",
  defineOp: "defineOp records: expr, kernels, vjp rules",
  defineRule: "defineRule records: replacements",
  attributes: "Attributes: every op takes only what its schema lists",
  json: "JSON graph files: hostile records, symbols and sizes",
  labels: "Class labels, checked when their values are known",
  tensors: "Tensors changed after they were made",
  sizes: "Sizes",
  names: "Names transforms generate",
  unclear: "Unclear failures made clear (were a raw TypeError or RangeError)",
  symbolic: "Symbolic sizes: slices and concats refused at trace time, in N",
  cli: "The command line: output paths and numeric options (exit status 2, one line)",
};
const lines = [
  "# Bad inputs and their errors",
  "",
  "Every row is a real run: `node dist/spec/support/catalogue.js` executes each entry of `spec/support/bad-inputs.ts` and",
  "writes the message it raised (a `GradcError`; CLI rows show stderr). `spec/bad-inputs.test.ts` asserts",
  "that each message names what it must (the entry, the argument or node, the shapes).",
];
let failed = 0;
for (const group of [...new Set(badInputs.map((c) => c.group))]) {
  lines.push("", `## ${titles[group] ?? group}`, "", "| input | error |", "| --- | --- |");
  for (const c of badInputs.filter((e) => e.group === group)) {
    const r = runBadInput(c);
    if (!r.ok) failed++;
    lines.push(`| \`${cell(c.input).replace(/`/g, "'")}\` | ${r.ok ? "" : `**NOT AS EXPECTED (${cell(r.why ?? "")})** `}${cell(r.message)} |`);
  }
}
const text = lines.join("\n") + "\n";
if (values.out === "-") process.stdout.write(text);
else {
  writeFileSync(values.out, text);
  console.log(`catalogue: ${badInputs.length} bad inputs, ${failed} not as expected; wrote ${values.out}`);
}
process.exit(failed ? 1 : 0);
