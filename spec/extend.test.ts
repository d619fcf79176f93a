// Extending gradc from outside: the worked examples do what they claim; user ops and rules get
// gradc's checks; malformed records, taken names and undifferentiable ops are errors that say what
// is wrong. Everything here goes through the public entry, as a user's code would.

import "../ops/index.js"; // registers the builtin primitives (core never imports ops)
import { pageJson } from "../viz/page.js";
import { test, describe } from "node:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import {
  checkOp,
  checkRule,
  compile,
  defineOp,
  defineRule,
  evaluate,
  grad,
  GradcError,
  ops,
  optimize,
  P,
  removeOp,
  removeRule,
  rule,
  tensor,
  trace,
  userRules,
  v,
  type OpSpec,
} from "../index.js";
import { main as softplusMain, softplus } from "../examples/softplus.js";
import { main as rmsnormMain } from "../examples/rmsnorm.js";
import { main as ruleMain } from "../examples/rule.js";

const quiet = <T>(fn: () => T): T => {
  const log = console.log;
  console.log = () => {};
  try {
    return fn();
  } finally {
    console.log = log;
  }
};

const gradcError =
  (...parts: (string | RegExp)[]) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof GradcError, `expected a GradcError, got ${String(e)}`);
    for (const p of parts) assert.ok(typeof p === "string" ? e.message.includes(p) : p.test(e.message), `message should mention ${p}: ${e.message}`);
    return true;
  };

describe("examples", () => {
  test("softplus: checkOp passes every check; first and second derivatives are sigmoid and sigmoid'; it fuses when compiled", () => {
    const r = quiet(() => softplusMain());
    assert.deepEqual(
      r.check.checks.map((c) => c.check),
      ["kernel", "expr", "compiled", "gradient", "jvp", "dot-product", "optimized", "second-order"],
    );
    assert.ok(
      r.check.checks.every((c) => c.worst !== null && c.worst < 1e-6),
      JSON.stringify(r.check.checks),
    );
    assert.equal(r.check.fuses, true);
    assert.ok(r.firstError < 1e-12 && r.secondError < 1e-12, `${r.firstError} ${r.secondError}`);
    assert.ok(r.secondVsFiniteDifferences < 1e-8, String(r.secondVsFiniteDifferences));
    assert.equal(r.fused, true);
    assert.ok(r.compiledError < 1e-12, String(r.compiledError));
  });

  test("rmsnorm: a user-written RMSNorm's backward is optimized to the closed form; centering's two rounds of reductions become one", () => {
    const r = quiet(() => rmsnormMain(["--shape", "16,8"]));
    assert.equal(r.rmsnorm.optimized.reductionDepth, 1);
    assert.ok(r.rmsnorm.optimized.elementwisePerElement < r.rmsnorm.derived.elementwisePerElement - 2, JSON.stringify(r.rmsnorm));
    assert.ok(r.rmsnorm.vsDerived < 1e-12 && r.rmsnorm.vsByHand < 1e-12, JSON.stringify(r.rmsnorm));
    assert.equal(r.centered.derived.reductionDepth, 2);
    assert.equal(r.centered.optimized.reductionDepth, 1);
    assert.ok(r.centered.vsDerived < 1e-10, String(r.centered.vsDerived));
    assert.equal(r.rmsnorm.sweeps, 1);
  });

  test("rule: sound rules pass checkRule and simplify log(exp(x) * exp(y)) to x + y; sqrt(x^2) = x is refused", () => {
    const r = quiet(() => ruleMain());
    assert.ok(
      r.checks.every((c) => c.firings > 0 && c.worst < 1e-12),
      JSON.stringify(r.checks),
    );
    assert.match(r.refused, /checkRule\(sqrt-of-square\): unsound/);
    assert.equal(r.before, 4);
    assert.equal(r.after, 1);
    assert.match(r.text, /add %x %y/);
    assert.ok(r.difference < 1e-14);
    assert.deepEqual(userRules(), [], "the example takes its rules out again");
  });
});

