// The bad-input catalogue, issue 27's second pass continued: sizes compile would loop over where
// evaluate refuses, names transforms generate, and failures that were a raw TypeError or
// RangeError. spec/support/bad-inputs.ts appends these entries.

import { trace } from "../../core/trace.js";
import { compile } from "../../compile/codegen/compile.js";
import { grad } from "../../compile/autodiff/reverse.js";
import { hessian } from "../../compile/autodiff/jacobian.js";
import type { BadInput } from "./bad-inputs.js";
import { gradc } from "./bad-inputs.js";

const abbc = () => trace({ a: [], a_b: [], b_c: [], c: [] }, ({ a, a_b, b_c, c }) => a.mul(a_b).mul(b_c).mul(c));

export const limitInputs: BadInput[] = [
  { group: "sizes", input: "compile(trace({ x: [] }, ({ x }) => x.broadcastTo([1e12]).sum())) (was: a 1e12-iteration loop)", run: () => compile(trace({ x: [] }, ({ x }) => x.broadcastTo([1e12]).sum())), expect: ["compile:", "1000000000000 elements", "4294967296", "broadcastTo[shape=[1000000000000]]"] },
  { group: "names", input: "hessian(g) of inputs a, a_b, b_c, c (was: 15 blocks, hess_a_b_c twice)", run: () => hessian(abbc()), expect: ["hessian:", '("a", "b_c")', '("a_b", "c")', '"hess_a_b_c"'] },
  { group: "names", input: "grad(g, { wrt: [\"x\", \"x\"] })", run: () => grad(trace({ x: [3] }, ({ x }) => x.exp().sum()), { wrt: ["x", "x"] }), expect: ["grad:", '"x" twice'] },
  { group: "names", cli: true, input: "gradc inspect batchnorm --wrt x,x (was: \"clashes with an output\")", run: () => gradc("inspect", "batchnorm", "--wrt", "x,x"), expect: ["inspect:", '"x" twice'] },
];
