// Convolution and pooling as specifications: values PyTorch computes (torch 1.13, float64, printed
// to 10 decimals by a script run once), every op property through checkOp (compiled, gradient,
// forward mode, dot-product test, second order), the planned kernels against the reference ones
// in float32 and float64, and bad input rejected at trace time naming the op, node and shapes.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import "../ops/index.js";
import * as b from "../core/builder.js";
import { GradcError } from "../core/errors.js";
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { evaluate } from "../core/evaluate.js";
import { Tensor, type DType } from "../core/tensor.js";
import { compile } from "../compile/codegen/compile.js";
import { grad } from "../compile/autodiff/reverse.js";
import { conv, convTranspose, maxPool, avgPool, globalAvgPool, globalMaxPool } from "../ops/conv-builders.js";
import { interpolate } from "../ops/interpolate.js";
import { checkOp } from "../compile/check/op.js";
import { randomTensor, seededRandom } from "../compile/check/numeric.js";

const filled = (shape: number[], f: (i: number) => number, dtype: DType = "f64") => {
  const n = shape.reduce((p, s) => p * s, 1);
  const data = Array.from({ length: n }, (_, i) => f(i));
  return new Tensor(dtype === "f32" ? Float32Array.from(data) : Float64Array.from(data), shape);
};
/** The fixtures' inputs, as the PyTorch script made them. */
const X = filled([2, 2, 5, 4], (i) => Math.sin(((i + 1) / 10) * 3));
const run = (out: Node, inputs: Record<string, Tensor>) =>
  evaluate(
    new Graph(
      Object.keys(inputs).map((k) => b.input(k, inputs[k].shape, inputs[k].dtype)),
      { out },
    ),
    inputs,
  ).out;
const close = (got: ArrayLike<number>, want: readonly number[], what: string) => {
  want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-9, `${what}[${i}]: ${got[i]} vs PyTorch ${v}`));
};

describe("PyTorch's values (conv2d, conv_transpose2d, max_pool2d, avg_pool2d)", () => {
  const x = b.input("x", [2, 2, 5, 4]);
  test("conv: stride (2,1), padding (1,0), dilation (1,2), groups 2", () => {
    const W = filled([4, 1, 3, 2], (i) => Math.cos(i + 1));
    const w = b.input("w", [4, 1, 3, 2]);
    const y = run(conv(x, w, { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 }), { x: X, w: W });
    assert.deepEqual(y.shape, [2, 4, 3, 2]);
    close(
      y.data,
      [
        0.3072001682, -0.2434097919, -1.2739550389, -0.8090975759, 1.3116961052, 0.8913055534, -0.1936874583, -0.7222080713, -0.4585585992, 0.0341588239,
        0.9293245415, 0.4263977439, -0.1843903986, -0.7071943445, -0.0940102793, 0.4216959579, 0.9497937577, 0.4430273867, -0.6760170336, -1.1338310437,
        0.7062641065, 1.241425288, 0.495343377, -0.0521767833, 1.2340563495, 0.7745950397, -1.8157573219, -1.5924107987, 1.7638065549, 1.5877108862,
        0.8118924634, 0.2916236444, -1.2443914711, -0.8630266504, 1.622009434, 1.3075550516, 0.8086041864, 0.2951308843, -1.0080695447, -0.5463151035,
        1.6445939833, 1.3299080962, 0.3156100581, -0.2174878541, -0.4329772763, 0.1765686032, 1.3719541385, 0.9458657075,
      ],
      "conv",
    );
  });
  test("convTranspose: stride 2, padding 1, outputPadding 1", () => {
    const W = filled([2, 3, 2, 3], (i) => Math.cos(i + 1));
    const w = b.input("w", [2, 3, 2, 3]);
    const z = run(convTranspose(x, w, { stride: 2, padding: 1, outputPadding: 1 }), { x: X, w: W });
    assert.deepEqual(z.shape, [2, 3, 9, 8]);
    close(
      z.data,
      [
        0.0748689063, -0.389722285, -0.0058318077, -0.4161315105, -0.0860115836, -0.4053689475, -0.158508201, 1.231573483, -0.0323234186, 0.0121539521,
        0.0022240163, -0.0857047089,
      ],
      "convTranspose",
    );
    assert.ok(Math.abs(Array.from(z.data).reduce((s, v) => s + v, 0) + 4.6797035498) < 1e-8);
  });
  test("maxPool over negative values with padding: never the padding's -Infinity", () => {
    const m = run(maxPool(b.sub(b.neg(b.abs(x)), 1), { kernel: 3, stride: 2, padding: 1 }), { x: X });
    assert.deepEqual(m.shape, [2, 2, 3, 2]);
    close(m.data, [-1.2955202067, -1.5646424734, -1.1411200081, -1.1411200081, -1.6877661592, -1.2794154982, -1.0168139005, -1.3115413635], "maxPool");
    assert.ok(m.data.every(Number.isFinite));
  });
  test("ceilMode: a last partial window whose overhang is never counted (PyTorch's ceil_mode)", () => {
    const x6 = b.input("x6", [1, 1, 6, 6]);
    const X6 = filled([1, 1, 6, 6], (i) => Math.sin(i + 1));
    const avg = run(avgPool(x6, { kernel: 3, stride: 2, padding: 1, ceilMode: true }), { x6: X6 });
    assert.deepEqual(avg.shape, [1, 1, 4, 4]);
    close(
      avg.data,
      [
        0.3774570286, 0.127896729, -0.4528585004, -0.1359980694, 0.4577712998, 0.4390218978, -0.6490580407, -0.3655230878, 0.2044909107, 0.6456678861,
        -0.4480320703, -0.4808981399, 0.0245648393, 0.3467368712, -0.1484798061, -0.2479447134,
      ],
      "avgPool ceilMode",
    );
    const max = run(maxPool(x6, { kernel: 3, stride: 2, padding: 1, ceilMode: true }), { x6: X6 });
    close(
      max.data,
      [
        0.9893582466, 0.9893582466, -0.2794154982, -0.2794154982, 0.9906073557, 0.9906073557, -0.0088513093, -0.536572918, 0.9129452507, 0.9999118601,
        0.5290826861, -0.905578362, 0.5514266812, 0.9999118601, 0.5290826861, -0.9917788534,
      ],
      "maxPool ceilMode",
    );
  });
  test("avgPool with padding counted (PyTorch's default) and not", () => {
    close(
      run(avgPool(x, { kernel: 3, stride: 2, padding: 1 }), { x: X }).data,
      [0.3146116997, 0.532503183, 0.1089445082, -0.0879884945, -0.3619912335, -0.4942373364],
      "avgPool",
    );
    close(
      run(avgPool(x, { kernel: 3, stride: 2, padding: 1, countIncludePad: false }), { x: X }).data,
      [0.7078763244, 0.7987547745, 0.1634167624, -0.0879884945, -0.8144802754, -0.7413560045],
      "avgPool exclude",
    );
  });
});

