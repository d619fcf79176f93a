// Node identity and the process-wide tables (issue 27): hash-consing keys cannot collide whatever
// attribute names hold; every op takes only the attributes its schema lists; a JSON file cannot
// rename, reserve or reinterpret anything outside the graph it describes; caches are bounded.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as b from "../core/builder.js";
import { apply, nodeKey } from "../core/node.js";
import type { AttrValue, Attrs } from "../core/registry.js";
import { trace } from "../core/trace.js";
import { evaluate } from "../core/evaluate.js";
import { tensor, Tensor } from "../core/tensor.js";
import { specialisationCount, SPECIALISATION_CAP } from "../core/symbolic.js";
import { reservedSymbols, symbolOf } from "../core/symbol-table.js";
import { vjp } from "../compile/autodiff/reverse.js";
import { fromJSON, toJSON } from "../compile/export/json.js";
import { defineOp, removeOp } from "../ops/define.js";
import { gradcError } from "./support/graph-checks.js";

const attrValue: fc.Arbitrary<AttrValue> = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 0.5)),
  fc.array(fc.integer({ min: -2, max: 2 }), { maxLength: 3 }),
);
// names built from the characters an old `k:v;k:v` key used as separators, quotes and escapes
const attrName = fc.string({ unit: fc.constantFrom("a", "b", ":", ";", ",", "=", '"', "\\", "[", "]", "{", "}", " "), maxLength: 5 });
const attrs = fc.dictionary(attrName, attrValue, { maxKeys: 3 });

/** Attribute records that differ as values (NaN equals NaN, -0 differs from 0), whatever their key order. */
const same = (p: Attrs, q: Attrs): boolean => {
  const keys = Object.keys(p).sort();
  const other = Object.keys(q).sort();
  if (keys.length !== other.length || keys.some((k, i) => k !== other[i])) return false;
  return keys.every((k) => {
    const [u, v] = [p[k], q[k]];
    if (Array.isArray(u) && Array.isArray(v)) return u.length === v.length && u.every((x, i) => Object.is(x, v[i]));
    return Object.is(u, v);
  });
};

