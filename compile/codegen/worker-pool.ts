// The helper thread for two-core matrix products (threads.ts's Helper), on node:worker_threads.
// One worker per process, created on first use and unref'd (it never keeps the process alive).
// The hand-off is synchronous: the main thread writes a job into a shared Int32Array and wakes the
// worker with Atomics.notify, runs its own half, then Atomics.wait's for the worker's half. New
// modules reach the worker by postMessage; the worker, blocked in Atomics.wait rather than in its
// event loop, takes them with receiveMessageOnPort when a job names a module it has not seen.
// Only the caller's entry points import this file (compile.ts does not: it bundles for browsers).

import { MessageChannel, Worker } from "node:worker_threads";
import type { Helper } from "./threads.js";

const WORKER = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { control, port } = workerData;
const fns = [];
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  seen = Atomics.load(control, 0);
  const id = control[1];
  while (!fns[id]) {
    const m = receiveMessageOnPort(port);
    if (!m) { Atomics.wait(control, 3, 0, 1); continue; }
    fns[m.message.id] = new WebAssembly.Instance(m.message.module, { env: { mem: m.message.memory } }).exports.mm;
  }
  fns[id](control[4], control[5]);
  Atomics.store(control, 2, seen);
  Atomics.notify(control, 2);
}
`;

let instance: Helper | undefined;

/** The process's helper thread (created on first call). */
export function helperThread(): Helper {
  if (instance) return instance;
  // control: [0] job sequence number, [1] module id, [2] last job done, [3] unused, [4..5] arguments
  const control = new Int32Array(new SharedArrayBuffer(32));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER, { eval: true, workerData: { control, port: port2 }, transferList: [port2] });
  worker.unref();
  port1.unref();
  let modules = 0;
  let seq = 0;
  instance = {
    load(module, memory) {
      const id = modules++;
      port1.postMessage({ id, module, memory });
      return id;
    },
    start(id, a, b) {
      control[1] = id;
      control[4] = a;
      control[5] = b;
      seq++;
      Atomics.store(control, 0, seq);
      Atomics.notify(control, 0);
      return seq;
    },
    wait(ticket) {
      while (Atomics.load(control, 2) < ticket) Atomics.wait(control, 2, Atomics.load(control, 2), 1000);
    },
  };
  return instance;
}
