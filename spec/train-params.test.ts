// Parameters as trees, initializers, valueAndGrad / jit over trees, the tree optimizers and the
// in-memory dataset: each checked against a reference it must agree with.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, tensor } from "../core/tensor.js";
import { GradcError } from "../core/errors.js";
import * as b from "../core/builder.js";
import { affine, softmaxCrossEntropy } from "../ops/composites.js";
import { RandomState } from "../nn/random.js";
import { checkTree, flatten, init, unflatten, type Tree } from "../nn/tree.js";
import { jit, valueAndGrad, type NodeTree } from "../nn/value-and-grad.js";
import * as optim from "../nn/optimizers.js";
import { adam as notebookAdam, type OptimConfig } from "../nn/optim.js";
import { ArrayDataset, accuracy, argmax, checkLabels } from "../nn/dataset.js";
import { evalNumericalGradientArray, relError } from "../compile/check/index.js";

const N = (t: NodeTree): Record<string, NodeTree> => t as Record<string, NodeTree>;

test("flatten names leaves by dotted path in the tree's order; unflatten rebuilds the same structure", () => {
  const [a, c, d] = [tensor([1]), tensor([2]), tensor([3])];
  const tree = { layer1: { W: a }, blocks: [c, { g: d }] };
  const flat = flatten(tree);
  assert.deepEqual(Object.keys(flat), ["layer1.W", "blocks.0", "blocks.1.g"]);
  const back = unflatten(tree, flat) as typeof tree;
  assert.equal(back.layer1.W, a);
  assert.equal((back.blocks[1] as { g: Tensor }).g, d);
  assert.throws(() => flatten({ "a..b": a }), /key "a..b"/);
  assert.deepEqual(Object.keys(flatten(flat)), Object.keys(flat), "a flat record by path is its own flattening");
  assert.throws(() => flatten({ w: 3 } as unknown as Tree), /"w" is number/);
});

test("initializers: the same seed draws the same values; Glorot and He have their ranges and scales", () => {
  const a = init.glorotUniform(new RandomState(1), [200, 100]);
  const again = init.glorotUniform(new RandomState(1), [200, 100]);
  assert.deepEqual(a.data, again.data);
  const bound = Math.sqrt(6 / 300);
  assert.ok(a.data.every((v) => Math.abs(v) <= bound));
  const he = init.heNormal(new RandomState(2), [500, 400], { dtype: "f32" });
  assert.equal(he.dtype, "f32");
  const std = Math.sqrt(Array.from(he.data).reduce((s, v) => s + v * v, 0) / he.size);
  assert.ok(Math.abs(std - Math.sqrt(2 / 500)) < 0.002, `He std ${std}`);
  assert.deepEqual([...init.ones([2]).data, ...init.zeros([2]).data], [1, 1, 0, 0]);
  assert.throws(() => init.heNormal(new RandomState(0), [5]), /rank 2/);
});

const rng = new RandomState(0);
const params = { hidden: { W: init.normal(rng, [5, 4], { std: 0.5 }), b: init.normal(rng, [4]) }, out: { W: init.normal(rng, [4, 3]), b: init.zeros([3]) } };
const model = (p: NodeTree, X: NodeTree) => {
  const q = N(p),
    h = N(q.hidden),
    o = N(q.out);
  return affine(b.tanh(affine(X as never, h.W as never, h.b as never)), o.W as never, o.b as never);
};
const X = rng.randnTensor([6, 5]);
const y = Int32Array.from([0, 2, 1, 1, 0, 2]);

test("valueAndGrad: the loss and a tree of gradients that agree with central differences; traced once per signature", () => {
  let traces = 0;
  const f = valueAndGrad((p, i) => {
    traces++;
    return softmaxCrossEntropy(model(p, N(i).X), N(i).y as never);
  });
  const { loss, grads } = f(params, { X, y });
  const g = grads as { hidden: { W: Tensor }; out: { b: Tensor } };
  assert.ok(loss > 0 && Number.isFinite(loss));
  for (const [path, dw] of [
    ["hidden.W", g.hidden.W],
    ["out.b", g.out.b],
  ] as const) {
    const w = flatten(params)[path];
    const numeric = evalNumericalGradientArray(() => tensor([f(params, { X, y }).loss]), w, tensor([1]));
    assert.ok(relError(dw, numeric) < 1e-6, `${path}: ${relError(dw, numeric)}`);
  }
  f(params, { X, y: [...y] });
  assert.equal(traces, 1, "same shapes and dtypes: the cached executable");
  f(params, { X: rng.randnTensor([2, 5]), y: [0, 1] });
  assert.equal(traces, 2, "a new batch size: traced again");
});

test("valueAndGrad: wrt picks parameters by path; shapes that do not fit name the parameter", () => {
  const f = valueAndGrad((p, i) => softmaxCrossEntropy(model(p, N(i).X), N(i).y as never), { wrt: ["out.b"] });
  assert.deepEqual(Object.keys(f(params, { X, y }).grads as object), ["out.b"]);
  assert.throws(
    () => valueAndGrad((p, i) => softmaxCrossEntropy(model(p, N(i).X), N(i).y as never), { wrt: ["out.c"] })(params, { X, y }),
    /wrt "out.c" is not a parameter/,
  );
  const bad = { ...params, hidden: { W: init.zeros([7, 4]), b: params.hidden.b } };
  assert.throws(
    () => valueAndGrad((p, i) => softmaxCrossEntropy(model(p, N(i).X), N(i).y as never))(bad, { X, y }),
    (e: Error) => e instanceof GradcError && /hidden\.W f64\[7,4\]/.test(e.message) && /%hidden\.W/.test(e.message),
  );
  assert.throws(
    () => checkTree(flatten(params), flatten(bad), "model.safetensors"),
    /model.safetensors: parameter "hidden.W" is f64\[7,4\], the model's is f64\[5,4\]/,
  );
});

