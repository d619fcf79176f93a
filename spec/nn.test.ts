// The notebook's checks of the fully connected network, its update rules and its training loop.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findCifarSubset, loadDataset } from "../nn/data.js";
import { FullyConnectedNet } from "../nn/net.js";
import { adam, rmsprop, sgdMomentum } from "../nn/optim.js";
import { Solver } from "../nn/solver.js";
import { RandomState } from "../nn/random.js";
import { tensor, Tensor } from "../core/tensor.js";
import { evalNumericalGradient, maxAbs, relError } from "../compile/check/numeric.js";

// np.random.seed(231); N, D, H1, H2, C = 2, 15, 20, 30, 10; X = randn(N, D); y = randint(C, size=(N,));
// for reg in [0, 3.14]: model = FullyConnectedNet([H1, H2], ...)
function gradientCheckSetup(reg: number, engine: "compiled" | "interpreted") {
  const rs = new RandomState(231);
  const [N, D, C] = [2, 15, 10];
  const X = tensor(rs.randn(N, D), [N, D]);
  const y = rs.randint(C, undefined, [N]);
  // The notebook builds the reg-0 model, then the reg-3.14 one, from the same stream.
  const nets = [0, 3.14].map(
    (r) =>
      new FullyConnectedNet([20, 30], { inputDim: D, numClasses: C, reg: r, weightScale: 5e-2, dtype: "f64", normalization: "batchnorm", rng: rs, engine }),
  );
  return { net: reg === 0 ? nets[0] : nets[1], X, y };
}

// The notebook's printed initial losses for this seed, reproduced to the digit.
const initialLoss: Record<number, number> = { 0: 2.2611955101340957, 3.14: 6.996533220108303 };

for (const reg of [0, 3.14]) {
  test(`FullyConnectedNet([20, 30], batchnorm) at reg ${reg}: derived gradients match numerical ones`, () => {
    const { net, X, y } = gradientCheckSetup(reg, "compiled");
    const { loss, grads } = net.loss(X, y);
    assert.ok(Math.abs(loss - initialLoss[reg]) < 1e-12, `initial loss ${loss}, notebook ${initialLoss[reg]}`);
    for (const name of Object.keys(net.params)) {
      const num = evalNumericalGradient(() => net.loss(X, y).loss, net.params[name]);
      const err = relError(num, grads[name]);
      if (name === "b1" || name === "b2") {
        // A bias feeding batchnorm is subtracted away with the batch mean: its true gradient is 0,
        // so the relative error of two round-off noises means nothing; check absolute values.
        assert.ok(maxAbs(grads[name]) < 1e-12 && maxAbs(num) < 1e-8, `${name}: |derived| ${maxAbs(grads[name])}, |numerical| ${maxAbs(num)}`);
      } else if (name.startsWith("W")) {
        // The notebook expects 1e-4..1e-10 for W and itself prints 1.10e-04 for W1 at reg 0.
        assert.ok(err < 1.5e-4, `${name} relative error ${err}`);
      } else {
        assert.ok(err < 1e-6, `${name} relative error ${err}`);
      }
    }
  });
}

for (const normalization of ["layernorm", null] as const) {
  test(`FullyConnectedNet([6, 7], ${normalization ?? "no normalization"}, reg 0.5): derived gradients match numerical ones`, () => {
    const rs = new RandomState(0);
    const X = tensor(rs.randn(3, 5), [3, 5]);
    const y = rs.randint(4, undefined, [3]);
    const net = new FullyConnectedNet([6, 7], { inputDim: 5, numClasses: 4, reg: 0.5, weightScale: 0.5, normalization, rng: rs });
    const { grads } = net.loss(X, y);
    for (const name of Object.keys(net.params)) {
      const num = evalNumericalGradient(() => net.loss(X, y).loss, net.params[name]);
      assert.ok(relError(num, grads[name]) < 1e-6, `${name} relative error ${relError(num, grads[name])}`);
    }
  });
}

test("a float32 net computes the float64 net's loss to float32 precision", () => {
  const rs = new RandomState(1);
  const X = tensor(rs.randn(4, 6), [4, 6]);
  const y = [0, 1, 2, 1];
  const [a, b] = (["f64", "f32"] as const).map(
    (dtype) => new FullyConnectedNet([5], { inputDim: 6, numClasses: 3, weightScale: 0.3, normalization: "batchnorm", dtype, seed: 2 }),
  );
  const la = a.loss(X, y);
  const lb = b.loss(X, y);
  assert.equal(lb.grads.W1.dtype, "f32");
  assert.ok(Math.abs(la.loss - lb.loss) < 1e-5, `${la.loss} vs ${lb.loss}`);
  assert.ok(relError(la.grads.W1, lb.grads.W1) < 1e-3);
});

