// Contractions and the softmax family, as specifications:
//   - einsum equals a direct sum over every index assignment (a reference written as loops);
//   - matmul equals its law, sum_k a[..,i,k] b[..,k,j] (matmulAsSum), batched and transposed;
//   - their gradients agree with central differences, compiled equals interpreted;
//   - softmax rows sum to 1, logSoftmax = log(softmax), logsumexp is finite where exp overflows;
//   - dimensions that disagree are GradcErrors naming the op, the nodes and the shapes.

import "../ops/index.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as b from "../core/builder.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { GradcError } from "../core/errors.js";
import { Tensor, tensor, type Shape } from "../core/tensor.js";
import type { Node } from "../core/node.js";
import { einsum } from "../ops/einsum.js";
import { matmulAsSum } from "../ops/contraction.js";
import { logSoftmax, logsumexp, softmax } from "../ops/softmax.js";
import { randomTensor, relError, seededRandom } from "../compile/check/numeric.js";
import { arbSeed, runs } from "./support/arbitraries.js";
import { checkCompiled, checkGradients } from "./support/graph-checks.js";

/** einsum by definition: for every assignment of every index, add the product into the output. */
function einsumRef(spec: string, xs: Tensor[]): Tensor {
  const [lhs, rhs] = spec.split("->");
  const terms = lhs.split(",");
  const size = new Map<string, number>();
  terms.forEach((t, k) => [...t].forEach((l, d) => size.set(l, xs[k].shape[d])));
  const labels = [...size.keys()];
  const outShape = [...rhs].map((l) => size.get(l)!);
  const out = new Float64Array(outShape.reduce((m, s) => m * s, 1));
  const at = (t: string, shape: Shape, v: Map<string, number>) => [...t].reduce((off, l, d) => off * shape[d] + v.get(l)!, 0);
  const v = new Map<string, number>();
  const go = (i: number): void => {
    if (i === labels.length) {
      let p = 1;
      terms.forEach((t, k) => (p *= xs[k].data[at(t, xs[k].shape, v)]));
      out[at(rhs, outShape, v)] += p;
      return;
    }
    for (let j = 0; j < size.get(labels[i])!; j++) {
      v.set(labels[i], j);
      go(i + 1);
    }
  };
  go(0);
  return tensor(out, outShape);
}

/** [spec, operand shapes]: explicit outputs, so the reference can read them. */
const cases: [string, Shape[]][] = [
  [
    "ij,jk->ik",
    [
      [2, 3],
      [3, 4],
    ],
  ],
  [
    "ij,kj->ik",
    [
      [2, 3],
      [4, 3],
    ],
  ],
  [
    "ji,jk->ik",
    [
      [3, 2],
      [3, 4],
    ],
  ],
  [
    "ji,kj->ki",
    [
      [3, 2],
      [4, 3],
    ],
  ],
  [
    "bij,bjk->bik",
    [
      [2, 3, 4],
      [2, 4, 2],
    ],
  ],
  [
    "bqd,bkd->bqk",
    [
      [2, 3, 4],
      [2, 5, 4],
    ],
  ],
  [
    "bhqd,bhkd->bhqk",
    [
      [2, 2, 3, 4],
      [2, 2, 3, 4],
    ],
  ],
  [
    "bhqk,bhkd->bqhd",
    [
      [2, 2, 3, 3],
      [2, 2, 3, 4],
    ],
  ],
  [
    "abc,cd->abd",
    [
      [2, 3, 4],
      [4, 5],
    ],
  ],
  [
    "abc,bcd->ad",
    [
      [2, 3, 4],
      [3, 4, 2],
    ],
  ],
  ["i,i->", [[5], [5]]],
  ["i,j->ij", [[3], [4]]],
  [
    "ij,ij->ij",
    [
      [2, 3],
      [2, 3],
    ],
  ],
  ["ij,j->i", [[3, 4], [4]]],
  ["ij->ji", [[2, 3]]],
  ["ij->", [[2, 3]]],
  ["ijk->j", [[2, 3, 4]]],
  [
    "ij,jk,kl->il",
    [
      [2, 3],
      [3, 4],
      [4, 2],
    ],
  ],
  [
    "ij,ik->",
    [
      [3, 2],
      [3, 4],
    ],
  ],
  // repeated indices within an operand: diagonals and traces
  ["ii->i", [[3, 3]]],
  ["ii->", [[4, 4]]],
  ["iii->i", [[3, 3, 3]]],
  ["bii->bi", [[2, 3, 3]]],
  ["iji->ij", [[3, 2, 3]]],
  [
    "ij,jj->i",
    [
      [2, 3],
      [3, 3],
    ],
  ],
  [
    "ii,ij->j",
    [
      [3, 3],
      [3, 2],
    ],
  ],
  ["iijj->ij", [[2, 2, 3, 3]]],
  ["ii->i", [[1, 1]]],
];

