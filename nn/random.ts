// Random numbers that match numpy's legacy `np.random.RandomState` bit for bit,
// so a test or example seeded here draws exactly what the same numpy script draws.
// Every algorithm below copies numpy's C code (mt19937.c, legacy-distributions.c,
// distributions.c) including its quirks; changing any step changes the stream.

import { fail } from "../core/errors.js";
import { glibcLog } from "./libm-log.js";
import { Tensor, allocate, checkShape, sizeOf, type DType, type Shape } from "../core/tensor.js";

const N = 624; // MT19937 state words
const M = 397;
const TWO_32 = 4294967296;

/** A sample count or shape, as numpy's `size=` argument: `5` or `[2, 3]`. */
export type Size = number | Shape;

/**
 * A seeded stream equal to `np.random.RandomState(seed)`; instances share no state.
 *
 *   const rs = new RandomState(0);
 *   rs.rand();   // 0.5488135039273248, as np.random.RandomState(0).rand()
 */
export interface RandomStateSnapshot {
  key: number[];
  pos: number;
  hasGauss: boolean;
  gauss: number;
}

export class RandomState {
  private readonly key = new Uint32Array(N);
  private pos = N;
  // legacy_gauss makes normals in pairs and keeps the second for the next call.
  private hasGauss = false;
  private gauss = 0;
  /** The last polar step's two normals (fields, not a returned pair: 300,000 draws allocate nothing). */
  private pairFirst = 0;
  private pairSecond = 0;

  /** Seed with an integer in [0, 2**32 - 1], an array of such, or (none) fresh entropy. */
  constructor(seed?: number | readonly number[]) {
    this.seed(seed);
  }

  /**
   * Reseed as numpy's legacy `seed()`; also forgets a cached normal.
   *
   *   rs.seed(231); rs.seed([1, 2, 3]);
   */
  seed(seed?: number | readonly number[]): this {
    if (seed === undefined) {
      // numpy's seed(None) also fills the whole key from OS entropy via init_by_array.
      this.initByArray(globalThis.crypto.getRandomValues(new Uint32Array(N)));
    } else if (typeof seed === "number") {
      checkSeedWord(seed);
      this.initGenrand(seed);
    } else if (!Array.isArray(seed)) {
      fail(
        `RandomState.seed: a seed is an integer in [0, 2**32 - 1], a non-empty array of them, or nothing (fresh entropy), got ${typeof seed}${typeof seed === "string" ? ` "${seed}"` : ""}`,
      );
    } else {
      if (seed.length === 0) fail("RandomState.seed: seed array must be non-empty");
      seed.forEach(checkSeedWord);
      this.initByArray(Uint32Array.from(seed));
    }
    this.hasGauss = false;
    this.gauss = 0;
    return this;
  }

  /**
   * The generator's whole state, as numpy's get_state(): ("MT19937", key, pos, has_gauss, cached_gaussian).
   * setState(getState()) continues the same stream: what a checkpoint saves to resume a run.
   */
  getState(): RandomStateSnapshot {
    return { key: Array.from(this.key), pos: this.pos, hasGauss: this.hasGauss, gauss: this.gauss };
  }

  setState(s: RandomStateSnapshot): this {
    if (!s || !Array.isArray(s.key) || s.key.length !== N || !Number.isInteger(s.pos) || s.pos < 0 || s.pos > N || typeof s.gauss !== "number") {
      fail(`RandomState.setState: expected { key: ${N} words, pos: 0..${N}, hasGauss, gauss }`);
    }
    s.key.forEach(checkSeedWord);
    this.key.set(s.key);
    this.pos = s.pos;
    this.hasGauss = Boolean(s.hasGauss);
    this.gauss = s.gauss;
    return this;
  }

  /**
   * Doubles in [0, 1) with 53 random bits, as `random_sample(size)`; C order for shapes.
   *
   *   rs.randomSample();        // one number
   *   rs.randomSample([2, 3]);  // Float64Array of 6
   */
  randomSample(): number;
  randomSample(size: Size): Float64Array;
  randomSample(size?: Size): number | Float64Array {
    return this.fill(size, () => this.nextDouble());
  }

