// erf, the Gauss error function, as an elementwise primitive, and GELU (exact and tanh forms) as
// composites of it. JavaScript has no Math.erf, so erf is gradc's own piecewise approximation:
//   |x| < 1:       erf(x) = x * S(2x^2 - 1)
//   1 <= |x| < 6:  erf(x) = sign(x) * (1 - exp(-x^2) * R(x)), R = erfc(x) exp(x^2) on [1,2), [2,3.5), [3.5,6)
//   |x| >= 6:      erf(x) = sign(x) (erfc(6) = 2.2e-17 is below half an ulp of 1)
// S and each R are Chebyshev fits (mpmath 1.3, mp.dps = 50: `mpmath.chebyfit(f, [-1, 1], n)` of
// the function on the piece mapped to [-1, 1]; degrees 12, 14, 14, 13). exp(-x^2) is computed as
// exp(-h^2) exp(-(x - h)(x + h)) with h = fround(x), whose square is exact, so x^2's rounding does
// not cost digits. Measured against mpmath at 40 digits on 806 points in (-6, 6): at most 1 ulp
// (spec/special-ops.test.ts holds it to 2 ulps).
// The same source is the scalar function and the codegen template, so compiled code and evaluate
// agree bit for bit.

import * as b from "../core/builder.js";
import type { Node, Operand } from "../core/node.js";
import { scope } from "../core/node.js";
import type { OpDef } from "../core/registry.js";
import { elementwise } from "./elementwise.js";
import { erfF64, nativeOr } from "./onnx-special.js";
import { unary } from "./samples.js";

export const SMALL = [
  1.4543887079465116e-14, -3.8078824063194953e-13, 9.167619596865806e-12, -2.035228405815769e-10, 4.115800583208149e-9, -7.511569286591727e-8,
  1.223382738359897e-6, -1.7537169441124866e-5, 0.00021751715604159932, -0.0022854855611441132, 0.019852496688983708, -0.1405360890227171, 0.9654687386698673,
];
export const PIECES: readonly (readonly [number, number, number, readonly number[]])[] = [
  [
    2,
    1.5,
    0.5,
    [
      1.0959125834917356e-11, -7.82387288116605e-11, 5.035188106062916e-10, -3.3974388960810998e-9, 2.2329284968957516e-8, -1.4191835155198762e-7,
      8.723041191564489e-7, -5.171326018931894e-6, 2.9470857527439053e-5, -0.00016081117392689626, 0.0008360838095598245, -0.004116363162394126,
      0.019037759963869534, -0.08181145886628141, 0.3215854164543175,
    ],
  ],
  [
    3.5,
    2.75,
    0.75,
    [
      3.2196177708426666e-11, -1.9033868588167902e-10, 9.837758249161545e-10, -5.5719576200679765e-9, 3.108741481603338e-8, -1.6876607146353643e-7,
      8.950235548552142e-7, -4.631695917758772e-6, 2.334754245726159e-5, -0.00011442715592553891, 0.0005440864558624406, -0.0025035488001132916,
      0.011114208555369912, -0.04742822817048103, 0.1936620962790687,
    ],
  ],
  [
    6,
    4.75,
    1.25,
    [
      -6.615970638060996e-10, 3.143975930092408e-9, -1.244920350623496e-8, 5.7493480936926216e-8, -2.6530056804428126e-7, 1.1942782085034506e-6,
      -5.300335631658653e-6, 2.3197454084069304e-5, -0.00010002375154417127, 0.000424629674811753, -0.001773630657922528, 0.007283322449873491,
      -0.029379310747707395, 0.1163027072102641,
    ],
  ],
];

/** Horner's rule as source: ((c0 u + c1) u + c2) ... (numbers print as literals that read back exactly). */
const horner = (c: readonly number[], u: string): string => c.slice(1).reduce((s, k) => `(${s} * ${u} + ${k})`, String(c[0]));

/** The function body over x: one source for the reference kernel and the codegen template. */
const ERF_BODY = [
  "const a = Math.abs(x);",
  `if (a < 1) return x * ${horner(SMALL, "(2 * a * a - 1)")};`,
  "if (!(a < 6)) return a === a ? Math.sign(x) : x;",
  "const h = Math.fround(a), l = a - h;",
  "const e = Math.exp(-h * h) * Math.exp(-l * (a + h));",
  `const r = ${PIECES.reduceRight((rest, [hi, mid, half, c]) => `a < ${hi} ? ${horner(c, `((a - ${mid}) / ${half})`)} : ${rest}`, "0")};`,
  "return Math.sign(x) * (1 - e * r);",
].join(" ");

/** erf as a plain function (what `evaluate` computes). */
export const erfScalar = new Function("x", `"use strict"; ${ERF_BODY}`) as (x: number) => number;

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** d erf / dx = 2/sqrt(pi) exp(-x^2). */
const dErf = (x: Node): Node => b.mul(b.exp(b.neg(b.square(x))), TWO_OVER_SQRT_PI);

export const erfOps: OpDef[] = [
  {
    ...elementwise({
      name: "erf",
      arity: 1,
      tags: ["costly"],
      scalar: erfScalar,
      expr: ([x]) => `((x) => { ${ERF_BODY} })(${x})`,
      vjp: (g, [x]) => [b.mul(g, dErf(x))],
    }),
    jvp: ([t], [x]) => (t ? b.mul(t, dErf(x)) : null),
    onnx: nativeOr("Erf", (e, x) => erfF64(e, x, SMALL, PIECES)),
    sample: unary(-3, 3),
  },
];

/** The Gauss error function, elementwise. */
export const erf = b.erf;

/** GELU, exact: x/2 (1 + erf(x / sqrt 2)) (PyTorch's gelu, approximate="none"). */
export function gelu(x: Operand): Node {
  return scope("gelu", () => {
    const v = b.asNode("gelu", x);
    return b.mul(b.mul(v, 0.5), b.add(erf(b.mul(v, Math.SQRT1_2)), 1));
  });
}

/** GELU, tanh form: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (PyTorch's approximate="tanh"). */
export function geluTanh(x: Operand): Node {
  return scope("geluTanh", () => {
    const v = b.asNode("geluTanh", x);
    const inner = b.mul(b.add(v, b.mul(b.mul(b.square(v), v), 0.044715)), Math.sqrt(2 / Math.PI));
    return b.mul(b.mul(v, 0.5), b.add(b.tanh(inner), 1));
  });
}