test("jit: a forward function of trees, compiled once; argmax and accuracy read its scores", () => {
  const predict = jit((p, i) => model(p, N(i).X));
  const scores = predict(params, { X });
  assert.deepEqual(scores.shape, [6, 3]);
  const pred = argmax(scores);
  assert.equal(accuracy(scores, pred), 1);
  assert.deepEqual(
    argmax(
      tensor([
        [0.1, 2, 0.3],
        [5, 1, 5],
      ]),
    ),
    Int32Array.from([1, 0]),
  );
});

test("tree Adam updates in place with the notebook's Adam's bits (float64); the state is a tree of slots", () => {
  const rs = new RandomState(3);
  const w = rs.randnTensor([50]),
    dw = rs.randnTensor([50]);
  const mine = { w: new Tensor(w.data.slice(), w.shape) };
  const opt = optim.adam({ lr: 1e-2 });
  const state = opt.init(mine);
  const ref = new Tensor(w.data.slice(), w.shape);
  const config: OptimConfig = { learningRate: 1e-2 };
  for (let k = 0; k < 3; k++) {
    opt.update(mine, { w: dw }, state);
    notebookAdam(ref, dw, config);
  }
  assert.deepEqual(mine.w.data, ref.data);
  assert.equal(state.step, 3);
  assert.deepEqual(Object.keys(state.slots), ["m", "v"]);
  assert.deepEqual((state.slots.m as { w: Tensor }).w.data, config.m!.data);
});

test("SGD with momentum and Nesterov follow PyTorch's buffers; clipping bounds the global norm; schedules", () => {
  const w = { a: tensor([1, -2]) },
    g = { a: tensor([0.5, 1]) };
  const opt = optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true });
  const s = opt.init(w);
  opt.update(w, g, s); // buf = g; w -= lr (g + 0.9 g)
  opt.update(w, g, s); // buf = 1.9 g; w -= lr (g + 0.9 * 1.9 g)
  const step = 0.1 * (1.9 + 1 + 0.9 * 1.9);
  assert.ok(Math.abs(w.a.data[0] - (1 - 0.5 * step)) < 1e-12 && Math.abs(w.a.data[1] - (-2 - step)) < 1e-12);

  const big = { a: tensor([30, 40]) },
    p = { a: tensor([0, 0]) };
  const clipped = optim.sgd({ lr: 1, clipNorm: 5 });
  clipped.update(p, big, clipped.init(p));
  assert.ok(Math.abs(Math.hypot(p.a.data[0], p.a.data[1]) - 5) < 1e-5);

  const cos = optim.schedules.cosine(1, { steps: 10, min: 0.1 });
  assert.equal(cos(0), 1);
  assert.ok(Math.abs(cos(10) - 0.1) < 1e-12 && Math.abs(cos(5) - 0.55) < 1e-12);
  const warm = optim.schedules.warmup(optim.schedules.step(1, { every: 2, gamma: 0.5 }), { steps: 4 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(warm), [0.25, 0.5, 0.75, 1, 1, 1, 0.5]);
  const adamw = optim.adamw({ lr: 0.1, weightDecay: 0.5 });
  const z = { a: tensor([2]) };
  adamw.update(z, { a: tensor([0]) }, adamw.init(z)); // zero gradient: only the decay moves w
  assert.ok(Math.abs(z.a.data[0] - 2 * 0.95) < 1e-12);
  assert.throws(() => optim.adam({ lr: -1 }), /learning rate/);
});

test("ArrayDataset: shuffled batches cover every example once; bad labels and small datasets fail before training", () => {
  const X = new Tensor(
    Float64Array.from({ length: 20 }, (_, i) => i),
    [10, 2],
  );
  const ds = new ArrayDataset(
    X,
    Int32Array.from({ length: 10 }, (_, i) => i % 3),
    { numClasses: 3 },
  );
  const seen: number[] = [];
  for (const batch of ds.batches(3, { rng: new RandomState(0) })) {
    assert.deepEqual(batch.X.shape, [3, 2]);
    batch.index.forEach((k, i) => {
      assert.equal(batch.X.data[2 * i], 2 * k);
      assert.equal(batch.y.data[i], k % 3);
    });
    seen.push(...batch.index);
  }
  assert.equal(seen.length, 9);
  assert.equal(new Set(seen).size, 9);
  assert.throws(() => [...ds.batches(11)], /holds 10 examples, fewer than one batch of 11/);
  assert.throws(() => new ArrayDataset(X, [0, 1, 2, 3, 0, 0, 0, 0, 0, 0], { numClasses: 3 }), /label 3 at 3 is out of range: classes are 0..2/);
  assert.throws(() => checkLabels([0, 1.5], "train"), /label 1.5 at 1 is not an integer/);
  assert.throws(() => new ArrayDataset(X, [0, 1]), /10 examples .* but 2 labels/);
});

test("the package exports its data modules: import('gradc/nn/data') and the loaders from 'gradc'", async () => {
  const sub = await import("gradc/nn/data" as string);
  assert.equal(typeof sub.loadCifar10, "function");
  const main = await import("gradc" as string);
  for (const name of ["loadMnist", "loadCifar10", "ArrayDataset", "accuracy", "argmax", "scope", "valueAndGrad", "init", "optim"])
    assert.ok(name in main, name);
});
