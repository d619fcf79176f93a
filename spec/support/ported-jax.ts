// Gradient test specs ported from JAX's own autodiff tests, jax-ml/jax tests/lax_autodiff_test.py,
// as data. JAX's `check_grads` compares derivatives with finite differences at random points of a
// domain (its `rng_factory`), so most cases are specs: op, arity, domain, shapes; the ported test
// draws the points, and checks gradc's gradient on evaluate(grad(...)) and compile(grad(...)).
// A few JAX tests state expected values (pow's second derivative, powers at zero): those are here
// with their numbers. The test each entry comes from is named in `from`.

/** JAX's random domains (jax._src.test_util), as intervals: rand_default is normal with scale 3. */
export const domains = {
  default: [-3, 3],
  small: [-1e-3, 1e-3],
  positive: [1, 3],
  // rand_not_small: values at least 3 away from 0 (sign drawn)
  notSmall: [3, 6],
} as const;
export type Domain = keyof typeof domains;

/** LAX_GRAD_OPS entries for ops gradc has (JAX name -> gradc op), with JAX's domains. */
export const laxGradOps: { jax: string; op: string; nargs: 1 | 2; domain: Domain }[] = [
  { jax: "lax.neg", op: "neg", nargs: 1, domain: "default" },
  { jax: "lax.exp", op: "exp", nargs: 1, domain: "small" },
  { jax: "lax.expm1", op: "expm1", nargs: 1, domain: "default" },
  { jax: "lax.log", op: "log", nargs: 1, domain: "positive" },
  { jax: "lax.log1p", op: "log1p", nargs: 1, domain: "positive" },
  { jax: "lax.tanh", op: "tanh", nargs: 1, domain: "default" },
  { jax: "lax.abs", op: "abs", nargs: 1, domain: "positive" },
  { jax: "lax.pow", op: "pow", nargs: 2, domain: "positive" },
  { jax: "lax.sqrt", op: "sqrt", nargs: 1, domain: "positive" },
  { jax: "lax.rsqrt", op: "rsqrt", nargs: 1, domain: "positive" },
  { jax: "lax.logistic", op: "sigmoid", nargs: 1, domain: "default" },
  { jax: "lax.add", op: "add", nargs: 2, domain: "default" },
  { jax: "lax.sub", op: "sub", nargs: 2, domain: "default" },
  { jax: "lax.mul", op: "mul", nargs: 2, domain: "default" },
  { jax: "lax.div", op: "div", nargs: 2, domain: "notSmall" },
  { jax: "lax.max", op: "maximum", nargs: 2, domain: "default" },
  { jax: "lax.min", op: "minimum", nargs: 2, domain: "default" },
];

/** `compatible_shapes`: each op runs on every shape, pairs of shapes within a group (broadcasting). */
export const compatibleShapes: number[][][] = [
  [[3]],
  [[], [3, 4], [3, 1], [1, 4]],
  [
    [2, 3, 4],
    [2, 1, 4],
  ],
];

/** LAX_GRAD_SPECIAL_VALUE_TESTS for ops gradc has. */
export const specialValues: { jax: string; op: string; values: number[] }[] = [{ jax: "lax.tanh", op: "tanh", values: [0, 1000] }];

/** testSliceGrad: shape, starts, limits, strides (null: 1). */
export const sliceSpecs: [number[], number[], number[], number[] | null][] = [
  [[3], [1], [2], null],
  [[7], [4], [7], null],
  [[5], [1], [5], [2]],
  [[8], [1], [6], [2]],
  [[5, 3], [1, 1], [3, 2], null],
  [[5, 3], [1, 1], [3, 1], null],
  [[7, 5, 3], [4, 0, 1], [7, 1, 3], null],
  [
    [5, 3],
    [1, 1],
    [2, 1],
    [1, 1],
  ],
  [
    [5, 3],
    [1, 1],
    [5, 3],
    [2, 1],
  ],
  [
    [3, 3, 5],
    [0, 2, 0],
    [3, 2, 5],
    [1, 2, 1],
  ],
];

/** testConcatenateGrad: base shapes, every axis, three operands of sizes 3, 1, 4 along it. */
export const concatBaseShapes: number[][] = [[4], [3, 4], [2, 3, 4]];

/** testDotGeneralContractAndBatchGrads: lhs, rhs shapes, ((lhs contract, rhs contract), (lhs batch, rhs batch)). */
export const dotGeneralSpecs: [number[], number[], [[number[], number[]], [number[], number[]]]][] = [
  [
    [3, 2],
    [2, 4],
    [
      [[1], [0]],
      [[], []],
    ],
  ],
  [
    [3, 5],
    [2, 5],
    [
      [[1], [1]],
      [[], []],
    ],
  ],
  [
    [5, 3],
    [5, 2],
    [
      [[0], [0]],
      [[], []],
    ],
  ],
  [
    [3, 3, 2],
    [3, 2, 4],
    [
      [[2], [1]],
      [[0], [0]],
    ],
  ],
  [
    [3, 5, 2],
    [2, 4, 5],
    [
      [[2], [0]],
      [[1], [2]],
    ],
  ],
  [
    [7, 3, 5, 2],
    [2, 2, 4, 5],
    [
      [[3], [0]],
      [[2], [3]],
    ],
  ],
];

/** testDotGrad: lax.dot of these shapes (matmul, with 1-D operands as vectors). */
export const dotShapes: { lhs: number[][]; rhs: number[][] } = { lhs: [[2], [3, 2]], rhs: [[2], [2, 4]] };

/** testReduceGrad with lax.max (rand_unique_int: distinct values): shape and reduced dims. */
export const reduceMaxSpecs: [number[], number[]][] = [
  [[3, 4, 5], [0]],
  [
    [3, 4, 5],
    [1, 2],
  ],
  [
    [3, 4, 5],
    [0, 2],
  ],
  [
    [3, 4, 5],
    [0, 1, 2],
  ],
  [[3, 1], [1]],
];

/** testClampGrad: operand x, low = x - 10, high = x + 10, each in the operand's place (shapes () and (2,3)). */
export const clampShapes: number[][] = [[], [2, 3]];

/** Tests with expected values. */
export const powValueTests = {
  // testPowSecondDerivative: the Hessian of pow at (x, y) = (4, 0) is ((0, 1/x), (1/x, log(x)^2))
  secondDerivative: {
    x: 4,
    y: 0,
    hessian: [
      [0, 1 / 4],
      [1 / 4, Math.log(4) ** 2],
    ],
  },
  // testPowIntPowerAtZero: grad(x ** n)(0., 0) = 0
  intPowerAtZero: { x: 0, n: 0, dx: 0 },
  // testPowIntPowerAtZero2: grad(sum(z ** [0, 1]))(3.14) = 1, and of z ** 0 + z
  intPowerAtZero2: { z: 3.14, dz: 1 },
  // "zero to the zero": jax.grad(lax.pow)(0., 0.) is NaN in JAX, with a TODO preferring 0; gradc gives 0
  // (d/dx is 0 where y = 0, docs/ops.md)
  zeroToTheZero: { x: 0, y: 0, dx: 0 },
};