describe("a user op is a first-class citizen", () => {
  test("softplus flows through trace, grad twice, optimize and compile; compiled equals interpreted", () => {
    const f = trace({ x: [3, 4], w: [4] }, ({ x, w }) => softplus(x.mul(w)).sum());
    const d2 = grad(grad(f, { wrt: ["x"] }), { of: "dx", wrt: ["w"] });
    const opt = optimize(d2);
    const x = tensor(
      Array.from({ length: 12 }, (_, i) => i / 6 - 1),
      [3, 4],
    );
    const feed = { x, w: [0.5, -1, 2, 0.25], ddx: tensor(new Array(12).fill(1), [3, 4]) };
    const want = evaluate(d2, feed).dw;
    const got = compile(opt).run(feed).dw;
    want.data.forEach((v, i) => assert.ok(Math.abs(v - got.data[i]) < 1e-12, `${want} vs ${got}`));
  });

  test("the viewer draws it: the page holds the softplus node, as text data", () => {
    const out = join(mkdtempSync(join(tmpdir(), "gradc-extend-")), "softplus.html");
    const r = quiet(() => softplusMain(["--view", out]));
    assert.equal(r.viewPath, out);
    const html = readFileSync(out, "utf8");
    // node rows are packed with interned strings (viz/page.ts packNodes): the op and its kind are among them
    const data = pageJson(html) as { packed: { strings: string[]; rows: unknown[][] } };
    assert.ok(
      data.packed.strings.includes("softplus") &&
        data.packed.rows.some((r: unknown[]) => data.packed.strings[r[1] as number] === "softplus" && data.packed.strings[r[2] as number] === "elementwise"),
    );
  });

  test("numbers broadcast like a builtin's operands; its record is frozen in the registry", () => {
    const g = trace({ x: [2, 3] }, ({ x }) => softplus(x).add(softplus(ops.constant(0))));
    assert.match(g.toString(), /softplus/);
    assert.throws(() => ((softplus.def as { name: string }).name = "x"), TypeError);
  });

  test("an elementwise op takes parameters as operands, never as attributes (they would reach generated code)", () => {
    const leaky = defineOp({
      name: "leaky",
      arity: 2,
      scalar: (x, a) => (x > 0 ? x : a * x),
      expr: ([x, a]) => `(${x} > 0 ? ${x} : ${a} * ${x})`,
      vjp: (g, [x, a]) => [ops.select(ops.less(0, x), g, g.mul(a)), null],
      sample: (rand) => ({ inputs: [tensor([rand() + 0.1, -rand() - 0.1]), tensor([0.1, 0.1])], attrs: {}, wrt: [0] }),
    });
    try {
      const g = trace({ x: [2] }, ({ x }) => leaky(x, 0.1));
      assert.deepEqual(Array.from(compile(g).run({ x: [2, -2] }).out.data), [2, -0.2]);
      assert.ok(checkOp(leaky, { runs: 5 }).checks.every((c) => c.worst !== null));
      assert.throws(() => trace({ x: [2] }, ({ x }) => leaky(x, 0.1, { alpha: "0; throw 1" })), gradcError("leaky:", 'takes no attributes (got "alpha")'));
    } finally {
      removeOp("leaky");
    }
  });

  test("an op of kind other (a custom kernel: cumulative sum over the last axis) is checked, differentiated twice and compiled", () => {
    const upper = (n: number) => ops.sub(1, ops.less(ops.iota([n, n], 1), ops.iota([n, n], 0))); // U[i][j] = i <= j
    const cumsum = defineOp({
      name: "cumsumRows",
      kind: "other",
      arity: 1,
      shape: ([x]) => {
        if (x.shape.length !== 2) throw new Error(`expects a matrix, got rank ${x.shape.length}`);
        return { shape: x.shape, dtype: x.dtype };
      },
      impl: ([x]) => {
        const [m, n] = x.shape,
          out = new Float64Array(m * n);
        for (let i = 0; i < m; i++) for (let j = 0, s = 0; j < n; j++) out[i * n + j] = s += x.data[i * n + j];
        return tensor(out, x.shape);
      },
      // what compiled code runs: a loop planned for the shape
      kernel: ([x]) => {
        const [m, n] = x.shape;
        return ([xd], out) => {
          for (let i = 0; i < m; i++) for (let j = 0, s = 0; j < n; j++) out[i * n + j] = s += xd[i * n + j];
        };
      },
      vjp: (g, [x]) => [g.matmul(upper(x.shape[1]).T)],
      sample: (rand) => ({
        inputs: [
          tensor(
            Array.from({ length: 12 }, () => rand() * 4 - 2),
            [3, 4],
          ),
        ],
        attrs: {},
      }),
    });
    try {
      const report = checkOp(cumsum, { runs: 5 });
      assert.equal(report.fuses, false, "an opaque kernel runs as its own call");
      assert.ok(compile(trace({ x: [3, 4] }, ({ x }) => cumsum(x))).source.includes("planned kernel of op"), "compiled code runs the op's planned kernel");
      assert.deepEqual(
        report.checks.filter((c) => c.worst === null),
        [],
      );
      assert.throws(() => cumsum(ops.input("v", [4])), gradcError("cumsumRows:", "expects a matrix, got rank 1"));
    } finally {
      removeOp("cumsumRows");
    }
  });
});

