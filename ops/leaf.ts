// Leaves (inputs, constants, iota) and dtype casts.

import type { OpDef } from "../core/registry.js";
import * as b from "../core/builder.js";
import { sizeOf, strides } from "../core/tensor.js";
import { dtypeAttr, shapeAttr } from "./checks.js";
import { output } from "./kernels.js";
import { fail } from "../core/errors.js";
import { symbolSize } from "../core/symbol-table.js";

export const leafOps: OpDef[] = [
  {
    name: "input", kind: "leaf", arity: 0, attrs: { name: "string", shape: "ints", dtype: "string" },
    shape: (_x, attrs) => {
      if (typeof attrs.name !== "string" || attrs.name === "") throw new Error(`an input needs a non-empty string name, got ${JSON.stringify(attrs.name)}`);
      return { shape: shapeAttr(attrs), dtype: dtypeAttr(attrs) };
    },
    impl: (_x, attrs) => fail(`input "${String(attrs.name)}" has no value: pass it to evaluate`),
  },
  {
    name: "const", kind: "leaf", arity: 0, attrs: { value: "number", dtype: "string", shape: "ints?" },
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
    name: "iota", kind: "leaf", arity: 0, attrs: { shape: "ints", axis: "int", dtype: "string" },
    shape: (_x, attrs) => {
      const shape = shapeAttr(attrs);
      const axis = attrs.axis;
      if (!Number.isInteger(axis) || (axis as number) < 0 || (axis as number) >= shape.length) throw new Error(`axis ${String(axis)} is out of range for rank ${shape.length}`);
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
  },
  {
    // a symbolic size as a value (1/N is recip(dim N)); evaluate and compile replace it by the
    // size bound at run time (core/symbolic.ts), so the kernel here sees only the traced size
    name: "dim", kind: "leaf", arity: 0, attrs: { name: "string", dtype: "string" },
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
  },
  {
    name: "cast", kind: "elementwise", arity: 1, attrs: { dtype: "string" },
    scalar: (a) => a,
    expr: ([a]) => a,
    shape: ([x], attrs) => ({ shape: x.shape, dtype: dtypeAttr(attrs) }),
    impl: ([x], _attrs, out) => {
      const r = output(out);
      r.data.set(x.data);
      return r;
    },
    vjp: (g, [x]) => [b.cast(g, x.dtype)],
  },
];
