// RandomState must reproduce numpy's legacy np.random.RandomState bit for bit.
// Every expected literal below was printed by numpy 2.4.6 (python repr, which
// round-trips exactly), so doubles are compared with strict equality.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { RandomState } from "../nn/random.js";

interface Fixture {
  seed: number;
  rand: number[];
  randn: number[];
  randint: [low: number, high: number, first6: number[]][];
  choice: number[]; // choice(10, 6)
  choiceNoReplace: number[]; // choice(5, 3, replace=False) right after
  permutation: number[]; // permutation(8)
}

// python: r = np.random.RandomState(seed); r.rand(5) / r.randn(5) / r.randint(lo, hi, size=6) ...
const fixtures: Fixture[] = [
  {
    seed: 231,
    rand: [0.78149404082882, 0.5842091160855433, 0.426710070189125, 0.3153446949154163, 0.8268882910012595],
    randn: [0.41794341085522313, 1.3971002787857785, -1.7859043087115503, -0.7088277337845966, -0.0747253160682306],
    randint: [
      [0, 2, [1, 0, 0, 1, 1, 0]],
      [0, 10, [2, 7, 4, 1, 2, 2]],
      [-5, 5, [-3, -4, -2, -4, -4, -4]],
      [0, 50000, [45913, 1341, 39547, 19253, 6684, 43490]],
      [0, 2 ** 31, [1421489007, 287343763, 1039456972, 1829132124, 601267142, 941660988]],
      [0, 2 ** 40, [291242302784, 318429107122, 33291147966, 1036285857393, 89975723053, 579326755424]],
    ],
    choice: [7, 0, 4, 9, 6, 2],
    choiceNoReplace: [3, 0, 1],
    permutation: [5, 6, 2, 3, 1, 4, 0, 7],
  },
  {
    seed: 0,
    rand: [0.5488135039273248, 0.7151893663724195, 0.6027633760716439, 0.5448831829968969, 0.4236547993389047],
    randn: [1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675],
    randint: [
      [0, 2, [0, 1, 1, 0, 1, 1]],
      [0, 10, [3, 7, 9, 3, 5, 2]],
      [-5, 5, [-1, 2, 1, 3, 3, -4]],
      [0, 50000, [32230, 18983, 43095, 24152, 35665, 16921]],
      [0, 2 ** 31, [305097549, 1449105480, 374217481, 636393364, 86837363, 1581585360]],
      [0, 2 ** 40, [1047788003013, 1091524495183, 755356273088, 354221449315, 931152821425, 1045912486685]],
    ],
    choice: [5, 0, 3, 3, 7, 9],
    choiceNoReplace: [4, 0, 2],
    permutation: [6, 2, 1, 7, 3, 0, 5, 4],
  },
  {
    seed: 2 ** 32 - 1,
    rand: [0.0976320289940138, 0.9123828453026218, 0.78903530185164, 0.7800035981134678, 0.01793967398674523],
    randn: [0.6484086742306527, 0.6693235306338161, -1.0805437227474493, 0.2845010447986309, 0.11388773652167104],
    randint: [
      [0, 2, [1, 0, 0, 1, 0, 0]],
      [0, 10, [6, 9, 0, 2, 6, 7]],
      [-5, 5, [2, 1, 0, 4, 4, 4]],
      [0, 50000, [12332, 4452, 16024, 45585, 10100, 27276]],
      [0, 2 ** 31, [885782298, 517274201, 2092542379, 1216470236, 1061213571, 636131225]],
      [0, 2 ** 40, [1071050786427, 652813911753, 1030785472741, 262831221505, 448792642007, 361966400980]],
    ],
    choice: [3, 2, 7, 4, 0, 6],
    choiceNoReplace: [4, 3, 0],
    permutation: [1, 7, 6, 0, 5, 4, 2, 3],
  },
];

for (const f of fixtures) {
  test(`seed ${f.seed}: rand matches numpy`, () => {
    assert.deepStrictEqual([...new RandomState(f.seed).rand(5)], f.rand);
  });

  test(`seed ${f.seed}: randn matches numpy`, () => {
    assert.deepStrictEqual([...new RandomState(f.seed).randn(5)], f.randn);
  });

  test(`seed ${f.seed}: randint over small, 32-bit and 64-bit ranges matches numpy`, () => {
    const rs = new RandomState(f.seed); // one stream, ranges drawn in order as in numpy
    for (const [low, high, expected] of f.randint) {
      assert.deepStrictEqual(rs.randint(low, high, 6), expected, `randint(${low}, ${high})`);
    }
  });

  test(`seed ${f.seed}: choice with and without replacement matches numpy`, () => {
    const rs = new RandomState(f.seed);
    assert.deepStrictEqual(rs.choice(10, 6), f.choice);
    assert.deepStrictEqual(rs.choice(5, 3, false), f.choiceNoReplace);
  });

  test(`seed ${f.seed}: permutation matches numpy`, () => {
    assert.deepStrictEqual(new RandomState(f.seed).permutation(8), f.permutation);
  });
}

