// The bad-input catalogue, issue 27's second pass continued: sizes compile would loop over where
// evaluate refuses, names transforms generate, and failures that were a raw TypeError or
// RangeError. spec/support/bad-inputs.ts appends these entries.

import { trace } from "../../core/trace.js";
import { compile } from "../../compile/codegen/compile.js";
import type { BadInput } from "./bad-inputs.js";

export const limitInputs: BadInput[] = [
  { group: "sizes", input: "compile(trace({ x: [] }, ({ x }) => x.broadcastTo([1e12]).sum())) (was: a 1e12-iteration loop)", run: () => compile(trace({ x: [] }, ({ x }) => x.broadcastTo([1e12]).sum())), expect: ["compile:", "1000000000000 elements", "4294967296", "broadcastTo[shape=[1000000000000]]"] },
];
