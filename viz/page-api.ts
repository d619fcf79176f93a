// What gradc is inside a viewer page: the part of its API that runs in a browser. The editor's
// `trace(...)` text sees these names directly; a module's source in the editor imports them from
// "gradc", which the page's import map points at this record (viz/page.ts).

import * as builder from "../core/builder.js";
import { apply, scope } from "../core/node.js";
import { Graph } from "../core/graph.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { tensor, zeros, Tensor } from "../core/tensor.js";
import { grad, vjp } from "../compile/autodiff/index.js";
import { optimize } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";
import * as composites from "../ops/composites.js";

/** The builder vocabulary and the composites, as `ops` in the package. */
const ops = { ...builder, ...composites };

/** `import { ... } from "gradc"` in a page: the names a module in the editor can import. */
export const pageGradc: Record<string, unknown> = { ops, trace, scope, apply, Graph, evaluate, tensor, zeros, Tensor, grad, vjp, optimize, stats };

/** The editor's `trace(...)` text sees the ops by their bare names, with trace, scope and `op(name, inputs, attrs)`. */
export const editorApi: Record<string, unknown> = { ...builder, ...composites, trace, scope, op: apply };