describe("interpolate: PyTorch's F.interpolate values", () => {
  const Xi = filled([2, 2, 3, 4], (i) => Math.sin((i + 1) * 0.7));
  const x = b.input("x", [2, 2, 3, 4]);
  const cases: [string, Parameters<typeof interpolate>[1], number[], number[]][] = [
    [
      "nearest, scale 2",
      { scale: 2 },
      [2, 2, 6, 8],
      [
        0.6442176872, 0.6442176872, 0.98544973, 0.98544973, 0.8632093666, 0.8632093666, 0.3349881502, 0.3349881502, 0.6442176872, 0.6442176872, 0.98544973,
        0.98544973, 0.8632093666, 0.8632093666, 0.3349881502, 0.3349881502,
      ],
    ],
    [
      "nearest, size [5, 3]",
      { size: [5, 3] },
      [2, 2, 5, 3],
      [
        0.6442176872, 0.98544973, 0.8632093666, 0.6442176872, 0.98544973, 0.8632093666, -0.3507832277, -0.8715757724, -0.9824526126, -0.3507832277,
        -0.8715757724, -0.9824526126, 0.0168139005, 0.6569865987, 0.9881682339,
      ],
    ],
    [
      "bilinear, size [5, 7]",
      { size: [5, 7], mode: "linear" },
      [2, 2, 5, 7],
      [
        0.6442176872, 0.7660862739, 0.9610760126, 0.9243295483, 0.8254792798, 0.5236385846, 0.3349881502, 0.2462173213, 0.2449395383, 0.2428950856, 0.183792052,
        0.1123404078, 0.0115070707, -0.0515137651,
      ],
    ],
    [
      "bilinear, size [5, 7], alignCorners",
      { size: [5, 7], mode: "linear", alignCorners: true },
      [2, 2, 5, 7],
      [
        0.6442176872, 0.8148337086, 0.98544973, 0.9243295483, 0.8632093666, 0.5990987584, 0.3349881502, 0.1467172298, 0.1018271043, 0.0569369788, -0.0013423221,
        -0.059621623, -0.1038804334, -0.1481392439,
      ],
    ],
    [
      "bilinear, scale 1.5",
      { scale: 1.5, mode: "linear" },
      [2, 2, 4, 6],
      [
        0.6442176872, 0.8148337086, 0.9650763361, 0.8835827605, 0.5990987584, 0.3349881502, 0.1467172298, 0.1018271043, 0.0375105452, -0.0401951894,
        -0.1038804334, -0.1481392439,
      ],
    ],
  ];
  for (const [what, opts, shape, want] of cases) {
    test(what, () => {
      const y = interpolate(x, opts);
      assert.deepEqual(y.shape, shape);
      close(run(y, { x: Xi }).data, want, what);
      const g = new Graph([x], { out: y });
      close(compile(g).run({ x: Xi }).out.data, want, `${what} (compiled)`);
    });
  }
  test("linear in 1-D, downsampling", () => {
    const x1 = b.input("x1", [1, 1, 5]);
    close(
      run(interpolate(x1, { size: 3, mode: "linear" }), { x1: filled([1, 1, 5], (i) => Math.sin(i + 1)) }).data,
      [0.8640797988, 0.1411200081, -0.8915503482],
      "linear",
    );
  });
  test("its gradient is the transposed interpolation (against central differences)", () => {
    const g = grad(new Graph([x], { out: b.sum(b.square(interpolate(x, { scale: 1.5, mode: "linear" }))) }), { of: "out" });
    const dx = evaluate(g, { x: Xi }).dx;
    const f = (v: Tensor) => Array.from(run(b.sum(b.square(interpolate(x, { scale: 1.5, mode: "linear" }))), { x: v }).data)[0];
    for (const i of [0, 5, 17]) {
      const p = filled([2, 2, 3, 4], (k) => Xi.data[k] + (k === i ? 1e-6 : 0)),
        m = filled([2, 2, 3, 4], (k) => Xi.data[k] - (k === i ? 1e-6 : 0));
      assert.ok(Math.abs((f(p) - f(m)) / 2e-6 - dx.data[i]) < 1e-6, `dx[${i}]`);
    }
  });
});

