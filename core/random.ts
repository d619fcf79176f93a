// Random numbers that match numpy's legacy `np.random.RandomState` bit for bit,
// so a test or example seeded here draws exactly what the same numpy script draws.
// Every algorithm below copies numpy's C code (mt19937.c, legacy-distributions.c,
// distributions.c) including its quirks; changing any step changes the stream.

import { fail } from "./errors.js";
import { Tensor, checkShape, sizeOf, type DType, type Shape } from "./tensor.js";

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
export class RandomState {
  private readonly key = new Uint32Array(N);
  private pos = N;
  // legacy_gauss makes normals in pairs and keeps the second for the next call.
  private hasGauss = false;
  private gauss = 0;

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
    return this.fill(size, () => this.nextGauss());
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
    const out = new Float64Array(sizeOf(toShape(size, "size")));
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

  private nextGauss(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const g = this.gauss;
      this.gauss = 0;
      return g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    // glibcLog, not Math.log: numpy calls the C library, and the last bit matters.
    const f = Math.sqrt((-2 * glibcLog(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
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
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
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

// ---------------------------------------------------------------------------
// glibc's log, bit for bit. numpy's normals call the C library's log(), and
// Math.log (V8's fdlibm port) differs from glibc in the last bit for ~2% of
// inputs, which would change ~3% of the normals. This is glibc 2.28+'s log
// (ARM optimized-routines) as built for x86-64 with FMA, following the
// fused/unfused choice of every operation in the shipped machine code
// (__ieee754_log_fma). Matched on 4M inputs against this machine's libm.
// Inputs here are r2 in (0, 1), so zero, negative, subnormal, Inf and NaN
// inputs are not handled.

// ln2hi, ln2lo, poly[0..4], poly1[0..10] of glibc's __log_data, as IEEE bit patterns.
const LOG_CONSTS = hexDoubles(`
  3fe62e42fefa3800 3d2ef35793c76730 bfe0000000000001 3fd555555551305b bfcfffffffeb4590 3fc999b324f10111
  bfc55575e506c89f bfe0000000000000 3fd5555555555577 bfcffffffffffdcb 3fc999999995dd0c bfc55555556745a7
  3fc24924a344de30 bfbfffffa4423d65 3fbc7184282ad6ca bfb999eb43b068ff 3fb78182f7afd085 bfb5521375d145cd
`);
// __log_data.tab: (invc, logc) for 128 subintervals of [0x1.6p-1, 0x1.6p0).
const LOG_TABLE = hexDoubles(`
  3ff734f0c3e0de9f bfd7cc7f79e69000 3ff713786a2ce91f bfd76feec20d0000 3ff6f26008fab5a0 bfd713e31351e000
  3ff6d1a61f138c7d bfd6b85b38287800 3ff6b1490bc5b4d1 bfd65d5590807800 3ff69147332f0cba bfd602d076180000
  3ff6719f18224223 bfd5a8ca86909000 3ff6524f99a51ed9 bfd54f4356035000 3ff63356aa8f24c4 bfd4f637c36b4000
  3ff614b36b9ddc14 bfd49da7fda85000 3ff5f66452c65c4c bfd445923989a800 3ff5d867b5912c4f bfd3edf439b0b800
  3ff5babccb5b90de bfd396ce448f7000 3ff59d61f2d91a78 bfd3401e17bda000 3ff5805612465687 bfd2e9e2ef468000
  3ff56397cee76bd3 bfd2941b3830e000 3ff54725e2a77f93 bfd23ec58cda8800 3ff52aff42064583 bfd1e9e129279000
  3ff50f22dbb2bddf bfd1956d2b48f800 3ff4f38f4734ded7 bfd141679ab9f800 3ff4d843cfde2840 bfd0edd094ef9800
  3ff4bd3ec078a3c8 bfd09aa518db1000 3ff4a27fc3e0258a bfd047e65263b800 3ff4880524d48434 bfcfeb224586f000
  3ff46dce1b192d0b bfcf474a7517b000 3ff453d9d3391854 bfcea4443d103000 3ff43a2744b4845a bfce020d44e9b000
  3ff420b54115f8fb bfcd60a22977f000 3ff40782da3ef4b1 bfccc00104959000 3ff3ee8f5d57fe8f bfcc202956891000
  3ff3d5d9a00b4ce9 bfcb81178d811000 3ff3bd60c010c12b bfcae2c9ccd3d000 3ff3a5242b75dab8 bfca45402e129000
  3ff38d22cd9fd002 bfc9a877681df000 3ff3755bc5847a1c bfc90c6d69483000 3ff35dce49ad36e2 bfc87120a645c000
  3ff34679984dd440 bfc7d68fb4143000 3ff32f5cceffcb24 bfc73cb83c627000 3ff3187775a10d49 bfc6a39a9b376000
  3ff301c8373e3990 bfc60b3154b7a000 3ff2eb4ebb95f841 bfc5737d76243000 3ff2d50a0219a9d1 bfc4dc7b8fc23000
  3ff2bef9a8b7fd2a bfc4462c51d20000 3ff2a91c7a0c1bab bfc3b08abc830000 3ff293726014b530 bfc31b996b490000
  3ff27dfa5757a1f5 bfc2875490a44000 3ff268b39b1d3bbf bfc1f3b9f879a000 3ff2539d838ff5bd bfc160c8252ca000
  3ff23eb7aac9083b bfc0ce7f57f72000 3ff22a012ba940b6 bfc03cdc49fea000 3ff2157996cc4132 bfbf57bdbc4b8000
  3ff201201dd2fc9b bfbe370896404000 3ff1ecf4494d480b bfbd17983ef94000 3ff1d8f5528f6569 bfbbf9674ed8a000
  3ff1c52311577e7c bfbadc79202f6000 3ff1b17c74cb26e9 bfb9c0c3e7288000 3ff19e010c2c1ab6 bfb8a646b372c000
  3ff18ab07bb670bd bfb78d01b3ac0000 3ff1778a25efbcb6 bfb674f145380000 3ff1648d354c31da bfb55e0e6d878000
  3ff151b990275fdd bfb4485cdea1e000 3ff13f0ea432d24c bfb333d94d6aa000 3ff12c8b7210f9da bfb22079f8c56000
  3ff11a3028ecb531 bfb10e4698622000 3ff107fbda8434af bfaffa6c6ad20000 3ff0f5ee0f4e6bb3 bfadda8d4a774000
  3ff0e4065d2a9fce bfabbcece4850000 3ff0d244632ca521 bfa9a1894012c000 3ff0c0a77ce2981a bfa788583302c000
  3ff0af2f83c636d1 bfa5715e67d68000 3ff09ddb98a01339 bfa35c8a49658000 3ff08cabaf52e7df bfa149e364154000
  3ff07b9f2f4e28fb bf9e72c082eb8000 3ff06ab58c358f19 bf9a55f152528000 3ff059eea5ecf92c bf963d62cf818000
  3ff04949cdd12c90 bf9228fb8caa0000 3ff038c6c6f0ada9 bf8c317b20f90000 3ff02865137932a9 bf8419355daa0000
  3ff0182427ea7348 bf781203c2ec0000 3ff008040614b195 bf60040979240000 3fefe01ff726fa1a 3f6feff384900000
  3fefa11cc261ea74 3f87dc41353d0000 3fef6310b081992e 3f93cea3c4c28000 3fef25f63ceeadcd 3f9b9fc114890000
  3feee9c8039113e7 3fa1b0d8ce110000 3feeae8078cbb1ab 3fa58a5bd001c000 3fee741aa29d0c9b 3fa95c8340d88000
  3fee3a91830a99b5 3fad276aef578000 3fee01e009609a56 3fb07598e598c000 3fedca01e577bb98 3fb253f5e30d2000
  3fed92f20b7c9103 3fb42edd8b380000 3fed5cac66fb5cce 3fb606598757c000 3fed272caa5ede9d 3fb7da76356a0000
  3fecf26e3e6b2ccd 3fb9ab434e1c6000 3fecbe6da2a77902 3fbb78c7bb0d6000 3fec8b266d37086d 3fbd431332e72000
  3fec5894bd5d5804 3fbf0a3171de6000 3fec26b533bb9f8c 3fc067152b914000 3febf583eeece73f 3fc147858292b000
  3febc4fd75db96c1 3fc2266ecdca3000 3feb951e0c864a28 3fc303d7a6c55000 3feb65e2c5ef3e2c 3fc3dfc33c331000
  3feb374867c9888b 3fc4ba366b7a8000 3feb094b211d304a 3fc5933928d1f000 3feadbe885f2ef7e 3fc66acd2418f000
  3feaaf1d31603da2 3fc740f8ec669000 3fea82e63fd358a7 3fc815c0f51af000 3fea5740ef09738b 3fc8e92954f68000
  3fea2c2a90ab4b27 3fc9bb3602f84000 3fea01a01393f2d1 3fca8bed1c2c0000 3fe9d79f24db3c1b 3fcb5b515c01d000
  3fe9ae2505c7b190 3fcc2967ccbcc000 3fe9852ef297ce2f 3fccf635d5486000 3fe95cbaeea44b75 3fcdc1bd3446c000
  3fe934c69de74838 3fce8c01b8cfe000 3fe90d4f2f6752e6 3fcf5509c0179000 3fe8e6528effd79d 3fd00e6c121fb800
  3fe8bfce9fcc007c 3fd071b80e93d000 3fe899c0dabec30e 3fd0d46b9e867000 3fe87427aa2317fb 3fd13687334bd000
  3fe84f00acb39a08 3fd1980d67234800 3fe82a49e8653e55 3fd1f8ffe0cc8000 3fe8060195f40260 3fd2595fd7636800
  3fe7e22563e0a329 3fd2b9300914a800 3fe7beb377dcb5ad 3fd3187210436000 3fe79baa679725c2 3fd377266dec1800
  3fe77907f2170657 3fd3d54ffbaf3000 3fe756cadbd6130c 3fd432eee32fe000
`);
const LN2HI = LOG_CONSTS[0];
const LN2LO = LOG_CONSTS[1];
const A = LOG_CONSTS.subarray(2, 7);
const B = LOG_CONSTS.subarray(7, 18);

function glibcLog(x: number): number {
  if (x >= 0.9375 && x < 1 + 265 / 4096) return glibcLogNear1(x);
  // x = 2^k z with z in [0x1.6p-1, 0x1.6p0); the table gives c near z and log(c).
  F64[0] = x;
  const top = (U32[HI] - 0x3fe60000) | 0;
  const i = (top >>> 13) & 127;
  const k = top >> 20;
  const z = x * 2 ** -k; // exact: a power-of-two rescale
  const invc = LOG_TABLE[2 * i];
  const logc = LOG_TABLE[2 * i + 1];
  const w = k * LN2HI + logc; // k * LN2HI is exact, so the fma is one rounding
  const r = fmaMinusOne(z, invc);
  const hi = w + r;
  const lo = fma(k, LN2LO, w - hi + r);
  const r2 = r * r;
  const p = fma(fma(r, A[4], A[3]), r2, fma(r, A[2], A[1]));
  return fma(r * r2, p, fma(r2, A[0], lo)) + hi;
}

// Near 1 glibc uses a longer polynomial in r = x - 1 and splits r into 27-bit halves.
function glibcLogNear1(x: number): number {
  if (x === 1) return 0;
  const r = x - 1;
  const r2 = r * r;
  const r3 = r * r2;
  const a = fma(r2, B[3], fma(r, B[2], B[1]));
  const b = fma(r2, B[6], fma(r, B[5], B[4]));
  const c = fma(r3, B[10], fma(r2, B[9], fma(r, B[8], B[7])));
  const q = fma(fma(c, r3, b), r3, a);
  const w = r * 134217728;
  const rhi = r + w - w;
  const rlo = r - rhi;
  const hw = rhi * rhi * B[0]; // exact: rhi has 27 bits and B[0] is -0.5
  const hi = r + hw;
  const lo = fma(B[0] * rlo, rhi + r, r - hi + hw);
  return hi + fma(q, r3, lo);
}

// fma(z, invc, -1) exactly: z*invc is in [0.5, 2], so p - 1 is exact and one add rounds.
function fmaMinusOne(z: number, invc: number): number {
  const p = twoProd(z, invc);
  return p - 1 + prodErr;
}

// A correctly rounded a*b + c from doubles (Boldo & Melquiond 2008, "Emulation of
// FMA and correctly rounded sums: proved algorithms using rounding to odd").
// Checked against hardware fma on 4M cases, including near-cancellations.
function fma(a: number, b: number, c: number): number {
  const ph = twoProd(a, b);
  const pl = prodErr;
  const th = c + ph;
  const bb = th - c;
  const tl = c - (th - bb) + (ph - bb);
  return th + addRoundToOdd(tl, pl);
}

let prodErr = 0; // the low half of the last twoProd, kept out of an array for speed

// Dekker's exact product: returns fl(a*b) and leaves a*b - fl(a*b) in prodErr.
function twoProd(a: number, b: number): number {
  const p = a * b;
  let t = a * 134217729;
  const ah = t - (t - a);
  const al = a - ah;
  t = b * 134217729;
  const bh = t - (t - b);
  const bl = b - bh;
  prodErr = ah * bh - p + ah * bl + al * bh + al * bl;
  return p;
}

// x + y rounded to odd: if inexact, the neighbour of the exact sum with an odd last bit.
function addRoundToOdd(x: number, y: number): number {
  const s = x + y;
  const bb = s - x;
  const e = x - (s - bb) + (y - bb);
  if (e === 0) return s;
  F64[0] = s;
  if (U32[LO] & 1) return s;
  if ((s > 0) === (e > 0)) U32[LO] += 1; // even last bit, so no carry
  else if (U32[LO] === 0) {
    U32[LO] = 0xffffffff;
    U32[HI] -= 1;
  } else U32[LO] -= 1;
  return F64[0];
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

function hexDoubles(text: string): Float64Array {
  const words = text.trim().split(/\s+/);
  return new Float64Array(BigUint64Array.from(words, (w) => BigInt("0x" + w)).buffer);
}