const names = (n: number) => Array.from({ length: n }, (_, k) => `x${k}`);
function einsumGraph(spec: string, shapes: Shape[]) {
  return trace(Object.fromEntries(shapes.map((s, k) => [`x${k}`, s])), (xs) => einsum(spec, ...names(shapes.length).map((n) => xs[n])));
}

describe("einsum", () => {
  for (const [spec, shapes] of cases) {
    test(`${spec} on ${shapes.map((s) => `[${s}]`).join(", ")}: equals the sum over every index, gradients and compiled agree`, () => {
      const rand = seededRandom(spec.length * 7919 + shapes.length);
      const g = einsumGraph(spec, shapes);
      const feed = Object.fromEntries(shapes.map((s, k) => [`x${k}`, randomTensor(rand, s)]));
      const got = evaluate(g, feed).out;
      const want = einsumRef(
        spec,
        shapes.map((_, k) => feed[`x${k}`]),
      );
      assert.deepEqual(got.shape, want.shape);
      assert.ok(relError(got, want) < 1e-12, `${spec}: ${got} vs ${want}`);
      checkGradients(g, feed, rand);
      checkCompiled(g, feed);
    });
  }

  test("records sums, views and one matmul per pair: ij,kj->ik is matmul(a, transpose(b))", () => {
    const g = einsumGraph("ij,kj->ik", [
      [2, 3],
      [4, 3],
    ]);
    assert.deepEqual(
      g
        .nodes()
        .filter((n) => !n.isInput)
        .map((n) => n.op),
      ["transpose", "matmul"],
    );
  });

  test("implicit output and ellipsis: ...ij,...jk is a batched matmul with broadcast batch axes", () => {
    const rand = seededRandom(5);
    const g = trace({ a: [2, 1, 3, 4], c: [5, 4, 2] }, ({ a, c }) => einsum("...ij,...jk", a, c));
    assert.deepEqual(g.output("out").shape, [2, 5, 3, 2]);
    const feed = { a: randomTensor(rand, [2, 1, 3, 4]), c: randomTensor(rand, [5, 4, 2]) };
    const want = evaluate(
      trace({ a: [2, 1, 3, 4], c: [5, 4, 2] }, ({ a, c }) => b.matmul(a, c)),
      feed,
    ).out;
    assert.ok(relError(evaluate(g, feed).out, want) < 1e-12);
    checkGradients(g, feed, rand);
    checkCompiled(g, feed);
  });

  test("a repeated index under an ellipsis: ...ii->... is a batched trace, ...ii->...i a batched diagonal", () => {
    const rand = seededRandom(11);
    const x = randomTensor(rand, [2, 3, 4, 4]);
    const traceG = trace({ x: [2, 3, 4, 4] }, ({ x }) => einsum("...ii->...", x));
    assert.ok(relError(evaluate(traceG, { x }).out, einsumRef("abii->ab", [x])) < 1e-12);
    const diagG = trace({ x: [2, 3, 4, 4] }, ({ x }) => einsum("...ii->...i", x));
    assert.ok(relError(evaluate(diagG, { x }).out, einsumRef("abii->abi", [x])) < 1e-12);
    checkGradients(traceG, { x }, rand);
    checkCompiled(diagG, { x });
    // a diagonal is a strided read, not a product: no matmul, no multiply
    assert.ok(!traceG.nodes().some((n) => n.op === "matmul" || n.op === "mul"), String(traceG));
  });

  const bad: [string, Shape[], string[]][] = [
    [
      "ij,jk->ik",
      [
        [2, 3],
        [4, 5],
      ],
      ['index "j" has size 3', "[2,3]", "[4,5]", "%x0", "%x1"],
    ],
    [
      "ij,jk->ik",
      [
        [2, 3, 1],
        [3, 5],
      ],
      ["operand 0", "names 2 axes", "[2,3,1]"],
    ],
    ["ii->i", [[3, 4]], ['index "i" has size 3 in one operand and 4 in operand 0', "[3,4]"]],
    ["ij->k", [[3, 3]], ['output index "k" is in no operand']],
    ["ij,jk", [[2, 3]], ["2 operand term(s) for 1 operand(s)"]],
    ["i1->i", [[3, 3]], ['index "1" is not a letter']],
  ];
  for (const [spec, shapes, parts] of bad) {
    test(`"${spec}" on ${shapes.map((s) => `[${s}]`).join(", ")} is a GradcError saying why`, () => {
      assert.throws(
        () => einsumGraph(spec, shapes),
        (e: unknown) => {
          assert.ok(e instanceof GradcError, String(e));
          assert.ok(e.message.startsWith("einsum:"), e.message);
          for (const p of parts) assert.ok(e.message.includes(p), `should mention ${p}: ${e.message}`);
          return true;
        },
      );
    });
  }
});

