// Timing with benny (Benchmark.js underneath): one suite per case and round, so progress shows as
// it goes and each case gets benny's ops/s and margin. Shared by the parent and the children.
//
// The machine is shared (2 cores, other people's test runs): a burst of load slows whatever is
// being timed at that moment. So fast cases are timed in several rounds, interleaved with the
// cases they are compared to where possible, and the best round counts: other processes only
// ever add time. Slow cases (> SLOW_MS) get one round; their ratios are large anyway.

import b from "benny";

export interface TimingOptions {
  /** Benchmark.js's budget per case and round, in seconds. */
  maxTime: number;
  minSamples: number;
  /** Rounds for cases faster than SLOW_MS. */
  rounds: number;
}

export const fullTiming: TimingOptions = { maxTime: 0.5, minSamples: 5, rounds: 5 };
export const quickTiming: TimingOptions = { maxTime: 0.05, minSamples: 1, rounds: 1 };
export const SLOW_MS = 100;

export interface Timing {
  /** Median time per call in milliseconds, in the best round: what the table shows and the
   * ratios divide. */
  ms: number;
  /** Mean time per call in that round (1000 / opsPerSec). */
  meanMs: number;
  opsPerSec: number;
  /** benny's margin in that round: relative margin of error, in percent. */
  marginPct: number;
  samples: number;
  /** The median of every round, in the order run. */
  roundsMs: number[];
}

/**
 * One round of timing `fn` (one call = one backward pass). benny calls it a few times before
 * timing, which doubles as warm-up.
 */
export async function timeOnce(name: string, fn: () => unknown, opts: TimingOptions, log: (line: string) => void = console.log): Promise<Timing> {
  const summary = await b.suite(
    name,
    b.add(name, () => fn, { maxTime: opts.maxTime, minSamples: opts.minSamples }),
  );
  const r = summary.results[0];
  const t: Timing = {
    ms: r.details.median * 1000,
    meanMs: r.details.mean * 1000,
    opsPerSec: 1 / r.details.mean, // benny's r.ops is rounded to an integer
    marginPct: r.margin,
    samples: r.samples,
    roundsMs: [r.details.median * 1000],
  };
  log(`  ${name}: ${fmtOps(t.opsPerSec)} ops/s ±${t.marginPct.toFixed(2)}% (${t.samples} samples), ${fmtMs(t.ms)} per call (median)`);
  return t;
}

/** Keep the better of two rounds of the same case, remembering every round's median. */
export function better(a: Timing | undefined, b: Timing): Timing {
  if (!a) return b;
  const best = b.ms < a.ms ? b : a;
  return { ...best, roundsMs: [...a.roundsMs, ...b.roundsMs] };
}

/** Rounds back to back (when there is nothing to interleave with): the best one counts. */
export async function time(name: string, fn: () => unknown, opts: TimingOptions, log: (line: string) => void = console.log): Promise<Timing> {
  let t = await timeOnce(name, fn, opts, log);
  for (let k = 1; k < opts.rounds && t.ms < SLOW_MS; k++) t = better(t, await timeOnce(`${name} (round ${k + 1})`, fn, opts, log));
  return t;
}

const fmtOps = (ops: number) => (ops >= 100 ? ops.toFixed(0) : ops.toPrecision(3));

/** Milliseconds with 3 significant digits: 0.0912 ms, 4.41 ms, 1230 ms. */
export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${ms.toFixed(0)} ms`;
  return `${ms.toPrecision(3)} ms`;
}