describe("hash-consing keys", () => {
  const x = b.input("x", [2, 2]);
  const aval = { shape: [2, 2], dtype: "f64" as const };

  test("for all attribute records p, q: key(p) = key(q) exactly when p and q are the same values", () => {
    fc.assert(
      fc.property(attrs, attrs, (p, q) => {
        assert.equal(nodeKey("op", [x], p, aval) === nodeKey("op", [x], q, aval), same(p, q), `${JSON.stringify(p)} vs ${JSON.stringify(q)}`);
      }),
      { numRuns: 2000 },
    );
  });

  test("a crafted attribute name cannot make a transpose equal an identity one (was one key: k:v;k:v unescaped)", () => {
    const real = { perm: [1, 0] };
    const crafted = { "perm:[0,1];x": "y" } as Attrs;
    assert.notEqual(nodeKey("transpose", [x], real, aval), nodeKey("transpose", [x], { perm: [0, 1], ...crafted }, aval));
    assert.notEqual(nodeKey("t", [x], { a: "1;b:2" }, aval), nodeKey("t", [x], { a: "1", b: "2" }, aval));
  });

  test("NaN, Infinity, -0 and strings that print alike stay apart", () => {
    const keys = [NaN, Infinity, -Infinity, -0, 0, "NaN", "0", "-0"].map((v) => nodeKey("const", [], { value: v }, aval));
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe("attribute schemas", () => {
  const a = b.input("a", [2, 2]);

  test("matmul[transposeA=true] is an error at apply, not a plain product", () => {
    assert.throws(() => apply("matmul", [a, a], { transposeA: true }), gradcError("matmul:", '"transposeA"', "matmul takes no attributes"));
  });

  test("an extra attribute beside a known one is refused, naming what the op takes", () => {
    assert.throws(() => apply("transpose", [a], { perm: [1, 0], "perm:[0,1];x": "y" }), gradcError("transpose:", "unknown attribute", "perm (ints)"));
  });

  test("a mistyped or missing attribute is refused before the shape rule runs", () => {
    assert.throws(() => apply("sum", [a], { axes: "0" }), gradcError("sum:", "axes must be a list of integers"));
    assert.throws(() => apply("concat", [a, a], {}), gradcError("concat:", "missing attribute axis"));
  });

  test("fromJSON refuses an unknown attribute, naming the node", () => {
    const g = trace({ x: [2, 3] }, ({ x }) => x.T.sum());
    const text = toJSON(g).replace('"perm":[1,0]', '"perm":[1,0],"scale":2');
    assert.throws(() => fromJSON(text, "t.json"), gradcError("fromJSON: t.json", "node 1: transpose", 'unknown attribute "scale"'));
  });

  test("a user op declares its attributes; others are refused", () => {
    const scaled = defineOp({
      name: "scaledCopy",
      kind: "other",
      arity: 1,
      attrs: { by: "number" },
      shape: ([x]) => x,
      impl: ([x], at) =>
        new Tensor(
          x.data.map((v) => v * (at.by as number)),
          x.shape,
        ),
      vjp: "none",
      probe: { shapes: [[2]], attrs: { by: 2 } },
    });
    try {
      assert.deepEqual(
        [
          ...evaluate(
            trace({ x: [2] }, ({ x }) => scaled(x, { by: 3 })),
            { x: tensor([1, 2]) },
          ).out.data,
        ],
        [3, 6],
      );
      assert.throws(() => trace({ x: [2] }, ({ x }) => scaled(x, { by: 3, bias: 1 })), gradcError("scaledCopy:", '"bias"', "by (number)"));
      assert.throws(
        () => defineOp({ name: "badSchema", kind: "other", arity: 1, attrs: { k: "float" as never }, shape: ([x]) => x, impl: ([x]) => x, vjp: "none" }),
        gradcError("defineOp(badSchema)", '"float"'),
      );
    } finally {
      removeOp("scaledCopy");
    }
  });
});

describe("a JSON file touches only its own graph", () => {
  test("labels in a file do not rename the residuals of a graph already in memory", () => {
    const g = trace({ x: [4, 3] }, ({ x }) => x.sub(x.mean(0)).square().mean(0).sqrt().sum());
    const before = vjp(g).backward.toString();
    const labelled = toJSON(g).replace(/"op":"(sub|square|sqrt)"/g, '"label":"hijacked","op":"$1"');
    assert.ok(labelled.includes("hijacked"));
    fromJSON(labelled, "other.json");
    assert.equal(vjp(g).backward.toString(), before);
    assert.ok(!before.includes("hijacked"));
  });

  test("a file's labels still name the nodes it creates", () => {
    const text = toJSON(trace({ q: [5] }, ({ q }) => q.exp().sum()))
      .replace('"op":"exp"', '"label":"expq","op":"exp"')
      .replace('"name":"q"', '"name":"fresh"');
    assert.match(fromJSON(text, "new.json").toString(), /# expq/);
  });

  test("a rejected file releases the symbolic sizes it reserved (was: trace({ x: ['Batch', 3] }) failed for good)", () => {
    const before = new Set(reservedSymbols());
    const reps = [1048573, 1048571, 1048559, 1048549, 1048517, 1048507, 1048447, 1048433];
    const symbols = Object.fromEntries(reps.map((r, i) => [`Hostile${i}`, r]));
    const text = JSON.stringify({
      format: "gradc-graph",
      version: 1,
      inputs: [0],
      outputs: { out: 7 },
      symbols,
      nodes: [{ op: "input", attrs: { name: "x", shape: [3], dtype: "f64" } }],
    });
    for (let i = 0; i < 3; i++) assert.throws(() => fromJSON(text, "bad.json"), gradcError("fromJSON: bad.json"));
    assert.deepEqual(new Set(reservedSymbols()), before);
    assert.doesNotThrow(() => trace({ x: ["Batch", 3] }, ({ x }) => x.sum()));
  });

  test('a concrete size never becomes a symbol: "symbols": { "N": 3 } is refused (was [3,6] read as [N,2N])', () => {
    const text = toJSON(trace({ x: [3, 6] }, ({ x }) => x.sum())).replace(/"symbols": \{\}/, '"symbols": {"N":3}');
    assert.throws(() => fromJSON(text, "n3.json"), gradcError("fromJSON: n3.json", 'symbol "N"', "representative size 3"));
  });

  test("a concrete axis of a representative size is refused where it enters (was read as N)", () => {
    const free = [1048573, 1048571, 1048559, 1048549, 1048517, 1048507, 1048447, 1048433].find((r) => !symbolOf(r))!;
    assert.throws(() => trace({ x: [free] }, ({ x }) => x.sum()), gradcError('trace: input "x"', String(free), "symbolic"));
    const text = toJSON(trace({ x: [7] }, ({ x }) => x.sum())).replace('"shape":[7]', '"shape":[1048573]');
    assert.throws(() => fromJSON(text, "big.json"), gradcError("fromJSON: big.json", "1048573", "declares no symbol"));
  });

  test("a symbolic graph written and read back keeps its symbol", () => {
    const g = trace({ x: ["N", 3] }, ({ x }) => x.mean(0));
    assert.equal(fromJSON(toJSON(g), "sym.json").toString(), g.toString());
  });
});

describe("bounded caches", () => {
  test(`a symbolic graph run at many sizes keeps at most ${SPECIALISATION_CAP} specialisations (was one per size)`, () => {
    const g = trace({ x: ["N", 2] }, ({ x }) => x.sum(0));
    for (let n = 1; n <= 40; n++) assert.equal(evaluate(g, { x: new Tensor(new Float64Array(2 * n).fill(1), [n, 2]) }).out.data[0], n);
    assert.equal(specialisationCount(g), SPECIALISATION_CAP);
  });
});