describe("matmul: batched, transposed, broadcast", () => {
  test("for all batch shapes, matmul equals its law sum_k a[..,i,k] * b[..,k,j]", () => {
    fc.assert(
      fc.property(arbSeed(), (seed) => {
        const rand = seededRandom(seed);
        const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
        const batch = Array.from({ length: int(0, 2) }, () => int(1, 3));
        const [m, k, n] = [int(1, 4), int(1, 4), int(1, 4)];
        const g = trace({ a: [...batch, m, k], c: [...batch, k, n] }, ({ a, c }) => ({ mm: b.matmul(a, c), law: matmulAsSum(a, c) }));
        const r = evaluate(g, { a: randomTensor(rand, [...batch, m, k]), c: randomTensor(rand, [...batch, k, n]) });
        assert.ok(relError(r.mm, r.law) < 1e-12, `${r.mm} vs ${r.law}`);
      }),
      runs(30),
    );
  });

  const shapes: [Shape, Shape, boolean, boolean, Shape][] = [
    [[3, 4], [4, 2], false, false, [3, 2]],
    [[4, 3], [4, 2], true, false, [3, 2]],
    [[3, 4], [2, 4], false, true, [3, 2]],
    [[4, 3], [2, 4], true, true, [3, 2]],
    [[2, 3, 4], [2, 4, 5], false, false, [2, 3, 5]],
    [[2, 3, 4], [2, 5, 4], false, true, [2, 3, 5]],
    [[2, 4, 3], [4, 5], true, false, [2, 3, 5]],
    [[2, 3, 4], [4, 5], false, false, [2, 3, 5]],
    [[3, 4], [2, 4, 5], false, false, [2, 3, 5]],
    [[2, 1, 3, 4], [5, 4, 2], false, false, [2, 5, 3, 2]],
    [[4], [4, 2], false, false, [2]],
    [[3, 4], [4], false, false, [3]],
    [[2, 3, 4], [4], false, false, [2, 3]],
  ];
  for (const [sa, sb, ta, tb, so] of shapes) {
    test(`[${sa}] @ [${sb}]${ta ? " transposeA" : ""}${tb ? " transposeB" : ""} -> [${so}]: as NumPy, gradients and compiled agree`, () => {
      const rand = seededRandom(sa.length * 31 + sb.length + (ta ? 100 : 0) + (tb ? 200 : 0));
      const g = trace({ a: sa, c: sb }, ({ a, c }) => b.matmul(a, c, ta, tb));
      assert.deepEqual(g.output("out").shape, so);
      const feed = { a: randomTensor(rand, sa), c: randomTensor(rand, sb) };
      // the same product as a sum over explicit indices (batch axes y, z; the 4-D case broadcasts them, skipped)
      if (sa.length < 4) {
        const batch = (r: number) => "yz".slice(4 - Math.max(r, 2));
        const la = sa.length === 1 ? "k" : `${batch(sa.length)}${ta ? "ki" : "ik"}`;
        const lb = sb.length === 1 ? "k" : `${batch(sb.length)}${tb ? "jk" : "kj"}`;
        const lo = `${batch(Math.max(sa.length, sb.length))}${sa.length === 1 ? "" : "i"}${sb.length === 1 ? "" : "j"}`;
        const ref = einsumRef(`${la},${lb}->${lo}`, [feed.a, feed.c]);
        assert.ok(relError(evaluate(g, feed).out, ref) < 1e-12, `${evaluate(g, feed).out} vs ${ref}`);
      }
      checkGradients(g, feed, rand);
      checkCompiled(g, feed);
    });
  }

  const bad: [Shape, Shape, boolean, boolean, string[]][] = [
    [[2, 3], [2, 3], false, false, ["inner dimensions differ", "[2,3] @ [2,3]", "%a", "%c"]],
    [[2, 3], [2, 3], true, true, ["inner dimensions differ", "after transposes: [3,2] @ [3,2]", "transposeA=true"]],
    [[2, 3, 4], [3, 4, 5], false, false, ["batch axes [2] and [3] do not broadcast", "%a: f64[2,3,4]"]],
    [[], [3, 4], false, false, ["at least one axis"]],
    [[3], [3, 4], true, false, ["only an operand with 2 or more axes can be transposed"]],
  ];
  for (const [sa, sb, ta, tb, parts] of bad) {
    test(`[${sa}] @ [${sb}]${ta ? " transposeA" : ""}${tb ? " transposeB" : ""} is a GradcError naming matmul, the nodes and shapes`, () => {
      assert.throws(
        () => trace({ a: sa, c: sb }, ({ a, c }) => b.matmul(a, c, ta, tb)),
        (e: unknown) => {
          assert.ok(e instanceof GradcError && e.message.startsWith("matmul:"), String(e));
          for (const p of parts) assert.ok(e.message.includes(p), `should mention ${p}: ${e.message}`);
          return true;
        },
      );
    });
  }
});

