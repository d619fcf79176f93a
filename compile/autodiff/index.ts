// compile/autodiff: the derivative transforms, Graph -> Graph. Reverse mode (`grad`, `vjp`) walks a
// topological order backwards and emits each op's `vjp` rule as builder nodes, so the backward is
// itself a graph the optimizer and compiler take like any other. Forward mode (`jvp`, forward.ts)
// pushes tangents in topological order, each op's tangent rule derived from its VJP rule by
// transposition; jacobian.ts builds linearize, hvp, jacfwd, jacrev and hessian from the two.
// May import: core/ and ops/. Never optimize/ or codegen/: a derived graph is not yet simplified.

export { grad, vjp, backpropagate, type GradOptions, type Vjp } from "./reverse.js";
export { jvp, pushForward, tangentOf, type JvpOptions } from "./forward.js";
export { linearize, hvp, jacfwd, jacrev, hessian, MAX_JACOBIAN_COPIES, type JacobianOptions, type Linearized } from "./jacobian.js";
