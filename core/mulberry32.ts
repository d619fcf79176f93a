// mulberry32: a small, fast, seedable generator for tests, fuzzing and the benchmark's data, where
// values must replay from a seed but need not match numpy (nn/random.ts does that). No imports,
// so a benchmark child process that needs only its data loads nothing else.

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
