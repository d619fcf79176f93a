// Convolution primitives: conv, convTranspose and convFilter, the three contractions of one
// trilinear form (ops/conv-geometry.ts). Each is bilinear, so its gradient is the other two and
// its tangent two of itself: second order and forward mode need nothing else.
//
//   conv(x, w)          y = x (*) w                 dx = convTranspose(g, w), dw = convFilter(x, g)
//   convTranspose(y, w)  x = the adjoint of conv in x  dy = conv(g, w),          dw = convFilter(g, y)
//   convFilter(x, y)    w = the adjoint of conv in w  dx = convTranspose(y, g), dy = conv(x, g)
//
// The reference kernels walk every tap (forEachTap); compiled code runs the ops' planned kernels
// (ops/conv-kernels.ts: im2col and the compiler's matrix product).

import type { Attrs, Aval, OpDef } from "../core/registry.js";
import { apply, type Node } from "../core/node.js";
import * as b from "../core/builder.js";
import { output } from "./kernels.js";
import { convFilterGeometry, convGeometry, convTransposeGeometry, forEachTap, type ConvGeometry } from "./conv-geometry.js";
import { convKernel, convTransposeKernel, convFilterKernel } from "./conv-kernels.js";
import { randomSample } from "./conv-samples.js";
import { convOnnx } from "./conv-onnx.js";

/** The attributes every one of the three carries (outputPadding and kernel are per op). */
const shared = (a: Attrs): Attrs => ({ stride: a.stride, dilation: a.dilation, pads: a.pads, groups: a.groups });

/** conv(x, w) recorded with conv's attributes. */
const convOf = (x: Node, w: Node, a: Attrs): Node => apply("conv", [x, w], shared(a));
/** convTranspose(y, w) whose output has the spatial sizes of `like` (the outputPadding that makes them). */
function transposeOf(y: Node, w: Node, a: Attrs, like: readonly number[]): Node {
  const c = convGeometry({ shape: like, dtype: y.dtype }, w, shared(a));
  const base = c.output.map((o, t) => (o - 1) * c.stride[t] - c.padBegin[t] - c.padEnd[t] + c.dilation[t] * (c.kernel[t] - 1) + 1);
  return apply("convTranspose", [y, w], { ...shared(a), outputPadding: like.slice(2).map((i, t) => i - base[t]) });
}
const filterOf = (x: Node, y: Node, a: Attrs, kernel: readonly number[]): Node => apply("convFilter", [x, y], { ...shared(a), kernel: kernel.slice(2) });

/** The reference kernel of one view of the form: accumulate the product of the other two into `out`. */
function reference(geometry: (p: Aval, q: Aval, a: Attrs) => ConvGeometry, role: "y" | "x" | "w"): OpDef["impl"] {
  return ([p, q], attrs, out) => {
    const c = geometry(p, q, attrs);
    const r = output(out);
    const rd = r.data;
    if (role === "y") {
      const xd = p.data,
        wd = q.data;
      forEachTap(c, (xo, wo, yo) => (rd[yo] += (xo < 0 ? 0 : xd[xo]) * wd[wo]));
    } else if (role === "x") {
      const yd = p.data,
        wd = q.data;
      forEachTap(c, (xo, wo, yo) => {
        if (xo >= 0) rd[xo] += yd[yo] * wd[wo]; // a padding position is not part of x
      });
    } else {
      const xd = p.data,
        yd = q.data;
      forEachTap(c, (xo, wo, yo) => (rd[wo] += (xo < 0 ? 0 : xd[xo]) * yd[yo]));
    }
    return r;
  };
}

export const convOps: OpDef[] = [
  {
    name: "conv",
    kind: "other",
    arity: 2,
    tags: ["bilinear"],
    attrs: { stride: "ints", dilation: "ints", pads: "ints", groups: "int" },
    shape: ([x, w], attrs) => ({ shape: [x.shape[0], w.shape[0], ...convGeometry(x, w, attrs).output], dtype: x.dtype }),
    impl: reference(convGeometry, "y"),
    kernel: (inputs, attrs, out, gemm) => convKernel(convGeometry(inputs[0], inputs[1], attrs), out.dtype, gemm),
    vjp: (g, [x, w], _out, a) => [transposeOf(g, w, a, x.shape), filterOf(x, g, a, w.shape)],
    jvp: ([tx, tw], [x, w], _out, a) => sumOf(tx && convOf(tx, w, a), tw && convOf(x, tw, a)),
    onnx: convOnnx.conv,
    sample: (rand) => randomSample(rand, "conv"),
  },
  {
    name: "convTranspose",
    kind: "other",
    arity: 2,
    tags: ["bilinear"],
    attrs: { stride: "ints", dilation: "ints", pads: "ints", groups: "int", outputPadding: "ints" },
    shape: ([y, w], attrs) => {
      const c = convTransposeGeometry(y, w, attrs);
      return { shape: [y.shape[0], c.cig * c.groups, ...c.input], dtype: y.dtype };
    },
    impl: reference(convTransposeGeometry, "x"),
    kernel: (inputs, attrs, out, gemm) => convTransposeKernel(convTransposeGeometry(inputs[0], inputs[1], attrs), out.dtype, gemm),
    vjp: (g, [y, w], _out, a) => [convOf(g, w, a), filterOf(g, y, a, w.shape)],
    jvp: ([ty, tw], [y, w], out, a) => sumOf(ty && transposeOf(ty, w, a, out.shape), tw && transposeOf(y, tw, a, out.shape)),
    onnx: convOnnx.convTranspose,
    sample: (rand) => randomSample(rand, "convTranspose"),
  },
  {
    name: "convFilter",
    kind: "other",
    arity: 2,
    tags: ["bilinear"],
    attrs: { stride: "ints", dilation: "ints", pads: "ints", groups: "int", kernel: "ints" },
    shape: ([x, y], attrs) => {
      const c = convFilterGeometry(x, y, attrs);
      return { shape: [y.shape[1], c.cig, ...c.kernel], dtype: x.dtype };
    },
    impl: reference(convFilterGeometry, "w"),
    kernel: (inputs, attrs, out, gemm) => convFilterKernel(convFilterGeometry(inputs[0], inputs[1], attrs), out.dtype, gemm),
    vjp: (g, [x, y], _out, a) => [transposeOf(y, g, a, x.shape), convOf(x, g, a)],
    jvp: ([tx, ty], [x, y], out, a) => sumOf(tx && filterOf(tx, y, a, out.shape), ty && filterOf(x, ty, a, out.shape)),
    onnx: convOnnx.convFilter,
    sample: (rand) => randomSample(rand, "convFilter"),
  },
];

function sumOf(p: Node | null, q: Node | null): Node | null {
  return p && q ? b.add(p, q) : (p ?? q);
}
