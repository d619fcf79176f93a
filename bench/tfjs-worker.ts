// Child process: TensorFlow.js `tf.grads` through the batchnorm forward written with its primitive
// ops, on one backend ("cpu" or "wasm", the first argument), float32 (all TF.js has).
// @tensorflow/tfjs is loaded rather than tfjs-core alone because only its node bundle registers
// the gradient functions; the WASM backend loads its .wasm file from node_modules.

import "../ops/index.js"; // registers the builtin primitives
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { serveChild, type ChildCell } from "./child.js";
import { EPS, makeBatch, referenceGradients, relativeError } from "./data.js";
import { time } from "./timing.js";

type TF = typeof import("@tensorflow/tfjs");
type Tensor = import("@tensorflow/tfjs").Tensor;

const require = createRequire(import.meta.url);

async function load(backend: string): Promise<TF> {
  const tf = require("@tensorflow/tfjs") as TF;
  if (backend === "wasm") {
    const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm");
    // a directory prefix: the backend picks tfjs-backend-wasm{,-simd,-threaded-simd}.wasm in it
    wasm.setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/");
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend "${backend}" failed to initialize`);
  await tf.ready();
  return tf;
}

serveChild(async (req, log) => {
  const backend = process.argv[2];
  if (backend !== "cpu" && backend !== "wasm") throw new Error(`tfjs-worker: backend must be cpu or wasm, got ${backend}`);
  const tf = await load(backend);
  const notes = [`@tensorflow/tfjs ${tf.version_core} on the ${tf.getBackend()} backend`];
  if (backend === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    notes.push(`wasm: SIMD ${simd ? "on" : "off"}, threads ${threads ? "on" : "off"}`);
  }

  // the same forward as gradc's batchnorm composite, in TF.js primitives
  const forward = (x: Tensor, gamma: Tensor, beta: Tensor): Tensor => {
    const mu = tf.mean(x, 0, true);
    const xc = tf.sub(x, mu);
    const std = tf.sqrt(tf.add(tf.mean(tf.square(xc), 0, true), EPS));
    return tf.add(tf.mul(gamma, tf.div(xc, std)), beta);
  };
  const grads = tf.grads(forward);

  const cells: ChildCell[] = [];
  for (const [N, D] of req.sizes) {
    const batch = makeBatch(N, D, req.seed);
    const x = tf.tensor2d(Float32Array.from(batch.x), [N, D]);
    const gamma = tf.tensor1d(Float32Array.from(batch.gamma));
    const beta = tf.tensor1d(Float32Array.from(batch.beta));
    const dout = tf.tensor2d(Float32Array.from(batch.dout), [N, D]);
    // tidy: every intermediate is freed at once (a leak fills the WASM heap and aborts)
    const run = () => {
      const [dx, dgamma, dbeta] = tf.tidy(() => grads([x, gamma, beta], dout));
      const out = { dx: dx.dataSync() as Float32Array, dgamma: dgamma.dataSync() as Float32Array, dbeta: dbeta.dataSync() as Float32Array };
      tf.dispose([dx, dgamma, dbeta]);
      return out;
    };
    const runForward = () => {
      const out = tf.tidy(() => forward(x, gamma, beta));
      out.dataSync();
      out.dispose();
    };
    try {
      const relErr = relativeError(run(), referenceGradients(batch));
      const timing = await time(`tfjs-${backend} ${N}x${D}`, run, req.timing, log);
      const fwd = await time(`tfjs-${backend} forward alone ${N}x${D}`, runForward, req.timing, log);
      cells.push({ N, D, timing, forward: fwd, relErr });
    } catch (e) {
      cells.push({ N, D, error: (e as Error).message });
    }
    tf.dispose([x, gamma, beta, dout]);
  }
  notes.push(`tensors alive after the run: ${tf.memory().numTensors} (0 means nothing leaked)`);
  return { rows: [{ id: `tfjs-${backend}`, cells }], notes };
});