// Hashes of the raw little-endian float64 bytes, e.g.
// hashlib.sha256(np.random.RandomState(231).standard_normal(200000).tobytes()).hexdigest()
const sha256 = (values: Float64Array): string => createHash("sha256").update(new Uint8Array(values.buffer)).digest("hex");

test("200,000 normals match numpy to the last bit (needs glibc's log, not Math.log)", () => {
  const normals = new RandomState(231).standardNormal(200_000);
  assert.equal(sha256(normals), "221d2672e25bb4e5cb6c3bec188e8564e0e98b4f1ab4a3833a301dc6b0460d82");
});

test("100,000 uniforms and 100,000 randint(0, 1000) match numpy", () => {
  assert.equal(sha256(new RandomState(231).randomSample(100_000)), "2ad10b2ea10abef335724e7851706f2beeac88e00e00407a55f6df21cb9e3763");
  const ints = Float64Array.from(new RandomState(231).randint(0, 1000, 100_000));
  assert.equal(sha256(ints), "3f6ad6f13604ac96c846a1bbf2569658c1e9dc76c15ffedbe91823ad17043568");
});

test("randn, rand, randn, randn: the cached second normal survives a rand in between", () => {
  const rs = new RandomState(231);
  // numpy: [r.randn(), r.rand(), r.randn(), r.randn()]
  const got = [rs.randn(), rs.rand(), rs.randn(), rs.randn()];
  assert.deepStrictEqual(got, [0.41794341085522313, 0.426710070189125, 1.3971002787857785, 0.9321059601849435]);
});

test("seed() forgets the cached normal", () => {
  const rs = new RandomState(0);
  rs.randn(); // leaves the pair's second value cached
  rs.seed(231);
  assert.deepStrictEqual([...rs.randn(5)], fixtures[0].randn);
});

test("normal and uniform match numpy", () => {
  const rs = new RandomState(231);
  assert.deepStrictEqual([...rs.normal(3, 0.5, 3)], [3.2089717054276115, 3.6985501393928892, 2.107047845644225]);
  assert.deepStrictEqual([...rs.uniform(-2, 5, 3)], [3.788218037008816, 4.32400633622743, -1.7274332620963508]);
});

test("an array seed uses init_by_array, as numpy's RandomState([1, 2, 3])", () => {
  assert.deepStrictEqual([...new RandomState([1, 2, 3]).rand(3)], [0.6098612722867289, 0.8866970434146851, 0.47633673750662764]);
});

test("scalar draws, then sized draws, continue one stream", () => {
  const rs = new RandomState(0);
  assert.equal(rs.rand(), 0.5488135039273248);
  assert.equal(rs.randint(10), 5); // numpy: r.rand(); r.randint(10)
  assert.deepStrictEqual(rs.randint(5, 50, 2), [5, 8]);
});

test("shapes are C order: randn(2, 3) draws what randn(6) draws", () => {
  assert.deepStrictEqual(new RandomState(231).randn(2, 3), new RandomState(231).randn(6));
  const t = new RandomState(231).randnTensor([2, 3]);
  assert.deepStrictEqual(t.shape, [2, 3]);
  assert.equal(t.at(0, 1), fixtures[0].randn[1]);
});

test("f32 tensors round the float64 draws, as numpy's .astype(np.float32)", () => {
  const t = new RandomState(231).randnTensor([4], "f32");
  assert.equal(t.dtype, "f32");
  // numpy: r.randn(4).astype(np.float32).astype(np.float64)
  assert.deepStrictEqual([...t.data], [0.41794341802597046, 1.3971003293991089, -1.7859042882919312, -0.7088277339935303]);
});

test("two instances are independent streams", () => {
  const a = new RandomState(231);
  const b = new RandomState(0);
  const fromA: number[] = [];
  const fromB: number[] = [];
  for (let i = 0; i < 5; i++) {
    fromA.push(a.randn());
    fromB.push(b.randn());
  }
  assert.deepStrictEqual(fromA, fixtures[0].randn);
  assert.deepStrictEqual(fromB, fixtures[1].randn);
});

test("seeds outside [0, 2**32 - 1] or not integers are rejected", () => {
  for (const bad of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
    assert.throws(() => new RandomState(bad), /seed must be an integer between 0 and 2\*\*32 - 1/, `seed ${bad}`);
  }
  assert.throws(() => new RandomState([1, -2]), /between 0 and 2\*\*32 - 1/);
  assert.throws(() => new RandomState([]), /non-empty/);
  assert.doesNotThrow(() => new RandomState(2 ** 32 - 1));
});

test("bad arguments name the method", () => {
  const rs = new RandomState(0);
  assert.throws(() => rs.randint(5, 5), /randint: low >= high/);
  assert.throws(() => rs.randint(0, 1.5), /randint: bounds must be safe integers/);
  assert.throws(() => rs.choice(3, 4, false), /choice: cannot take 4 samples from 3/);
  assert.throws(() => rs.normal(0, -1, 2), /normal: scale must be >= 0/);
  assert.throws(() => rs.rand(2, -1), /bad shape/);
});

test("an unseeded instance still draws valid numbers", () => {
  const x = new RandomState().rand(100);
  assert.ok(x.every((v) => v >= 0 && v < 1));
});