  /**
   * numpy's `rand(d0, d1, ...)`: uniform [0, 1) doubles, a number when no dims are given.
   *
   *   rs.rand(2, 3);  // Float64Array of 6, row-major
   */
  rand(): number;
  rand(...dims: number[]): Float64Array;
  rand(...dims: number[]): number | Float64Array {
    return dims.length === 0 ? this.nextDouble() : this.randomSample(dims);
  }

  /**
   * Standard normals by numpy's legacy polar Box-Muller, as `standard_normal(size)`.
   *
   *   rs.standardNormal(4);  // Float64Array of 4
   */
  standardNormal(): number;
  standardNormal(size: Size): Float64Array;
  standardNormal(size?: Size): number | Float64Array {
    if (size === undefined) return this.nextGauss();
    const out = allocate(sizeOf(toShape(size, "standardNormal")), "f64", "RandomState.standardNormal") as Float64Array;
    this.gaussInto(out);
    return out;
  }

  /**
   * numpy's `randn(d0, d1, ...)`: standard normals, a number when no dims are given.
   *
   *   rs.randn(2, 3);  // the same 6 values as rs.randn(6) from the same seed
   */
  randn(): number;
  randn(...dims: number[]): Float64Array;
  randn(...dims: number[]): number | Float64Array {
    return dims.length === 0 ? this.nextGauss() : this.standardNormal(dims);
  }

  /**
   * Normals with mean `loc` and standard deviation `scale`, as `normal(loc, scale, size)`.
   *
   *   rs.normal(10, 2, 3);  // Float64Array of 3
   */
  normal(loc?: number, scale?: number): number;
  normal(loc: number, scale: number, size: Size): Float64Array;
  normal(loc = 0, scale = 1, size?: Size): number | Float64Array {
    if (!(scale >= 0)) fail(`RandomState.normal: scale must be >= 0, got ${scale}`);
    return this.fill(size, () => loc + scale * this.nextGauss());
  }

  /**
   * Uniform doubles in [low, high), as `uniform(low, high, size)`.
   *
   *   rs.uniform(-1, 1, [2, 2]);  // Float64Array of 4
   */
  uniform(low?: number, high?: number): number;
  uniform(low: number, high: number, size: Size): Float64Array;
  uniform(low = 0, high = 1, size?: Size): number | Float64Array {
    const range = high - low;
    if (!Number.isFinite(range)) fail(`RandomState.uniform: range ${low}..${high} is not finite`);
    return this.fill(size, () => low + range * this.nextDouble());
  }

