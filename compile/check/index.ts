// compile/check: what a user runs to check what they hand gradc. checkOp (op.ts) holds an op's
// shape rule, kernel, gradients and codegen to each other; checkRule (rule.ts) holds a rewrite
// rule's two sides equal on random inputs; numeric.ts has the notebook's numerical gradients and
// relative error; samples.ts draws valid inputs for each op; random-graphs.ts builds seeded graphs.
// May import: core/, ops/ and the other compile wings (it runs the whole pipeline on what it checks).

export { checkOp, type CheckOpOptions, type CheckOpReport } from "./op.js";
export { checkRule, type CheckRuleOptions, type CheckRuleReport } from "./rule.js";
export { evalNumericalGradient, evalNumericalGradientArray, relError, maxAbs, maxAbsDiff, randomTensor, seededRandom } from "./numeric.js";
