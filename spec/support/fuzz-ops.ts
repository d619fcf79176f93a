// User ops for the fuzzer, one of each kind defineOp makes: an elementwise op with a codegen
// template (fused into loops) and an "other" op with its own kernel (run as a call). Defined by
// the fuzz test and `npm run fuzz`, so that the registry walk meets user ops like builtins.

import { defineOp, removeOp } from "../../ops/define.js";
import { hasOp } from "../../core/registry.js";
import { Tensor } from "../../core/tensor.js";
import * as b from "../../core/builder.js";
import { randShape } from "../../ops/samples.js";
import { randomTensor } from "../../compile/check/numeric.js";

export const USER_OPS = ["fuzzSoftsign", "fuzzCumsum"] as const;

/** Define the fuzzer's user ops (once per process). */
export function defineFuzzOps(): void {
  if (!hasOp("fuzzSoftsign")) {
    defineOp({
      name: "fuzzSoftsign",
      arity: 1,
      scalar: (x) => x / (1 + Math.abs(x)),
      expr: ([x]) => `(${x} / (1 + Math.abs(${x})))`,
      vjp: (g, [x]) => [g.div(x.square().add(1e-300).sqrt().add(1).square())],
      sample: (rand) => ({ inputs: [randomTensor(rand, randShape(rand))], attrs: {} }),
    });
  }
  if (!hasOp("fuzzCumsum")) {
    // running sum along the last axis: not elementwise, so compiled code calls this kernel
    defineOp({
      name: "fuzzCumsum",
      kind: "other",
      arity: 1,
      shape: ([x]) => {
        if (x.shape.length === 0) throw new Error("needs at least one axis");
        return { shape: x.shape, dtype: x.dtype };
      },
      impl: ([x], _attrs, out) => {
        const n = out.shape[out.shape.length - 1];
        const data = x.dtype === "f32" ? new Float32Array(x.data.length) : new Float64Array(x.data.length);
        for (let i = 0; i < data.length; i += n) {
          let s = 0;
          for (let j = 0; j < n; j++) data[i + j] = s += x.data[i + j];
        }
        return new Tensor(data, out.shape);
      },
      // the cotangent is the reversed running sum of g: g @ L with L[j][i] = (i <= j)
      vjp: (g, [x]) => {
        const n = x.shape[x.shape.length - 1];
        const lower = b.less(b.iota([n, n], 1, x.dtype), b.add(b.iota([n, n], 0, x.dtype), 0.5));
        return [b.reshape(b.matmul(b.reshape(g, [x.size / n || 0, n]), lower), x.shape)];
      },
      sample: (rand) => ({ inputs: [randomTensor(rand, randShape(rand, 1, 3))], attrs: {} }),
    });
  }
}

export function removeFuzzOps(): void {
  for (const name of USER_OPS) removeOp(name);
}
