// Outside references run in child processes of their own: growing WebAssembly memory (or any
// transfer) detaches an ArrayBuffer, and after that every typed-array loop in the process runs
// 1.25-2x slower for good. A child regenerates the batch from the seed, times its rows with
// benny, and sends the timings back as JSON over the IPC channel.

import "../ops/index.js"; // registers the builtin primitives
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Timing, TimingOptions } from "./timing.js";

export interface ChildRequest {
  sizes: [number, number][];
  timing: TimingOptions;
  seed: number;
}

/** One measured cell: a row at one size, or why there is no measurement. */
export interface ChildCell {
  N: number;
  D: number;
  timing?: Timing;
  /** The forward alone, for context: these libraries recompute it inside grad. */
  forward?: Timing;
  /** max |got - want| / max |want| against float64 reference gradients */
  relErr?: number;
  error?: string;
}

export interface ChildRow {
  id: string;
  cells: ChildCell[];
}

export interface ChildReply {
  rows: ChildRow[];
  /** Package versions, settings, caveats. */
  notes: string[];
  /** Anything else a child measures (the compile timings). */
  extra?: unknown;
  /** Set when the child could not run at all (package missing, backend failed to start). */
  error?: string;
}

type Message = { type: "log"; line: string } | { type: "reply"; reply: ChildReply };

/** Parent side: fork `bench/<script>.js` next to this file with `args`, send the request, await the reply. */
export function runChild(script: string, args: string[], request: ChildRequest, log: (line: string) => void, timeoutMs = 600_000): Promise<ChildReply> {
  const path = fileURLToPath(new URL(`./${script}.js`, import.meta.url));
  return new Promise((resolve) => {
    const child = fork(path, args, { silent: true, serialization: "json" });
    let stderr = "";
    let reply: ChildReply | undefined;
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdout?.resume(); // packages print banners; the results come over IPC
    const timer = setTimeout(() => child.kill(), timeoutMs);
    child.on("message", (m: Message) => {
      if (m.type === "log") log(m.line);
      else reply = m.reply;
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (reply) return resolve(reply);
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const last = stderr.trim().split("\n").slice(-3).join(" | ");
      resolve({ rows: [], notes: [], error: `${script} ${why}${last ? `: ${last}` : ""}` });
    });
    child.send(request);
  });
}

/** Child side: answer one request, then exit. */
export function serveChild(handle: (req: ChildRequest, log: (line: string) => void) => Promise<ChildReply>): void {
  const send = (m: Message) => new Promise<void>((done) => process.send!(m, () => done()));
  process.once("message", async (req: ChildRequest) => {
    let reply: ChildReply;
    try {
      reply = await handle(req, (line) => void send({ type: "log", line }));
    } catch (e) {
      reply = { rows: [], notes: [], error: (e as Error).message };
    }
    await send({ type: "reply", reply });
    process.exit(0);
  });
}