  /**
   * Integers in [low, high) (or [0, low) when high is omitted), as legacy `randint`
   * with its default int64 dtype. Bounds must be safe integers.
   *
   *   rs.randint(10);          // one number in 0..9
   *   rs.randint(5, 50, [2]);  // number[] of 2
   */
  randint(low: number, high?: number): number;
  randint(low: number, high: number | undefined, size: Size): number[];
  randint(low: number, high?: number, size?: Size): number | number[] {
    if (high === undefined) [low, high] = [0, low];
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high)) {
      fail(`RandomState.randint: bounds must be safe integers, got low=${low}, high=${high}`);
    }
    if (low >= high) fail(`RandomState.randint: low >= high (low=${low}, high=${high})`);
    const rng = high - low - 1;
    if (!Number.isSafeInteger(rng)) fail(`RandomState.randint: range ${low}..${high} is wider than 2**53`);
    if (size === undefined) return low + this.boundedMasked(rng);
    return Array.from(this.fillMany(size, () => low + this.boundedMasked(rng)));
  }

  /**
   * Indices drawn from range(n), as legacy `choice(n, size, replace)` with no weights:
   * with replacement it is `randint(0, n, size)`, without it is `permutation(n)[:size]`.
   *
   *   rs.choice(5, 3);         // e.g. [4, 0, 4]
   *   rs.choice(5, 3, false);  // three distinct indices
   */
  choice(n: number): number;
  choice(n: number, size: Size, replace?: boolean): number[];
  choice(n: number, size?: Size, replace = true): number | number[] {
    if (!Number.isSafeInteger(n) || n < 0) fail(`RandomState.choice: n must be a non-negative integer, got ${n}`);
    const count = size === undefined ? 1 : sizeOf(toShape(size, "choice"));
    if (n === 0 && count > 0) fail("RandomState.choice: cannot take samples from an empty population");
    if (replace) return size === undefined ? this.randint(0, n) : this.randint(0, n, size);
    if (count > n) fail(`RandomState.choice: cannot take ${count} samples from ${n} without replacement`);
    const picked = this.permutation(n).slice(0, count);
    return size === undefined ? picked[0] : picked;
  }

  /**
   * A shuffled `[0, 1, ..., n-1]`, as legacy `permutation(n)`.
   *
   *   rs.permutation(4);  // e.g. [2, 0, 3, 1]
   */
  permutation(n: number): number[] {
    if (!Number.isSafeInteger(n) || n < 0) fail(`RandomState.permutation: n must be a non-negative integer, got ${n}`);
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /**
   * Shuffle a 1-D array in place (and return it), as legacy `shuffle`.
   *
   *   rs.shuffle(["a", "b", "c"]);
   */
  shuffle<T extends { length: number; [i: number]: unknown }>(xs: T): T {
    // Fisher-Yates from the back, drawing j by masked rejection like numpy's random_interval.
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.boundedMasked(i);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }

  /**
   * A tensor of uniform [0, 1) values; "f32" draws doubles then rounds, like `.astype(np.float32)`.
   *
   *   rs.randTensor([2, 3], "f32");
   */
  randTensor(shape: Shape, dtype: DType = "f64"): Tensor {
    return toTensor(this.randomSample(shape), shape, dtype);
  }

  /**
   * A tensor of standard normals, in the order `randn(...shape)` draws them.
   *
   *   rs.randnTensor([3, 4]);
   */
  randnTensor(shape: Shape, dtype: DType = "f64"): Tensor {
    return toTensor(this.standardNormal(shape), shape, dtype);
  }

  /**
   * A tensor of normals with mean `loc` and standard deviation `scale`.
   *
   *   rs.normalTensor(0, 0.1, [8, 8]);
   */
  normalTensor(loc: number, scale: number, shape: Shape, dtype: DType = "f64"): Tensor {
    return toTensor(this.normal(loc, scale, shape), shape, dtype);
  }

  /**
   * A tensor of uniform values in [low, high).
   *
   *   rs.uniformTensor(-1, 1, [4]);
   */
  uniformTensor(low: number, high: number, shape: Shape, dtype: DType = "f64"): Tensor {
    return toTensor(this.uniform(low, high, shape), shape, dtype);
  }

  private fill(size: Size | undefined, draw: () => number): number | Float64Array {
    return size === undefined ? draw() : this.fillMany(size, draw);
  }

  private fillMany(size: Size, draw: () => number): Float64Array {
    const out = allocate(sizeOf(toShape(size, "size")), "f64", "RandomState") as Float64Array;
    for (let i = 0; i < out.length; i++) out[i] = draw();
    return out;
  }

  // A uniform integer in [0, rng] (rng a safe integer): mask to the next power of two
  // minus one and redraw until it fits. 32-bit draws while rng fits in 32 bits, else
  // 64-bit draws; rng = 0 consumes nothing. Same as random_bounded_uint64 with
  // use_masked and as random_interval, which agree for these ranges.
  private boundedMasked(rng: number): number {
    if (rng === 0) return 0;
    if (rng < TWO_32) {
      const mask = maskFor(rng);
      let v: number;
      do v = (this.nextUint32() & mask) >>> 0;
      while (v > rng);
      return v;
    }
    // rng >= 2**32, so the mask's low word is all ones; only the high word is masked.
    const maskHi = maskFor(Math.floor(rng / TWO_32));
    let v: number;
    do {
      const hi = this.nextUint32(); // numpy's next64 takes the high word first
      const lo = this.nextUint32();
      v = ((hi & maskHi) >>> 0) * TWO_32 + lo;
    } while (v > rng);
    return v;
  }

  // nextGauss call after call, in one loop (a net's initial weights are 300,000 normals): each
  // pair fills two slots, the second of a pair as the cached value nextGauss would return next
  private gaussInto(out: Float64Array): void {
    let i = 0;
    if (this.hasGauss && out.length > 0) out[i++] = this.nextGauss();
    for (; i + 1 < out.length; i += 2) {
      this.polarPair();
      out[i] = this.pairFirst;
      out[i + 1] = this.pairSecond;
    }
    if (i < out.length) out[i] = this.nextGauss();
  }

  private nextGauss(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const g = this.gauss;
      this.gauss = 0;
      return g;
    }
    this.polarPair();
    this.gauss = this.pairSecond;
    this.hasGauss = true;
    return this.pairFirst;
  }

  /** The polar Box-Muller step numpy's legacy gauss takes: two normals, in the order it uses them. */
  private polarPair(): void {
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    // glibcLog, not Math.log: numpy calls the C library, and the last bit matters.
    const f = Math.sqrt((-2 * glibcLog(r2)) / r2);
    this.pairFirst = f * x2;
    this.pairSecond = f * x1;
  }

  private nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  private nextUint32(): number {
    if (this.pos === N) this.twist();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.key;
    // i + 1 and i + M wrap around N: three loops instead of a modulo per word
    for (let i = 0; i < N - M; i++) {
      const y = (mt[i] & 0x80000000) | (mt[i + 1] & 0x7fffffff);
      mt[i] = mt[i + M] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    for (let i = N - M; i < N - 1; i++) {
      const y = (mt[i] & 0x80000000) | (mt[i + 1] & 0x7fffffff);
      mt[i] = mt[i + M - N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    const y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    this.pos = 0;
  }

  // mt19937_seed: what numpy's legacy seed(int) uses (Matsumoto's init_genrand).
  private initGenrand(s: number): void {
    const mt = this.key;
    mt[0] = s;
    for (let i = 1; i < N; i++) {
      const p = mt[i - 1];
      mt[i] = Math.imul(1812433253, p ^ (p >>> 30)) + i;
    }
    this.pos = N;
  }

  // mt19937_init_by_array: what numpy uses for array seeds and for seed(None).
  private initByArray(words: Uint32Array): void {
    this.initGenrand(19650218);
    const mt = this.key;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, words.length); k > 0; k--) {
      const p = mt[i - 1];
      mt[i] = (mt[i] ^ Math.imul(p ^ (p >>> 30), 1664525)) + words[j] + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= words.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const p = mt[i - 1];
      mt[i] = (mt[i] ^ Math.imul(p ^ (p >>> 30), 1566083941)) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000; // guarantees a non-zero state
    this.pos = N;
  }
}

let shared: RandomState | undefined;

/**
 * A process-wide stream, created unseeded on first use; prefer your own `new RandomState(seed)`.
 *
 *   defaultRandom().seed(0).randn(3);
 */
export function defaultRandom(): RandomState {
  return (shared ??= new RandomState());
}

function checkSeedWord(s: number): void {
  if (!Number.isInteger(s) || s < 0 || s > TWO_32 - 1) {
    fail(`RandomState.seed: seed must be an integer between 0 and 2**32 - 1, got ${s}`);
  }
}

// The smallest all-ones mask covering x (x < 2**32), as numpy's gen_mask.
function maskFor(x: number): number {
  let m = x;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m >>> 0;
}

function toShape(size: Size, where: string): Shape {
  const shape = typeof size === "number" ? [size] : size;
  checkShape(shape, `RandomState.${where}`);
  return shape;
}

function toTensor(values: Float64Array, shape: Shape, dtype: DType): Tensor {
  const data = dtype === "f32" ? Float32Array.from(values) : values;
  return new Tensor(data, Object.freeze([...shape]));
}