describe("checkOp finds what is wrong, with a seed to replay it", () => {
  test("a wrong gradient rule", () => {
    const bad = defineOp({ name: "badSoftplus", arity: 1, scalar: softplus.def.scalar!, expr: softplus.def.expr!, vjp: (g, [x]) => [g.mul(x)] });
    try {
      let message = "";
      assert.throws(
        () => checkOp(bad),
        (e: unknown) => gradcError("checkOp(badSoftplus)", "gradient:", "replay with checkOp(op, { seed:")(e) && Boolean((message = (e as Error).message)),
      );
      const [, seed, path] = /seed: (-?\d+), path: "([^"]*)"/.exec(message)!;
      assert.throws(() => checkOp(bad, { seed: Number(seed), path }), gradcError("gradient:"));
    } finally {
      removeOp("badSoftplus");
    }
  });

  test("a codegen expression that disagrees with the scalar function is refused by defineOp itself", () => {
    assert.throws(
      () => defineOp({ name: "cube", arity: 1, scalar: (x) => x * x * x, expr: ([x]) => `(${x} * ${x})`, vjp: (g, [x]) => [g.mul(x.square()).mul(3)] }),
      gradcError("defineOp(cube)", "expr and scalar disagree", "(a0 * a0)"),
    );
  });

  test("gradc's own ops pass the same checks by name", () => {
    const r = checkOp("tanh", { runs: 5 });
    assert.ok(r.checks.every((c) => c.worst !== null));
  });
});

describe("an op without a gradient declares it", () => {
  const hardstep = defineOp({ name: "hardstep", arity: 1, scalar: (x) => (x > 0 ? 1 : 0), expr: ([x]) => `(${x} > 0 ? 1 : 0)`, vjp: "none" });

  test("differentiating through it is a GradcError naming the op", () => {
    const g = trace({ x: [3] }, ({ x }) => hardstep(x).mul(x).sum());
    assert.throws(() => grad(g), gradcError('"hardstep"', "not differentiable"));
  });

  test("an op whose gradient uses it is checked to first order; the second order is skipped, saying why", () => {
    const ramp = defineOp({ name: "ramp", arity: 1, scalar: (x) => Math.max(x, 0), expr: ([x]) => `Math.max(${x}, 0)`, vjp: (g, [x]) => [g.mul(hardstep(x))] });
    try {
      const r = checkOp(ramp, { runs: 5 });
      assert.ok(r.checks.find((c) => c.check === "gradient")!.worst! < 1e-6);
      assert.match(r.checks.find((c) => c.check === "second-order")!.skipped!, /not differentiable: grad: op "hardstep"/);
    } finally {
      removeOp("ramp");
    }
  });

  test("checkOp runs the other checks and says the derivative ones were skipped", () => {
    const r = checkOp(hardstep, { runs: 5 });
    assert.equal(r.differentiable, false);
    assert.deepEqual(
      r.checks.filter((c) => c.worst === null).map((c) => c.skipped),
      Array(5).fill("not differentiable"),
    );
  });
});