test("the compiled and the interpreted engines agree on loss, gradients and running averages", () => {
  const a = gradientCheckSetup(3.14, "compiled");
  const b = gradientCheckSetup(3.14, "interpreted");
  const ra = a.net.loss(a.X, a.y);
  const rb = b.net.loss(b.X, b.y);
  assert.ok(Math.abs(ra.loss - rb.loss) < 1e-12);
  for (const k of Object.keys(ra.grads)) {
    // b1, b2 feed batchnorm: both engines give round-off around a true 0, compared absolutely.
    const diff = Math.max(...Array.from(ra.grads[k].data, (v, i) => Math.abs(v - rb.grads[k].data[i])));
    assert.ok(relError(ra.grads[k], rb.grads[k]) < 1e-9 || diff < 1e-14, `${k}: relative error ${relError(ra.grads[k], rb.grads[k])}, max difference ${diff}`);
  }
  for (const k of Object.keys(a.net.state)) assert.ok(relError(a.net.state[k], b.net.state[k]) < 1e-12, k);
  assert.ok(relError(a.net.loss(a.X), b.net.loss(b.X)) < 1e-9, "test-mode scores");
});

test("initialization draws W1, W2, ... from the stream as the notebook: weight_scale * randn(in, out)", () => {
  const net = new FullyConnectedNet([3], { inputDim: 4, numClasses: 2, weightScale: 0.5, seed: 0, normalization: "batchnorm" });
  const rs = new RandomState(0);
  assert.deepEqual(
    Array.from(net.params.W1.data),
    Array.from(rs.randn(4, 3), (v) => 0.5 * v),
  );
  assert.deepEqual(
    Array.from(net.params.W2.data),
    Array.from(rs.randn(3, 2), (v) => 0.5 * v),
  );
  assert.deepEqual(Object.keys(net.params), ["W1", "b1", "gamma1", "beta1", "W2", "b2"]);
  assert.deepEqual(Array.from(net.params.gamma1.data), [1, 1, 1]);
});

// The notebook's optimizer checks: N, D = 4, 5; w = linspace(-0.4, 0.6), dw = linspace(-0.6, 0.4).
// Expected values computed by its optim.py in numpy (python3, float64); linspace as numpy's.
const linspace = (a: number, b: number, n = 20) => Array.from({ length: n }, (_, i) => (i === n - 1 ? b : i * ((b - a) / (n - 1)) + a));
const t45 = (values: number[]) => tensor(values, [4, 5]);
const w = () => t45(linspace(-0.4, 0.6));
const dw = () => t45(linspace(-0.6, 0.4));
const close = (got: Tensor, want: number[], what: string) => assert.ok(relError(got, want) < 1e-12, `${what}: relative error ${relError(got, want)}`);

test("sgd_momentum matches the notebook's expected next_w and velocity", () => {
  const config = { learningRate: 1e-3, velocity: t45(linspace(0.6, 0.9)) };
  const next = sgdMomentum(w(), dw(), config);
  close(
    next,
    [
      0.1406, 0.2073894736842105, 0.27417894736842097, 0.34096842105263164, 0.407757894736842, 0.47454736842105266, 0.5413368421052631, 0.6081263157894736,
      0.6749157894736842, 0.7417052631578946, 0.8084947368421053, 0.8752842105263158, 0.9420736842105263, 1.0088631578947367, 1.0756526315789472,
      1.142442105263158, 1.2092315789473682, 1.276021052631579, 1.3428105263157895, 1.4096,
    ],
    "next_w",
  );
  close(
    config.velocity,
    [
      0.5406, 0.5547578947368421, 0.5689157894736842, 0.5830736842105264, 0.5972315789473683, 0.6113894736842106, 0.6255473684210526, 0.6397052631578948,
      0.6538631578947369, 0.6680210526315788, 0.6821789473684211, 0.6963368421052631, 0.7104947368421053, 0.7246526315789474, 0.7388105263157895,
      0.7529684210526316, 0.7671263157894737, 0.7812842105263159, 0.795442105263158, 0.8096,
    ],
    "velocity",
  );
});

test("rmsprop matches the notebook's expected next_w and cache", () => {
  const config = { learningRate: 1e-2, cache: t45(linspace(0.6, 0.9)) };
  const next = rmsprop(w(), dw(), config);
  close(
    next,
    [
      -0.3922384948433383, -0.34037513299070765, -0.28849238846687814, -0.23659120821081786, -0.18467247195258382, -0.13273699834703015, -0.08078555043091254,
      -0.02881884049026984, 0.023162465587694647, 0.07515774441461458, 0.12716641159814304, 0.17918791858913796, 0.2312217498380417, 0.28326742022505713,
      0.33532447273333105, 0.3873924763382963, 0.43947102408970146, 0.4915597313657581, 0.5436582342813369, 0.5957661882343064,
    ],
    "next_w",
  );
  close(
    config.cache,
    [
      0.5976, 0.6126277008310249, 0.6277108033240998, 0.6428493074792244, 0.6580432132963988, 0.6732925207756232, 0.6885972299168975, 0.7039573407202216,
      0.7193728531855956, 0.7348437673130194, 0.7503700831024931, 0.7659518005540166, 0.78158891966759, 0.7972814404432133, 0.8130293628808865,
      0.8288326869806094, 0.8446914127423822, 0.8606055401662049, 0.8765750692520776, 0.8926,
    ],
    "cache",
  );
});

