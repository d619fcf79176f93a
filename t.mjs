import { trace, evaluate, grad, vjp, optimize, ops, tensor, compile } from "./dist/index.js";
import { randomInputs, seeded } from "./dist/spec/fuzz.js";
const f = ({ x, gamma, beta }) => ops.batchnorm(x, gamma, beta).out;
const gs = trace({ x: ["N", 3], gamma: [3], beta: [3] }, f);
const ts = optimize(grad(gs, { of: "out", withValue: true })); console.log(ts.toString());
for (const n of [5, 9]) {
  const gc = trace({ x: [n, 3], gamma: [3], beta: [3] }, f);
  const tc = optimize(grad(gc, { of: "out", withValue: true }));
  const ins = randomInputs(tc, seeded(n));
  const a = evaluate(ts, ins), b = evaluate(tc, ins);
  for (const k of Object.keys(a)) console.log(n, k, Math.max(...a[k].data.map((v, i) => Math.abs(v - b[k].data[i]))));
}
