// Views: broadcasts and reshapes move outward, so small (per-feature) values are computed small.

import * as b from "../../../core/builder.js";
import { apply, type Node } from "../../../core/node.js";
import { sameShape } from "../../../core/tensor.js";
import { any, P, rule, v, type Match, type Rule } from "./rule.js";

const x = v("x"),
  y = v("y");

/** A transpose that swaps the last two axes (a matrix transpose, batched or not). */
const isMatrixTranspose = (n: Node) =>
  n.op === "transpose" && (n.attrs.perm as number[]).every((p, i, all) => p === (i < all.length - 2 ? i : 2 * all.length - 3 - i));
/** x^T, reading x' where x = x'^T (no transpose of a transpose is built). */
const mT = (n: Node) => (isMatrixTranspose(n) ? n.inputs[0] : b.matrixTranspose(n));
const transposes = (...ns: Node[]) => ns.filter(isMatrixTranspose).length;

const elementwiseUnary = ({ root }: Match) => root.def.kind === "elementwise" && root.inputs.length === 1 && !root.isConst;
const sameSources = ({ root }: Match) =>
  root.def.kind === "elementwise" && root.inputs.length === 2 && sameShape(root.inputs[0].inputs[0].shape, root.inputs[1].inputs[0].shape);

export const broadcast: Rule[] = [
  rule("broadcast-of-broadcast", P.broadcastTo(P.broadcastTo(x)), ({ x, root }) => b.broadcastTo(x, root.shape), {
    law: "bcast(bcast(x)) = bcast(x)",
    group: "layout",
  }),
  rule("unary-of-broadcast", any(P.broadcastTo(x)), ({ x, root }) => b.broadcastTo(apply(root.op, [x], root.attrs), root.shape), {
    law: "f(bcast(x)) = bcast(f(x))",
    group: "layout",
    guard: elementwiseUnary,
  }),
  rule("binary-of-broadcasts", any(P.broadcastTo(x), P.broadcastTo(y)), ({ x, y, root }) => b.broadcastTo(apply(root.op, [x, y], root.attrs), root.shape), {
    law: "f(bcast(x), bcast(y)) = bcast(f(x, y))",
    group: "layout",
    guard: sameSources,
  }),
  rule(
    "transpose-of-transpose",
    P.transpose(P.transpose(x)),
    ({ x, root }) =>
      b.transpose(
        x,
        (root.attrs.perm as number[]).map((p) => (root.inputs[0].attrs.perm as number[])[p]),
      ),
    { law: "transpose(transpose(x, p), q) = transpose(x, p[q])", group: "layout" },
  ),
  // (a b)^T = b^T a^T: each direction only where it leaves fewer transposes (so they never undo each
  // other), and a product computed twice, once transposed (W2 W3 and W3^T W2^T), becomes one
  rule("transpose-of-matmul", P.transpose(P.matmul(x, y)), ({ x, y }) => apply("matmul", [mT(y), mT(x)], {}), {
    law: "transpose(matmul(a, b)) = matmul(b^T, a^T)   (where a or b is a transpose: fewer transposes)",
    group: "layout",
    guard: ({ x, y, root }) => isMatrixTranspose(root) && transposes(x, y) > 0,
  }),
  rule("matmul-of-transposes", P.matmul(x, y), ({ x, y }) => b.matrixTranspose(apply("matmul", [y.inputs[0], x.inputs[0]], {})), {
    law: "matmul(a^T, b^T) = transpose(matmul(b, a))   (one transpose for two)",
    group: "layout",
    guard: ({ x, y }) => transposes(x, y) === 2,
  }),
  rule("reshape-of-reshape", P.reshape(P.reshape(x)), ({ x, root }) => b.reshape(x, root.shape), { law: "reshape(reshape(x)) = reshape(x)", group: "layout" }),
  rule("view-of-const", any(x), ({ x, root }) => b.constant(x.value, root.dtype, root.shape), {
    law: "view(constant c) = constant c of the view's shape",
    group: "layout",
    guard: ({ x, root }) => x.isConst && root.def.kind === "movement",
  }),
];
