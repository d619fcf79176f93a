// Timing with benny (Benchmark.js underneath): one suite per case, so progress shows as it goes
// and each case gets benny's ops/s and margin. Shared by the parent and the child processes.

import b from "benny";

export interface TimingOptions {
  /** Benchmark.js's budget per case, in seconds. */
  maxTime: number;
  minSamples: number;
}

export const fullTiming: TimingOptions = { maxTime: 2, minSamples: 5 };
export const quickTiming: TimingOptions = { maxTime: 0.05, minSamples: 1 };

export interface Timing {
  /** Median time per call in milliseconds: what the table shows and the ratios divide (robust to
   * the other processes on a shared 2-core machine). */
  ms: number;
  /** Mean time per call (1000 / opsPerSec). */
  meanMs: number;
  opsPerSec: number;
  /** benny's margin: relative margin of error, in percent. */
  marginPct: number;
  samples: number;
}

/**
 * Time `fn` (one call = one backward pass). benny calls it a few times before timing, which
 * doubles as warm-up.
 */
export async function time(name: string, fn: () => unknown, opts: TimingOptions, log: (line: string) => void = console.log): Promise<Timing> {
  const summary = await b.suite(name, b.add(name, () => fn, { maxTime: opts.maxTime, minSamples: opts.minSamples }));
  const r = summary.results[0];
  const t: Timing = {
    ms: r.details.median * 1000,
    meanMs: r.details.mean * 1000,
    opsPerSec: 1 / r.details.mean, // benny's r.ops is rounded to an integer
    marginPct: r.margin,
    samples: r.samples,
  };
  log(`  ${name}: ${fmtOps(t.opsPerSec)} ops/s ±${t.marginPct.toFixed(2)}% (${t.samples} samples), ${fmtMs(t.ms)} per call (median)`);
  return t;
}

const fmtOps = (ops: number) => (ops >= 100 ? ops.toFixed(0) : ops.toPrecision(3));

/** Milliseconds with 3 significant digits: 0.0912 ms, 4.41 ms, 1230 ms. */
export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${ms.toFixed(0)} ms`;
  return `${ms.toPrecision(3)} ms`;
}