test("adam (bias-corrected, t = 5 before the step) matches the notebook's expected next_w, m and v", () => {
  const config = { learningRate: 1e-2, m: t45(linspace(0.6, 0.9)), v: t45(linspace(0.7, 0.5)), t: 5 };
  const next = adam(w(), dw(), config);
  close(
    next,
    [
      -0.40094747166840083, -0.3483618689667189, -0.2957770321333014, -0.24319298836973444, -0.19060976631902593, -0.13802739616704435, -0.08544590975289204,
      -0.032865340689163525, 0.019714275506843335, 0.07229290126975907, 0.12487049682925762, 0.17744702003811577, 0.2300224261834716, 0.2825966677792994,
      0.33516969433784094, 0.3877414521174136, 0.4403118838436444, 0.49288092840074144, 0.5454485204889067, 0.5980145902433942,
    ],
    "next_w",
  );
  close(
    config.v,
    [
      0.69966, 0.6890838227146813, 0.678513185595568, 0.6679480886426593, 0.6573885318559557, 0.6468345152354571, 0.6362860387811634, 0.6257431024930747,
      0.615205706371191, 0.6046738504155125, 0.5941475346260386, 0.5836267590027702, 0.5731115235457064, 0.5626018282548476, 0.5520976731301939,
      0.5415990581717451, 0.5311059833795013, 0.5206184487534625, 0.5101364542936287, 0.49966,
    ],
    "v",
  );
  close(
    config.m,
    [
      0.48, 0.49947368421052635, 0.5189473684210526, 0.538421052631579, 0.5578947368421052, 0.5773684210526316, 0.596842105263158, 0.6163157894736842,
      0.6357894736842106, 0.6552631578947368, 0.6747368421052632, 0.6942105263157895, 0.7136842105263158, 0.7331578947368422, 0.7526315789473684,
      0.7721052631578947, 0.791578947368421, 0.8110526315789475, 0.8305263157894738, 0.85,
    ],
    "m",
  );
  assert.equal(config.t, 6);
});

test("a 2-layer net overfits 50 training images to 100% train accuracy (Adam, 20 epochs)", () => {
  // The CIFAR-10 subset when it is beside the project (as the notebook), else the MNIST digits.
  const ds = loadDataset({ data: findCifarSubset(), numTrain: 50, numVal: 50, numTest: 0 });
  const net = new FullyConnectedNet([100], { inputDim: ds.X_train.size / 50, weightScale: 1e-2, seed: 231 });
  const data = { XTrain: ds.X_train, yTrain: ds.y_train, XVal: ds.X_val, yVal: ds.y_val };
  const solver = new Solver(net, data, { updateRule: "adam", optimConfig: { learningRate: 1e-3 }, batchSize: 25, numEpochs: 20, seed: 231, verbose: false });
  solver.train();
  assert.equal(solver.trainAccHistory.length, 21);
  assert.equal(solver.trainAccHistory.at(-1), 1, `train accuracy by epoch: ${solver.trainAccHistory.join(" ")}`);
  assert.ok(solver.lossHistory.at(-1)! < 0.1, `final loss ${solver.lossHistory.at(-1)}`);
});

test("Solver logs the notebook's lines and keeps the best parameters by validation accuracy", () => {
  const ds = loadDataset({ data: "mnist", numTrain: 40, numVal: 20, numTest: 0 });
  const net = new FullyConnectedNet([10], { inputDim: 784, seed: 0 });
  const lines: string[] = [];
  const data = { XTrain: ds.X_train, yTrain: ds.y_train, XVal: ds.X_val, yVal: ds.y_val };
  const solver = new Solver(net, data, { updateRule: "sgd", batchSize: 20, numEpochs: 2, printEvery: 1, seed: 0, log: (l) => lines.push(l), progress: false });
  solver.train();
  assert.match(lines[0], /^\(Iteration 1 \/ 4\) loss: \d+\.\d{6}$/);
  assert.match(lines[1], /^\(Epoch 0 \/ 2\) train acc: \d\.\d{6}; val_acc: \d\.\d{6}$/);
  assert.equal(solver.valAccHistory.length, 3);
  assert.equal(solver.bestValAcc, Math.max(...solver.valAccHistory));
  assert.equal(solver.checkAccuracy(data.XVal, data.yVal), solver.bestValAcc);
});

test("gradc experiment deep --quick writes results.json, SVG figures and an HTML page", () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const out = mkdtempSync(join(tmpdir(), "gradc-experiment-"));
  try {
    execFileSync(process.execPath, [join(root, "cli.js"), "experiment", "deep", "--quick", "--out", out], { stdio: "pipe" });
    const dir = join(out, "deep");
    for (const f of ["results.json", "loss.svg", "train-acc.svg", "val-acc.svg", "index.html"]) assert.ok(existsSync(join(dir, f)), f);
    const res = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    assert.deepEqual(
      res.runs.map((r: { label: string }) => r.label),
      ["batchnorm", "baseline"],
    );
    assert.equal(res.runs[0].trainAccHistory.length, res.epochs + 1);
    assert.match(readFileSync(join(dir, "loss.svg"), "utf8"), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
