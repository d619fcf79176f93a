// Leaves (inputs, constants, iota) and dtype casts.

import type { OpDef } from "../core/registry.js";
import * as b from "../core/builder.js";
import { sizeOf, strides, type DType } from "../core/tensor.js";
import { dtypeAttr, shapeAttr } from "./checks.js";
import { output } from "./kernels.js";
import { fail } from "../core/errors.js";
import { symbolSize } from "../core/symbol-table.js";
import { randomTensor, randShape } from "./samples.js";

export const leafOps: OpDef[] = [
  {
    name: "input",
    kind: "leaf",
    arity: 0,
    attrs: { name: "string", shape: "ints", dtype: "string" },
    shape: (_x, attrs) => {
      if (typeof attrs.name !== "string" || attrs.name === "") throw new Error(`an input needs a non-empty string name, got ${JSON.stringify(attrs.name)}`);
      return { shape: shapeAttr(attrs), dtype: dtypeAttr(attrs) };
    },
    impl: (_x, attrs) => fail(`input "${String(attrs.name)}" has no value: pass it to evaluate`),
  },
  {
    name: "const",
    kind: "leaf",
    arity: 0,
    attrs: { value: "number", dtype: "string", shape: "ints?" },
    shape: (_x, attrs) => {
      if (typeof attrs.value !== "number") throw new Error(`a constant's value must be a number, got ${JSON.stringify(attrs.value)}`);
      return { shape: attrs.shape === undefined ? [] : shapeAttr(attrs), dtype: dtypeAttr(attrs) };
    },
    impl: (_x, attrs, out) => {
      const r = output(out);
      r.data.fill(attrs.value as number);
      return r;
    },
  },
  {
    name: "iota",
    kind: "leaf",
    arity: 0,
    attrs: { shape: "ints", axis: "int", dtype: "string" },
    shape: (_x, attrs) => {
      const shape = shapeAttr(attrs);
      const axis = attrs.axis;
      if (!Number.isInteger(axis) || (axis as number) < 0 || (axis as number) >= shape.length)
        throw new Error(`axis ${String(axis)} is out of range for rank ${shape.length}`);
      return { shape, dtype: dtypeAttr(attrs) };
    },
    impl: (_x, attrs, out) => {
      const r = output(out);
      const axis = attrs.axis as number;
      const st = strides(out.shape)[axis];
      const n = out.shape[axis];
      for (let i = 0; i < sizeOf(out.shape); i++) r.data[i] = Math.floor(i / st) % n;
      return r;
    },
    onnx: (e, _x, attrs, out) => {
      const shape = out.shape;
      const axis = attrs.axis as number;
      // Range wants scalars: the axis' size (read from the shape, which may be symbolic) as one
      const size = e.node("Reshape", [e.node("Gather", [e.shape(shape), e.ints([axis])]), e.ints([])]);
      const range = e.node("Range", [e.scalar(0, out.dtype), e.node("Cast", [size], { to: e.type(out.dtype) }), e.scalar(1, out.dtype)]);
      const column = shape.map((_, i) => (i === axis ? -1 : 1));
      return e.node("Expand", [e.node("Reshape", [range, e.ints(column)]), e.shape(shape)]);
    },
  },
  {
    // a symbolic size as a value (1/N is recip(dim N)); evaluate and compile replace it by the
    // size bound at run time (core/symbolic.ts), so the kernel here sees only the traced size
    name: "dim",
    kind: "leaf",
    arity: 0,
    attrs: { name: "string", dtype: "string" },
    shape: (_x, attrs) => {
      if (typeof attrs.name !== "string") throw new Error(`a dim needs the symbol's name, got ${JSON.stringify(attrs.name)}`);
      symbolSize(attrs.name);
      return { shape: [], dtype: dtypeAttr(attrs) };
    },
    impl: (_x, attrs, out) => {
      const r = output(out);
      r.data.fill(symbolSize(attrs.name as string));
      return r;
    },
    // a symbolic size as a value: read from the input shape that carries it
    onnx: (e, _x, attrs, out) => e.node("Cast", [e.node("Reshape", [e.shape([symbolSize(attrs.name as string)]), e.ints([])])], { to: e.type(out.dtype) }),
  },
  {
    name: "cast",
    kind: "elementwise",
    arity: 1,
    attrs: { dtype: "string" },
    scalar: (a) => a,
    expr: ([a]) => a,
    shape: ([x], attrs) => ({ shape: x.shape, dtype: dtypeAttr(attrs) }),
    impl: ([x], _attrs, out) => {
      const r = output(out);
      r.data.set(x.data);
      return r;
    },
    vjp: (g, [x]) => [b.cast(g, x.dtype)],
    onnx: (e, [x], attrs) => e.node("Cast", [x], { to: e.type(attrs.dtype as DType) }),
    // f32 rounding (6e-8 relative) over a step of 1e-3 gives errors near 1e-4
    sample: (rand) => {
      const up = rand() < 0.5;
      const x = randomTensor(rand, randShape(rand), -2, 2, up ? "f32" : "f64");
      return { inputs: [x], attrs: { dtype: up ? "f64" : "f32" }, h: 1e-3, tol: 1e-3 };
    },
  },
];
