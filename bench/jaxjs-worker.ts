// Child process: @jax-js/jax `jit(grad(...))` through the batchnorm forward, on its "wasm" device
// (its "cpu" device is a reference interpreter). jax-js 0.1.25 needs two things in Node 20:
// a Float16Array global to exist (it only checks instanceof; Node 20 has none) and
// init("cpu", "wasm") rather than init() (which also probes WebGPU/WebGL). Float32 and float64;
// under jit it rounds float64 constants (here eps) to float32, noted in the output.

import "../ops/index.js"; // registers the builtin primitives
import { serveChild, type ChildRow } from "./child.js";
import { EPS, makeBatch, referenceGradients, relativeError } from "./data.js";
import { time } from "./timing.js";

type Jax = typeof import("@jax-js/jax");
type JArray = import("@jax-js/jax").Array;

async function load(): Promise<Jax> {
  const g = globalThis as { Float16Array?: unknown };
  g.Float16Array ??= class Float16Array {};
  const jax = (await import("@jax-js/jax")) as Jax;
  const devices = await jax.init("cpu", "wasm");
  if (!devices.includes("wasm")) throw new Error(`jax-js: the wasm device did not initialize (got ${devices.join(", ")})`);
  jax.defaultDevice("wasm");
  return jax;
}

serveChild(async (req, log) => {
  const jax = await load();
  const np = jax.numpy;
  // jax-js arrays are moved into ops: `.ref` keeps one alive for a second use
  const loss = (x: JArray, gamma: JArray, beta: JArray, dout: JArray): JArray => {
    const mu = np.mean(x.ref, 0, { keepdims: true });
    const xc = np.subtract(x, mu);
    const std = np.sqrt(np.add(np.mean(np.square(xc.ref), 0, { keepdims: true }), EPS));
    const out = np.add(np.multiply(gamma, np.divide(xc, std)), beta);
    return np.sum(np.multiply(out, dout)); // its gradient wrt out is dout: a VJP via grad
  };
  const rows: ChildRow[] = [];
  for (const dtype of ["float32", "float64"] as const) {
    const g = jax.jit(jax.grad(loss, { argnums: [0, 1, 2] }));
    const f = jax.jit(loss);
    const Typed = dtype === "float32" ? Float32Array : Float64Array;
    const row: ChildRow = { id: dtype === "float32" ? "jaxjs-f32" : "jaxjs-f64", cells: [] };
    for (const [N, D] of req.sizes) {
      const batch = makeBatch(N, D, req.seed);
      const arr = (v: Float64Array, shape: number[]) => np.array(Typed.from(v), { shape, dtype: dtype === "float32" ? jax.DType.Float32 : jax.DType.Float64 });
      const x = arr(batch.x, [N, D]);
      const gamma = arr(batch.gamma, [D]);
      const beta = arr(batch.beta, [D]);
      const dout = arr(batch.dout, [N, D]);
      const run = () => {
        const [dx, dgamma, dbeta] = g(x.ref, gamma.ref, beta.ref, dout.ref) as JArray[];
        return { dx: dx.dataSync() as Float32Array, dgamma: dgamma.dataSync() as Float32Array, dbeta: dbeta.dataSync() as Float32Array };
      };
      const runForward = () => f(x.ref, gamma.ref, beta.ref, dout.ref).dataSync();
      try {
        const relErr = relativeError(run(), referenceGradients(batch));
        const timing = await time(`jax-js ${dtype} ${N}x${D}`, run, req.timing, log);
        const forward = await time(`jax-js ${dtype} forward alone ${N}x${D}`, runForward, req.timing, log);
        row.cells.push({ N, D, timing, forward, relErr });
      } catch (e) {
        row.cells.push({ N, D, error: (e as Error).message });
      }
      for (const a of [x, gamma, beta, dout]) a.dispose();
    }
    g.dispose();
    f.dispose();
    rows.push(row);
  }
  return { rows, notes: ["@jax-js/jax on its wasm device, jit(grad(sum(out * dout))); float64 constants rounded to float32 under jit"] };
});
