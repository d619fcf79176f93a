// The bad-input catalogue, second adversarial pass (issue 27): hostile JSON files, attributes no
// op takes, labels out of range, tensors changed after they were made. spec/support/bad-inputs.ts
// appends these entries; each was a silent wrong answer or a raw TypeError before.

import * as b from "../../core/builder.js";
import { apply } from "../../core/node.js";
import { evaluate } from "../../core/evaluate.js";
import { tensor } from "../../core/tensor.js";
import { trace } from "../../core/trace.js";
import { compile } from "../../compile/codegen/compile.js";
import { fromJSON, toJSON } from "../../compile/export/json.js";
import { oneHot, softmaxCrossEntropy } from "../../ops/composites.js";
import type { BadInput } from "./bad-inputs.js";

const sxe = () => trace({ s: [2, 3], y: [2] }, ({ s, y }) => softmaxCrossEntropy(s, y));
const s23 = () =>
  tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
const file = (edit: (text: string) => string) => edit(toJSON(trace({ x: [3, 6] }, ({ x }) => x.T.sum())));
const transferred = () => {
  const t = tensor([1, 2, 3, 4]);
  structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
  return t;
};

export const hostileInputs: BadInput[] = [
  {
    group: "attributes",
    input: 'apply("matmul", [a, a], { transposeA: true })',
    run: () => apply("matmul", [b.input("a", [2, 2]), b.input("a", [2, 2])], { transposeA: true }),
    expect: ["matmul:", '"transposeA"', "takes no attributes"],
  },
  {
    group: "attributes",
    input: 'apply("transpose", [a], { perm: [1, 0], "perm:[0,1];x": "y" })',
    run: () => apply("transpose", [b.input("a", [2, 2])], { perm: [1, 0], "perm:[0,1];x": "y" }),
    expect: ["transpose:", "unknown attribute", "perm (ints)"],
  },
  {
    group: "attributes",
    input: 'apply("sum", [a], { axes: "0" })',
    run: () => apply("sum", [b.input("a", [2, 2])], { axes: "0" }),
    expect: ["sum:", "axes", "list of integers"],
  },
  {
    group: "attributes",
    input: 'apply("concat", [a, a], {})',
    run: () => apply("concat", [b.input("a", [2, 2]), b.input("a", [2, 2])], {}),
    expect: ["concat:", "missing attribute axis"],
  },
  {
    group: "json",
    input: "fromJSON(file with a transpose node's attrs { perm: [1,0], scale: 2 })",
    run: () =>
      fromJSON(
        file((t) => t.replace('"perm":[1,0]', '"perm":[1,0],"scale":2')),
        "t.json",
      ),
    expect: ["fromJSON: t.json", "node 1", 'unknown attribute "scale"'],
  },
  {
    group: "json",
    input: 'fromJSON(file whose node has "inputs": "0")',
    run: () =>
      fromJSON(
        file((t) => t.replace('"inputs":[0]', '"inputs":"0"')),
        "s.json",
      ),
    expect: ["fromJSON: s.json", "node 1", '"inputs" must be a list'],
  },
  {
    group: "json",
    input: 'fromJSON(file with "symbols": { "N": 3 } and shapes [3,6])',
    run: () =>
      fromJSON(
        file((t) => t.replace('"symbols": {}', '"symbols": {"N":3}')),
        "n3.json",
      ),
    expect: ["fromJSON: n3.json", 'symbol "N"', "representative size 3"],
  },
  {
    group: "json",
    input: "fromJSON(file with a concrete axis of 1048573 and no symbols)",
    run: () =>
      fromJSON(
        file((t) => t.replace('"shape":[3,6]', '"shape":[1048573,6]')),
        "big.json",
      ),
    expect: ["fromJSON: big.json", "1048573", "declares no symbol"],
  },
  { group: "json", input: "fromJSON(42)", run: () => fromJSON(42 as never, "n.json"), expect: ["fromJSON: n.json", "string", "number"] },
  {
    group: "labels",
    input: "evaluate(softmaxCrossEntropy graph, { s, y: [0, 7] }) with 3 classes",
    run: () => evaluate(sxe(), { s: s23(), y: tensor([0, 7]) }),
    expect: ["softmaxCrossEntropy:", "label 7 at position 1", "0..2", "classIndex", "%y"],
  },
  {
    group: "labels",
    input: "compile(softmaxCrossEntropy graph).run({ s, y: [1.5, 0] })",
    run: () => compile(sxe()).run({ s: s23(), y: tensor([1.5, 0]) }),
    expect: ["softmaxCrossEntropy:", "label 1.5 at position 0", "classIndex"],
  },
  {
    group: "labels",
    input: "evaluate(softmaxCrossEntropy graph, { s, y: [-1, 0] })",
    run: () => evaluate(sxe(), { s: s23(), y: tensor([-1, 0]) }),
    expect: ["softmaxCrossEntropy:", "label -1 at position 0"],
  },
  {
    group: "labels",
    input: "evaluate(trace({ y: [3] }, ({ y }) => oneHot(y, 3)), { y: [0, 3, 1] })",
    run: () =>
      evaluate(
        trace({ y: [3] }, ({ y }) => oneHot(y, 3)),
        { y: tensor([0, 3, 1]) },
      ),
    expect: ["oneHot:", "label 3 at position 1"],
  },
  { group: "labels", input: "oneHot(y, 2.5)", run: () => trace({ y: [2] }, ({ y }) => oneHot(y, 2.5)), expect: ["oneHot:", "classes", "2.5"] },
  {
    group: "tensors",
    input: "evaluate(g, { x }) after x's buffer was transferred (structuredClone with transfer)",
    run: () =>
      evaluate(
        trace({ x: [4] }, ({ x }) => x.sum()),
        { x: transferred() },
      ),
    expect: ["evaluate:", 'input "x"', "transferred or detached"],
  },
  {
    group: "tensors",
    input: "compile(g).run({ x }) after x's buffer was transferred",
    run: () => compile(trace({ x: [4] }, ({ x }) => x.exp().sum())).run({ x: transferred() }),
    expect: ["compile(...).run:", 'input "x"', "transferred or detached"],
  },
  {
    group: "sizes",
    input: "trace({ x: [1048433] }) (a size reserved for a symbol no graph uses yet)",
    run: () => trace({ x: [1048433] }, ({ x }) => x.sum()),
    expect: ["trace:", 'input "x"', "1048433", "symbolic size"],
  },
];