describe("conventions", () => {
  test('padding "same" keeps ceil(input / stride) positions, the odd extra at the end', () => {
    const x = b.input("x", [1, 1, 7, 6]);
    const y = conv(x, b.input("w", [2, 1, 4, 3]), { padding: "same", stride: [2, 1] });
    assert.deepEqual(y.shape, [1, 2, 4, 6]);
    assert.deepEqual(y.attrs.pads, [1, 1, 2, 1]);
  });
  test("maxPool gives the gradient to the first of equal elements", () => {
    const x = b.input("x", [1, 1, 2, 2]);
    const g = grad(new Graph([x], { out: b.sum(maxPool(x, { kernel: 2 })) }), { of: "out" });
    assert.deepEqual([...evaluate(g, { x: filled([1, 1, 2, 2], () => 3) }).dx.data], [1, 0, 0, 0]);
  });
  test("global pools: mean and max over the spatial axes, kept as size 1", () => {
    const x = b.input("x", [2, 2, 5, 4]);
    assert.deepEqual(globalAvgPool(x).shape, [2, 2, 1, 1]);
    const m = run(globalMaxPool(x), { x: X });
    assert.equal(m.data[0], Math.max(...X.data.slice(0, 20)));
  });
  test("bias: one per output channel, its gradient a sum over batch and space", () => {
    const x = b.input("x", [2, 2, 5, 4]),
      w = b.input("w", [3, 2, 3, 3]),
      bias = b.input("bias", [3]);
    const g = grad(new Graph([x, w, bias], { out: b.sum(conv(x, w, { bias, padding: 1 })) }), { of: "out" });
    const r = evaluate(g, { x: X, w: filled([3, 2, 3, 3], Math.cos), bias: filled([3], (i) => i) });
    assert.deepEqual([...r.dbias.data], [40, 40, 40]);
  });
});

describe("every property of the convolution primitives (checkOp: compiled, gradient, jvp, dot-product, second order)", () => {
  for (const op of ["conv", "convTranspose", "convFilter", "maxPoolIndex"]) {
    test(op, () => {
      const report = checkOp(op, { runs: 6, seed: 24 });
      assert.ok(
        report.checks.every((c) => c.worst !== null || c.skipped),
        JSON.stringify(report.checks),
      );
    });
  }
});

