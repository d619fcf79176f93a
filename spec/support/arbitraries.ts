// fast-check arbitraries shared by the property tests: seeds (the tests build their own inputs from
// a seed with seededRandom, so a failure replays) and the run parameters.
// Kept apart from compile/check/numeric.ts so that its helpers need no fast-check at run time.

import fc from "fast-check";

/** Seeds for `seededRandom`: properties that build their own inputs draw a seed, so failures replay. */
export const arbSeed = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0x7fffffff });

/** fast-check parameters for the suite: bounded runs, and the failing assertion's message in the report. */
export const runs = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, includeErrorInReport: true });
