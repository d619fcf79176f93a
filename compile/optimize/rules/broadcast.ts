// Views: broadcasts and reshapes move outward, so small (per-feature) values are computed small.

import * as b from "../../../core/builder.js";
import { apply } from "../../../core/node.js";
import { sameShape } from "../../../core/tensor.js";
import { any, P, rule, v, type Match, type Rule } from "./rule.js";

const x = v("x"), y = v("y");

const elementwiseUnary = ({ root }: Match) => root.def.kind === "elementwise" && root.inputs.length === 1 && !root.isConst;
const sameSources = ({ root }: Match) =>
  root.def.kind === "elementwise" && root.inputs.length === 2 && sameShape(root.inputs[0].inputs[0].shape, root.inputs[1].inputs[0].shape);

export const broadcast: Rule[] = [
  rule("broadcast-of-broadcast", P.broadcastTo(P.broadcastTo(x)), ({ x, root }) => b.broadcastTo(x, root.shape), { law: "bcast(bcast(x)) = bcast(x)", group: "layout" }),
  rule("unary-of-broadcast",     any(P.broadcastTo(x)),            ({ x, root }) => b.broadcastTo(apply(root.op, [x], root.attrs), root.shape),
    { law: "f(bcast(x)) = bcast(f(x))", group: "layout", guard: elementwiseUnary }),
  rule("binary-of-broadcasts",   any(P.broadcastTo(x), P.broadcastTo(y)), ({ x, y, root }) => b.broadcastTo(apply(root.op, [x, y], root.attrs), root.shape),
    { law: "f(bcast(x), bcast(y)) = bcast(f(x, y))", group: "layout", guard: sameSources }),
  rule("transpose-of-transpose", P.transpose(P.transpose(x)),     ({ x, root }) => b.transpose(x, (root.attrs.perm as number[]).map((p) => (root.inputs[0].attrs.perm as number[])[p])),
    { law: "transpose(transpose(x, p), q) = transpose(x, p[q])", group: "layout" }),
  rule("reshape-of-reshape",     P.reshape(P.reshape(x)),          ({ x, root }) => b.reshape(x, root.shape), { law: "reshape(reshape(x)) = reshape(x)", group: "layout" }),
  rule("view-of-const",          any(x),                           ({ x, root }) => b.constant(x.value, root.dtype, root.shape),
    { law: "view(constant c) = constant c of the view's shape", group: "layout", guard: ({ x, root }) => x.isConst && root.def.kind === "movement" }),
];