describe("softmax, logSoftmax, logsumexp", () => {
  const x = tensor([
    [1, 2, 3, 4],
    [1000, 1001, 999, -5],
    [0, 0, 0, 0],
  ]);
  test("softmax rows sum to 1 and match exp(x)/sum(exp(x)), also where exp overflows", () => {
    const r = evaluate(
      trace({ x: [3, 4] }, ({ x }) => softmax(x)),
      { x },
    ).out;
    const e = [1, 2, 3, 4].map(Math.exp);
    const s = e.reduce((p, q) => p + q);
    assert.ok(
      relError(
        Array.from(r.data.slice(0, 4)),
        e.map((v) => v / s),
      ) < 1e-14,
    );
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(Array.from(r.data.slice(4 * i, 4 * i + 4)).reduce((p, q) => p + q) - 1) < 1e-14);
    assert.ok(r.data.every(Number.isFinite));
  });
  test("logSoftmax = log(softmax); logsumexp(x) = log(sum(exp(x))), finite at 1000", () => {
    const g = trace({ x: [3, 4] }, ({ x }) => ({
      ls: logSoftmax(x),
      lsm: b.log(softmax(x)),
      lse: logsumexp(x, 1),
      lse0: logsumexp(x, 0, true),
      all: logsumexp(x),
    }));
    const r = evaluate(g, { x });
    // log(softmax) underflows to -Infinity at exp(-1006); logSoftmax does not
    assert.ok(
      relError(
        Array.from(r.ls.data).filter((_, i) => i !== 7),
        Array.from(r.lsm.data).filter((_, i) => i !== 7),
      ) < 1e-12,
    );
    assert.equal(r.lsm.data[7], -Infinity);
    assert.ok(Math.abs(r.ls.data[7] - (-1006 - Math.log(Math.exp(-1) + 1 + Math.exp(-2)))) < 1e-12);
    assert.deepEqual(r.lse.shape, [3]);
    assert.deepEqual(r.lse0.shape, [1, 4]);
    assert.deepEqual(r.all.shape, []);
    assert.ok(Math.abs(r.lse.data[0] - Math.log([1, 2, 3, 4].map(Math.exp).reduce((p, q) => p + q))) < 1e-14);
    assert.ok(Math.abs(r.lse.data[1] - (1001 + Math.log(Math.exp(-1) + 1 + Math.exp(-2) + Math.exp(-1006)))) < 1e-12);
    assert.ok(Math.abs(r.lse.data[2] - Math.log(4)) < 1e-15);
  });
  test("the shift by the max carries no net gradient: gradients agree with central differences, compiled agrees", () => {
    fc.assert(
      fc.property(arbSeed(), (seed) => {
        const rand = seededRandom(seed);
        const shape = [1 + Math.floor(rand() * 3), 2 + Math.floor(rand() * 4)];
        const axis = rand() < 0.5 ? 0 : -1;
        const feed = { x: randomTensor(rand, shape, -3, 3) };
        for (const f of [(x: Node) => softmax(x, axis), (x: Node) => logSoftmax(x, axis), (x: Node) => logsumexp(x, axis), (x: Node) => logsumexp(x)]) {
          const g = trace({ x: shape }, ({ x }) => f(x));
          // atol: a component of logSoftmax's gradient can cancel to ~1e-6 (seed 1404874279), below
          // what central differences resolve relatively; 1e-9 is far under any wrong derivative's error
          checkGradients(g, feed, rand, { atol: 1e-9 });
          checkCompiled(g, feed);
        }
      }),
      runs(15),
    );
  });
  test("an axis out of range is a GradcError naming the composite", () => {
    assert.throws(() => trace({ x: [2, 3] }, ({ x }) => softmax(x, 2)), /^GradcError: softmax: axis 2 is out of range for rank 2/);
    assert.throws(() => trace({ x: [2, 3] }, ({ x }) => logsumexp(x, [0, 0])), /logsumexp: repeated axis/);
  });
});
