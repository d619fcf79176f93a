// The compiled training step (nn/train-step.ts): forward, backward and every optimizer's update
// as one executable, checked against the eager path it replaces (valueAndGrad, then the
// optimizer's update), with parameters and state updated in the caller's own arrays.

import "../ops/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, type DType } from "../core/tensor.js";
import { GradcError } from "../core/errors.js";
import * as b from "../core/builder.js";
import { affine, softmaxCrossEntropy } from "../ops/composites.js";
import { RandomState } from "../nn/random.js";
import { cloneTree, flatten, init, type Tree } from "../nn/tree.js";
import { valueAndGrad, type NodeTree } from "../nn/value-and-grad.js";
import { trainStep } from "../nn/train-step.js";
import * as optim from "../nn/optimizers.js";
import type { Node } from "../core/node.js";

type P = Record<string, Record<string, Node>>;
const loss = (p: NodeTree, i: NodeTree) => {
  const { l1, l2 } = p as P,
    { X, y } = i as Record<string, Node>;
  return softmaxCrossEntropy(affine(b.relu(affine(X, l1.W, l1.b)), l2.W, l2.b), y);
};

function setup(dtype: DType, seed = 0) {
  const rng = new RandomState(seed);
  const params = {
    l1: { W: init.heNormal(rng, [12, 9], { dtype }), b: init.zeros([9], { dtype }) },
    l2: { W: init.heNormal(rng, [9, 4], { dtype }), b: init.zeros([4], { dtype }) },
  };
  const batches = [0, 1, 2, 3].map(() => {
    const X = init.normal(rng, [8, 12], { dtype });
    const y = Int32Array.from({ length: 8 }, () => rng.randint(0, 4, 1)[0]);
    return { X, y };
  });
  return { params, batches };
}

const maxRel = (a: Tree, c: Tree) => {
  const fa = flatten(a),
    fc = flatten(c);
  let worst = 0;
  for (const [k, t] of Object.entries(fa))
    for (let i = 0; i < t.size; i++) worst = Math.max(worst, Math.abs(t.data[i] - fc[k].data[i]) / Math.max(1e-3, Math.abs(fc[k].data[i])));
  return worst;
};

const cases: [string, () => optim.Optimizer][] = [
  ["sgd", () => optim.sgd({ lr: 0.1 })],
  ["sgd with weight decay", () => optim.sgd({ lr: 0.1, weightDecay: 0.01 })],
  ["momentum", () => optim.sgd({ lr: 0.05, momentum: 0.9 })],
  ["nesterov, clipped", () => optim.sgd({ lr: 0.05, momentum: 0.9, nesterov: true, clipNorm: 0.5 })],
  ["rmsprop", () => optim.rmsprop({ lr: 1e-2 })],
  ["adam", () => optim.adam({ lr: 1e-2 })],
  ["adam with L2 and clipping, cosine schedule", () => optim.adam({ lr: optim.schedules.cosine(1e-2, { steps: 3 }), weightDecay: 0.1, clipNorm: 0.3 })],
  ["adamw", () => optim.adamw({ lr: 1e-2, weightDecay: 0.1 })],
];

for (const dtype of ["f64", "f32"] as const) {
  test(`trainStep (${dtype}): every optimizer's compiled step follows valueAndGrad + update, in the caller's arrays`, () => {
    const tol = dtype === "f64" ? 1e-9 : 2e-4;
    for (const [name, make] of cases) {
      const { params, batches } = setup(dtype);
      const eager = cloneTree(params);
      const o1 = make(),
        o2 = make();
      const s1 = o1.init(params),
        s2 = o2.init(eager);
      const arrays = Object.values(flatten(params)).map((t) => t.data);
      const step = trainStep(loss, o1);
      const vg = valueAndGrad(loss);
      for (const batch of batches) {
        const l = step(params, s1, batch);
        const ref = vg(eager, batch);
        o2.update(eager, ref.grads, s2);
        assert.ok(Math.abs(l - ref.loss) <= tol * Math.abs(ref.loss), `${name}: loss ${l} vs ${ref.loss}`);
      }
      assert.ok(maxRel(params, eager) <= tol, `${name}: parameters differ by ${maxRel(params, eager)}`);
      for (const s of Object.keys(s2.slots)) assert.ok(maxRel(s1.slots[s], s2.slots[s]) <= tol, `${name}: slot ${s}`);
      assert.equal(s1.step, batches.length);
      assert.deepEqual(
        Object.values(flatten(params)).map((t) => t.data),
        arrays,
        `${name}: updated in place`,
      );
    }
  });
}

test("trainStep: one graph reads the parameters, slots and step scalars and writes the loss, next parameters and slots (no gradient leaves it)", () => {
  const { params, batches } = setup("f64");
  const step = trainStep(loss, optim.adam({ lr: 1e-3 }));
  const g = step.graph(params, batches[0]);
  for (const name of ["l1.W", "opt.m.l1.W", "opt.v.l2.b", "opt.lr", "opt.c1", "opt.c2", "X", "y"])
    assert.ok(g.inputNames.includes(name), `${name} in ${g.inputNames.join(", ")}`);
  assert.deepEqual(
    Object.keys(g.outputs).sort(),
    ["loss", ...["l1.W", "l1.b", "l2.W", "l2.b"].flatMap((k) => [`next.${k}`, `opt.m.${k}`, `opt.v.${k}`])].sort(),
  );
  assert.equal(step.executable(params, batches[0]), step.executable(params, batches[1]), "compiled once per signature");
});

test("trainStep: a state from another optimizer or of other shapes, and a name the state would take, are errors", () => {
  const { params, batches } = setup("f64");
  const step = trainStep(loss, optim.adam());
  assert.throws(
    () => step(params, optim.sgd({ momentum: 0.9 }).init(params), batches[0]),
    (e: Error) => e instanceof GradcError && /no slot "m"/.test(e.message),
  );
  const other = optim.adam().init({ l1: { W: new Tensor(new Float64Array(3), [3]), b: params.l1.b }, l2: params.l2 });
  assert.throws(() => step(params, other, batches[0]), /slot m has no f64\[12,9\] entry for parameter "l1.W"/);
  const clash = trainStep((p, i) => loss(p, i), optim.adam());
  assert.throws(() => clash(params, optim.adam().init(params), { ...batches[0], opt: { lr: batches[0].X } }), /"opt.lr" names a parameter or an input/);
});