describe("compiled code (im2col and the matrix product) computes what the reference kernels compute", () => {
  for (const dtype of ["f64", "f32"] as const) {
    test(`${dtype}: a conv net layer's forward and both backward convs, 2-D, grouped 3-D and strided`, () => {
      const rand = seededRandom(24);
      for (const [xs, ws, opts] of [
        [[3, 4, 9, 8], [6, 4, 3, 3], { padding: 1 }],
        [
          [2, 4, 5, 4, 6],
          [4, 2, 2, 3, 2],
          {
            stride: [1, 2, 2],
            padding: [
              [1, 0],
              [0, 1],
              [1, 1],
            ],
            dilation: [2, 1, 1],
            groups: 2,
          },
        ],
        // more output channels than column rows: the filter gradient's product is not transposed
        [[2, 1, 6, 7], [8, 1, 1, 3], { stride: [1, 2], padding: [0, 1] }],
      ] as const) {
        const x = b.input("x", xs, dtype),
          w = b.input("w", ws, dtype);
        const y = conv(x, w, opts);
        const g = grad(new Graph([x, w], { y, out: b.sum(b.square(y)) }), { of: "out", withValue: true });
        const inputs = { x: randomTensor(rand, xs, -1, 1, dtype), w: randomTensor(rand, ws, -1, 1, dtype) };
        const want = evaluate(g, inputs);
        // native: false runs the JavaScript matrix product (what a browser gets)
        for (const native of [true, false]) {
          const got = compile(g, { native }).run(inputs);
          for (const k of Object.keys(want)) {
            const scale = Math.max(1, ...Array.from(want[k].data, Math.abs));
            const worst = Math.max(...Array.from(want[k].data, (v, i) => Math.abs(v - got[k].data[i])));
            assert.ok(worst / scale <= (dtype === "f32" ? 1e-5 : 1e-12), `${k} (native ${native}): compiled differs by ${worst} (scale ${scale})`);
          }
        }
        assert.ok(compile(g).source.includes("planned kernel of op"), "the convs run their planned kernels");
      }
    });
  }
});

const rejects = (build: () => unknown, op: string, ...parts: string[]) =>
  assert.throws(build, (e: unknown) => {
    assert.ok(e instanceof GradcError, `expected a GradcError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${op}:`), e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `should mention ${p}: ${e.message}`);
    return true;
  });

describe("bad input is an error at trace time naming the op, the node and the shapes", () => {
  const x = b.input("x", [2, 4, 5, 5]);
  test("a kernel larger than the padded input", () => rejects(() => conv(x, b.input("w", [3, 4, 7, 3])), "conv", "spans 7", "[2,4,5,5]", "[3,4,7,3]", "%x"));
  test("channels not divisible by groups", () => rejects(() => conv(x, b.input("w", [3, 2, 3, 3]), { groups: 2 }), "conv", "divisible by groups 2", "%x"));
  test("the weights' channels per group", () => rejects(() => conv(x, b.input("w", [4, 3, 3, 3])), "conv", "3 input channels per group", "%w"));
  test("a zero or negative stride", () => {
    rejects(() => conv(x, b.input("w", [3, 4, 3, 3]), { stride: 0 }), "conv", "stride", "%x");
    rejects(() => maxPool(x, { kernel: 2, stride: -1 }), "maxPoolIndex", "stride", "[2,4,5,5]");
  });
  test("an output below 1: convTranspose whose pads remove everything", () =>
    rejects(() => convTranspose(b.input("y", [1, 2, 2, 2]), b.input("w", [2, 1, 2, 2]), { padding: 2 }), "convTranspose", "size", "%y"));
  test("ranks that differ", () => rejects(() => conv(x, b.input("w", [3, 4, 3])), "conv", "rank", "[3,4,3]"));
  test("an input without spatial axes", () => rejects(() => conv(b.input("v", [2, 4]), b.input("w", [3, 4, 3])), "conv", "rank 3 to 5", "[2,4]"));
  test("an interpolate scale of 0, an output size below 1", () => {
    rejects(() => interpolate(x, { scale: 0 }), "interpolate", "scale", "[2,4,5,5]", "%x");
    rejects(() => interpolate(x, { scale: 0.1 }), "interpolate", "output size 0");
  });
  test("a pooling window that covers only padding", () => {
    rejects(() => maxPool(x, { kernel: 2, padding: 2 }), "maxPoolIndex", "only padding", "[2,4,5,5]");
    rejects(() => avgPool(x, { kernel: 2, padding: 2, countIncludePad: false }), "avgPool", "only padding");
  });
});
