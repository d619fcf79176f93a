// compile/autodiff: the derivative transforms, Graph -> Graph. Reverse mode (`grad`, `vjp`) walks a
// topological order backwards and emits each op's `vjp` rule as builder nodes, so the backward is
// itself a graph the optimizer and compiler take like any other.
// May import: core/ and ops/. Never optimize/ or codegen/: a derived graph is not yet simplified.

export { grad, vjp, backpropagate, type GradOptions, type Vjp } from "./reverse.js";
