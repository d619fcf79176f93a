// A second thread for the large matrix products: what codegen needs from it, as an interface.
// The Node implementation (worker-pool.ts, node:worker_threads) is passed in by the caller
// (`compile(g, { threads: helperThread() })`), so compile.ts itself imports nothing of Node's and
// still bundles for the browser.

/** A helper thread that runs `(a, b) -> ()` functions of modules over shared memories. */
export interface Helper {
  /** Make a module (whose one export `mm` takes two i32s) and its shared memory known to the helper. */
  load(module: WebAssembly.Module, memory: WebAssembly.Memory): number;
  /** Start job `id` with arguments (a, b) on the helper; returns a ticket for wait. */
  start(id: number, a: number, b: number): number;
  /** Block until the job of this ticket is done. */
  wait(ticket: number): void;
}
