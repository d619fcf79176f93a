// Reductions and movement (broadcastTo, reshape, transpose). matmul is in contraction.ts.

import type { OpDef } from "../core/registry.js";
import * as b from "../core/builder.js";
import { sizeOf, strides, Tensor } from "../core/tensor.js";
import { axesAttr, shapeAttr, show } from "./checks.js";
import { broadcastStrides, output, walk } from "./kernels.js";
import { distinct, int, permutation, randAxes, randomTensor, randShape } from "./samples.js";

/** Reduced axes keep size 1: reductions and their broadcasts line up without reshapes. */
const reducedShape = (shape: readonly number[], axes: readonly number[]) => shape.map((s, i) => (axes.includes(i) ? 1 : s));

function reduceKernel(init: number, combine: (acc: number, v: number) => number): OpDef["impl"] {
  return ([x], _attrs, out) => {
    const r = output(out);
    r.data.fill(init);
    const st = broadcastStrides(out.shape, x.shape); // zero stride on reduced axes
    const xd = x.data,
      rd = r.data;
    walk(x.shape, st, (i, off) => {
      rd[off] = combine(rd[off], xd[i]);
    });
    return r;
  };
}

export const structuralOps: OpDef[] = [
  {
    name: "sum",
    kind: "reduce",
    arity: 1,
    attrs: { axes: "ints" },
    tags: ["linear"],
    shape: ([x], attrs) => ({ shape: reducedShape(x.shape, axesAttr(attrs, x.shape.length)), dtype: x.dtype }),
    impl: reduceKernel(0, (acc, v) => acc + v),
    vjp: (g, [x]) => [b.broadcastTo(g, x.shape)],
    onnx: (e, [x], attrs) => e.node("ReduceSum", [x, e.ints(attrs.axes as number[])], { keepdims: 1 }),
    sample: (rand) => {
      const shape = randShape(rand, 1, 3);
      return { inputs: [randomTensor(rand, shape)], attrs: { axes: randAxes(rand, shape.length) } };
    },
  },
  {
    name: "max",
    kind: "reduce",
    arity: 1,
    attrs: { axes: "ints" },
    shape: ([x], attrs) => {
      const axes = axesAttr(attrs, x.shape.length);
      // -Infinity, max's identity, is not a value anyone wants from an empty batch
      const empty = axes.find((a) => x.shape[a] === 0);
      if (empty !== undefined) throw new Error(`max over axis ${empty}, which is empty (size 0) in ${show(x.shape)}: the maximum of no values is undefined`);
      return { shape: reducedShape(x.shape, axes), dtype: x.dtype };
    },
    impl: reduceKernel(-Infinity, (acc, v) => (v > acc || Number.isNaN(v) ? v : acc)),
    // ties share the gradient equally
    vjp: (g, [x], out, attrs) => {
      const axes = attrs.axes as number[];
      const hit = b.equal(x, b.broadcastTo(out, x.shape));
      const count = b.sum(hit, axes, true);
      return [b.mul(hit, b.broadcastTo(b.div(g, count), x.shape))];
    },
    onnx: (e, [x], attrs) => e.node("ReduceMax", [x], { axes: attrs.axes as number[], keepdims: 1 }),
    sample: (rand) => {
      const shape = randShape(rand, 1, 3);
      return { inputs: [distinct(rand, shape)], attrs: { axes: randAxes(rand, shape.length) } };
    },
  },
  {
    name: "broadcastTo",
    kind: "movement",
    arity: 1,
    attrs: { shape: "ints" },
    shape: ([x], attrs) => {
      const shape = shapeAttr(attrs);
      if (shape.length !== x.shape.length) throw new Error(`cannot broadcast ${show(x.shape)} to ${show(shape)}: ranks differ (reshape first)`);
      x.shape.forEach((s, i) => {
        if (s !== 1 && s !== shape[i]) throw new Error(`cannot broadcast ${show(x.shape)} to ${show(shape)}: axis ${i} has size ${s}, not 1`);
      });
      return { shape, dtype: x.dtype };
    },
    impl: ([x], _attrs, out) => {
      const r = output(out);
      const xd = x.data,
        rd = r.data;
      walk(out.shape, broadcastStrides(x.shape, out.shape), (i, off) => {
        rd[i] = xd[off];
      });
      return r;
    },
    // un-broadcasting lives here, once: the gradient of an expansion is a sum over it
    vjp: (g, [x]) => [
      b.sum(
        g,
        x.shape.flatMap((s, i) => (s === 1 && g.shape[i] !== 1 ? [i] : [])),
        true,
      ),
    ],
    onnx: (e, [x], _attrs, out) => e.node("Expand", [x, e.shape(out.shape)]),
    sample: (rand) => {
      const target = randShape(rand, 1, 3);
      const shape = target.map((s) => (rand() < 0.5 ? 1 : s));
      return { inputs: [randomTensor(rand, shape)], attrs: { shape: target } };
    },
  },
  {
    name: "reshape",
    kind: "movement",
    arity: 1,
    attrs: { shape: "ints" },
    shape: ([x], attrs) => {
      const shape = shapeAttr(attrs);
      if (sizeOf(shape) !== sizeOf(x.shape))
        throw new Error(`cannot reshape ${show(x.shape)} (${sizeOf(x.shape)} elements) to ${show(shape)} (${sizeOf(shape)})`);
      return { shape, dtype: x.dtype };
    },
    impl: ([x], _attrs, out) => new Tensor(x.data, out.shape),
    vjp: (g, [x]) => [b.reshape(g, x.shape)],
    onnx: (e, [x], _attrs, out) => e.node("Reshape", [x, e.shape(out.shape)]),
    sample: (rand) => {
      const shape = randShape(rand, 1, 3);
      const n = shape.reduce((m, s) => m * s, 1);
      const choices = [[n], [...shape].reverse(), [1, ...shape], [n, 1]];
      return { inputs: [randomTensor(rand, shape)], attrs: { shape: choices[int(rand, 0, choices.length - 1)] } };
    },
  },
  {
    name: "transpose",
    kind: "movement",
    arity: 1,
    attrs: { perm: "ints" },
    shape: ([x], attrs) => {
      const perm = attrs.perm;
      const rank = x.shape.length;
      if (!Array.isArray(perm) || perm.length !== rank || [...perm].sort((p, q) => p - q).some((v, i) => v !== i)) {
        throw new Error(`perm ${JSON.stringify(perm)} is not a permutation of the ${rank} axes of ${show(x.shape)}`);
      }
      return { shape: perm.map((p: number) => x.shape[p]), dtype: x.dtype };
    },
    impl: ([x], attrs, out) => {
      const perm = attrs.perm as number[];
      const r = output(out);
      const st = strides(x.shape);
      const xd = x.data,
        rd = r.data;
      walk(
        out.shape,
        perm.map((p) => st[p]),
        (i, off) => {
          rd[i] = xd[off];
        },
      );
      return r;
    },
    vjp: (g, _x, _out, attrs) => {
      const perm = attrs.perm as number[];
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return [b.transpose(g, inverse)];
    },
    onnx: (e, [x], attrs) => e.node("Transpose", [x], { perm: attrs.perm as number[] }),
    sample: (rand) => {
      const shape = randShape(rand, 1, 4);
      return { inputs: [randomTensor(rand, shape)], attrs: { perm: permutation(rand, shape.length) } };
    },
  },
];
