// Code generation for matmul: C[M,N] = A[M,K] @ B[K,N] with constant sizes and strides. Operands
// are strided views of buffers, so a transposed operand is read in place, never copied.
//   - B with unit stride along N: i-k-j order, four rows of B per pass over a row of C (the
//     row of C stays in cache and is loaded and stored a quarter as often);
//   - B with unit stride along K (B = W^T): each C[i,j] is a dot product of two contiguous rows,
//     two columns at a time with two partial sums each;
//   - anything else: a plain strided triple loop.

import type { Node } from "../core/node.js";
import { literal, type KernelNames } from "./codegen.js";
import type { View } from "./layout.js";

export interface MatmulOperands {
  a: View;
  b: View;
  /** Generated names of the operand buffers and the output. */
  aName: string;
  bName: string;
  cName: string;
}

/** Offset expression `base + i * s` with the multiplication left out when it is trivial. */
const at = (base: string, v: string, s: number): string => (s === 0 ? base : `${base} + ${s === 1 ? v : `${v} * ${literal(s)}`}`);

export function matmulSource(node: Node, ops: MatmulOperands, ids: KernelNames): string[] {
  const [m, k] = node.inputs[0].shape;
  const n = node.shape[1];
  const [sa0, sa1] = ops.a.strides;
  const [sb0, sb1] = ops.b.strides;
  const { aName: A, bName: B, cName: C } = ops;
  const L = literal;
  const r = ids.next("r");
  const lines: string[] = [];
  const f32 = node.dtype === "f32";
  if (sb1 === 1 || n === 1) {
    // i-k-j: C[i,:] += A[i,p] * B[p,:], four values of p at a time
    const k4 = k - (k % 4);
    lines.push(
      `${C}.fill(0);`,
      `for (let i = 0; i < ${L(m)}; i++) {`,
      `  const ${r} = i * ${L(n)};`,
      `  const ai = i * ${L(sa0)};`,
      `  for (let p = 0; p < ${L(k4)}; p += 4) {`,
      `    const x0 = ${A}[${at("ai", "p", sa1)}], x1 = ${A}[${at("ai", "(p + 1)", sa1)}], x2 = ${A}[${at("ai", "(p + 2)", sa1)}], x3 = ${A}[${at("ai", "(p + 3)", sa1)}];`,
      `    const q0 = p * ${L(sb0)}, q1 = q0 + ${L(sb0)}, q2 = q1 + ${L(sb0)}, q3 = q2 + ${L(sb0)};`,
      `    for (let j = 0; j < ${L(n)}; j++) {`,
      `      ${C}[${r} + j] += x0 * ${B}[${at("q0", "j", sb1)}] + x1 * ${B}[${at("q1", "j", sb1)}] + x2 * ${B}[${at("q2", "j", sb1)}] + x3 * ${B}[${at("q3", "j", sb1)}];`,
      `    }`,
      `  }`,
      `  for (let p = ${L(k4)}; p < ${L(k)}; p++) {`,
      `    const x0 = ${A}[${at("ai", "p", sa1)}];`,
      `    const q0 = p * ${L(sb0)};`,
      `    for (let j = 0; j < ${L(n)}; j++) ${C}[${r} + j] += x0 * ${B}[${at("q0", "j", sb1)}];`,
      `  }`,
      `}`,
    );
    return lines;
  }
  if (sa1 === 1 && sb0 === 1) {
    // dot products of contiguous rows: C[i,j] = sum_p A[i,p] * B^T[j,p], two columns at a time
    const n2 = n - (n % 2);
    const k2 = k - (k % 2);
    const dot = (j: string, s: string) => [
      `    let ${s}0 = 0, ${s}1 = 0;`,
      `    const bj${s} = ${j} * ${L(sb1)};`,
      `    for (let p = 0; p < ${L(k2)}; p += 2) {`,
      `      ${s}0 += ${A}[ai + p] * ${B}[bj${s} + p];`,
      `      ${s}1 += ${A}[ai + p + 1] * ${B}[bj${s} + p + 1];`,
      `    }`,
      ...(k2 < k ? [`    ${s}0 += ${A}[ai + ${L(k - 1)}] * ${B}[bj${s} + ${L(k - 1)}];`] : []),
    ];
    lines.push(
      `for (let i = 0; i < ${L(m)}; i++) {`,
      `  const ai = i * ${L(sa0)};`,
      `  const ${r} = i * ${L(n)};`,
      `  for (let j = 0; j < ${L(n2)}; j += 2) {`,
      `    let s0 = 0, s1 = 0, u0 = 0, u1 = 0;`,
      `    const bs = j * ${L(sb1)}, bu = bs + ${L(sb1)};`,
      `    for (let p = 0; p < ${L(k2)}; p += 2) {`,
      `      const a0 = ${A}[ai + p], a1 = ${A}[ai + p + 1];`,
      `      s0 += a0 * ${B}[bs + p]; s1 += a1 * ${B}[bs + p + 1];`,
      `      u0 += a0 * ${B}[bu + p]; u1 += a1 * ${B}[bu + p + 1];`,
      `    }`,
      ...(k2 < k ? [`    s0 += ${A}[ai + ${L(k - 1)}] * ${B}[bs + ${L(k - 1)}]; u0 += ${A}[ai + ${L(k - 1)}] * ${B}[bu + ${L(k - 1)}];`] : []),
      `    ${C}[${r} + j] = s0 + s1;`,
      `    ${C}[${r} + j + 1] = u0 + u1;`,
      `  }`,
      ...(n2 < n ? [`  {`, ...dot(L(n - 1), "s"), `    ${C}[${r} + ${L(n - 1)}] = s0 + s1;`, `  }`] : []),
      `}`,
    );
    return lines;
  }
  lines.push(
    `for (let i = 0; i < ${L(m)}; i++) {`,
    `  for (let j = 0; j < ${L(n)}; j++) {`,
    `    let s = 0;`,
    `    for (let p = 0; p < ${L(k)}; p++) s += ${A}[i * ${L(sa0)} + p * ${L(sa1)}] * ${B}[p * ${L(sb0)} + j * ${L(sb1)}];`,
    `    ${C}[i * ${L(n)} + j] = ${f32 ? "Math.fround(s)" : "s"};`,
    `  }`,
    `}`,
  );
  return lines;
}