describe("defineOp refuses a malformed record, saying what is wrong", () => {
  const ok: OpSpec = { name: "fine", arity: 1, scalar: (x) => x, expr: ([x]) => x, vjp: (g) => [g] };
  const cases: [string, unknown, (string | RegExp)[]][] = [
    ["a name that is not an identifier", { ...ok, name: "soft plus" }, ["name must be an identifier", '"soft plus"']],
    ["markup as a name", { ...ok, name: "<img src=x onerror=alert(1)>" }, ["name must be an identifier"]],
    ["no name", { ...ok, name: undefined }, ["name must be an identifier"]],
    ["a builtin's name", { ...ok, name: "exp" }, ['"exp" is already registered (a builtin)']],
    ["no arity", { ...ok, arity: undefined }, ["defineOp(fine)", "arity must be"]],
    ["a fractional arity", { ...ok, arity: 1.5 }, ["arity must be", "1.5"]],
    ["a bad kind", { ...ok, kind: "reduce" }, ['kind must be "elementwise" or "other"', '"reduce"']],
    ["a scalar that is not a function", { ...ok, scalar: 3 }, ["scalar must be a function, got number"]],
    ["a vjp that is not a function", { ...ok, vjp: "yes" }, ["vjp must be a function", 'or "none"']],
    ["no gradient rule and no declaration", { ...ok, vjp: undefined }, ["no gradient rule", 'vjp: "none"']],
    ["a gradient rule on an op declared not differentiable", { ...ok, differentiable: false }, ["declared not differentiable"]],
    ["an expr that is not JavaScript", { ...ok, expr: ([x]: string[]) => `${x} +` }, ["not a JavaScript expression"]],
    ["an expr that returns no string", { ...ok, expr: () => 1 }, ["expr must return a string"]],
    ["an unknown field", { ...ok, grad: () => [] }, ["unknown field(s) grad"]],
    ["an elementwise op without scalar", { name: "fine", kind: "elementwise", arity: 1, vjp: "none" }, ["needs scalar"]],
    ["an opaque op without a shape rule", { name: "fine", kind: "other", arity: 1, impl: () => tensor([1]), vjp: "none" }, ["needs a shape rule"]],
    [
      "a shape rule that throws on the probe",
      {
        name: "fine",
        kind: "other",
        arity: 1,
        shape: () => {
          throw new Error("wants rank 3");
        },
        impl: () => tensor([1]),
        vjp: "none",
      },
      ["shape rule throws on the default probe (f64[2,3])", "wants rank 3", "probe: { shapes }"],
    ],
    [
      "a shape rule that returns nonsense",
      { name: "fine", kind: "other", arity: 1, shape: () => ({ shape: [-1], dtype: "f64" }), impl: () => tensor([1]), vjp: "none" },
      ["shape rule must return"],
    ],
    [
      "a kernel that disagrees with the shape rule",
      { name: "fine", kind: "other", arity: 1, shape: ([x]: { shape: number[]; dtype: string }[]) => x, impl: () => tensor([1]), vjp: "none" },
      ["kernel returned f64[1] where the shape rule says f64[2,3]"],
    ],
    [
      "a planned kernel that is not a function",
      { name: "fine", kind: "other", arity: 1, shape: ([x]: { shape: number[]; dtype: string }[]) => x, impl: ([x]: unknown[]) => x, kernel: 3, vjp: "none" },
      ["kernel must be a function"],
    ],
    [
      "a planned kernel that disagrees with impl",
      {
        name: "fine",
        kind: "other",
        arity: 1,
        shape: ([x]: { shape: number[]; dtype: string }[]) => x,
        impl: ([x]: unknown[]) => x,
        kernel: () => (_: unknown, out: Float64Array) => out.fill(1),
        vjp: "none",
      },
      ["planned kernel gives 1 at flat index 0 where impl gives 0.5", "default probe"],
    ],
    ["not a record", null, ["expects a record"]],
  ];
  for (const [what, spec, parts] of cases) {
    test(what, () => assert.throws(() => defineOp(spec as OpSpec), gradcError(...parts)));
  }

  test("a name defined twice; removeOp frees it; builtins cannot be removed", () => {
    defineOp(ok);
    try {
      assert.throws(() => defineOp(ok), gradcError('"fine" is already registered by defineOp'));
    } finally {
      assert.equal(removeOp("fine"), true);
    }
    defineOp(ok);
    removeOp("fine");
    assert.throws(() => removeOp("exp"), gradcError('"exp" is a builtin op'));
  });
});

describe("defineRule", () => {
  const x = v("x");
  test("refuses a malformed rule or a taken name, and removes only user rules", () => {
    assert.throws(() => rule("Log Of Exp", P.log(P.exp(x)), ({ x }) => x), gradcError("kebab-case"));
    assert.throws(() => rule("of-nothing", P.frobnicate(x), ({ x }) => x), gradcError('P.frobnicate: no op named "frobnicate" is registered'));
    assert.throws(() => defineRule({ name: "no-rewrite", pattern: x } as never), gradcError("rewrite must be a function"));
    assert.throws(() => defineRule(rule("collect-add", P.add(x, x), () => null)), gradcError('"collect-add" already exists (in the algebra table)'));
    assert.throws(() => removeRule("collect-add"), gradcError("one of gradc's own rules"));
    const r = defineRule(rule("neg-of-neg-user", P.neg(P.neg(x)), ({ x }) => x));
    try {
      assert.throws(() => defineRule(r), gradcError("removeRule it first"));
      assert.deepEqual(
        userRules().map((q) => q.name),
        ["neg-of-neg-user"],
      );
    } finally {
      assert.equal(removeRule("neg-of-neg-user"), true);
    }
    assert.equal(removeRule("neg-of-neg-user"), false);
  });

  test("patterns name user ops too: softplus(x) - softplus(-x) = x is checked, added and used", () => {
    const r = rule("softplus-odd-part", P.sub(P.softplus(x), P.softplus(P.neg(x))), ({ x }) => x);
    assert.ok(checkRule(r, { runs: 20 }).firings > 0);
    defineRule(r);
    try {
      const g = trace({ y: [3] }, ({ y }) => softplus(y).sub(softplus(y.neg())).mul(2));
      assert.equal(optimize(g).toString(), "graph(y: f64[3]) {\n  %0 = mul 2 %y : f64[3]\n  return { out: %0 }\n}");
    } finally {
      removeRule("softplus-odd-part");
    }
  });

  test("checkRule says when a rule never fired", () => {
    const never = rule("sum-never", P.sum(x), () => null, { guard: () => false });
    assert.throws(() => checkRule(never, { runs: 5 }), gradcError("never fired", "pass { graphs }"));
  });
});
