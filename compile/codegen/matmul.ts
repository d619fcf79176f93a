// Code generation for matmul (to the native kernels of native/addon.ts when the addon is loaded, else main blocks go to wasm/matmul.ts when the engine has SIMD): C[M,N] = A[M,K] @ B[K,N] with constant sizes and strides. Operands
// are strided views of buffers, so a transposed operand (W^T, x^T) is read in place, never copied.
//
// The kernel computes C in 4x4 register tiles: sixteen accumulators held in locals while p runs
// over K, eight loads per sixteen multiply-adds. Measured on this machine for 50x3072 @ 3072x100:
// i-k-j with K unrolled by 4 ran at 3.8 GFLOP/s, 4x4 tiles at 6.1 GFLOP/s (2x2: 5.2, 1x4: 4.0).
// Long K is cut into chunks (K-blocking), the partial sums passing through C. Each C[i,j] is
// summed over p in increasing order from zero, as the interpreter does, so f64
// results equal `evaluate`'s bit for bit; in f32 each partial sum is rounded as the interpreter's
// Float32Array store rounds it.

import type { Node } from "../../core/node.js";
import { literal } from "./js/loops.js";
import { batchStride, type View } from "./layout.js";
import { packing, tileCols, type WasmMatmulSpec } from "./wasm/matmul.js";
import { nativeKernels, type NativeKernels, type NativePlan } from "./native/addon.js";

export interface MatmulOperands {
  a: View;
  b: View;
  /** Generated names of the operand buffers and the output. */
  aName: string;
  bName: string;
  cName: string;
}

const TILE = 4;
/** K is cut into chunks whose panel of B (chunk x N) stays in L2 while all rows of A pass over it. */
const PANEL_BYTES = 200 * 1024;

/** The K-chunk length: measured at 50x3072 @ 3072x100, chunks of 256 ran 1.5x faster than none. */
function chunkOf(k: number, n: number): number {
  const kc = Math.max(64, Math.floor(PANEL_BYTES / (8 * Math.max(n, 1)) / 8) * 8);
  return kc >= k ? k : kc;
}

/** The WebAssembly kernel's spec for a matmul (it computes all of C), or null to stay in JavaScript. */
export function wasmShare(node: Node): WasmMatmulSpec | null {
  const [m, k] = node.inputs[0].shape;
  const n = node.shape[1];
  const cols = tileCols(node.dtype);
  const m4 = m - (m % TILE),
    n4 = Math.ceil(n / cols) * cols;
  // worth the copies in and out from about 64k multiply-adds (float32 from 16k: its JavaScript
  // rounds every step with Math.fround, 3-4x slower than float64's)
  if (node.dtype === "f32" ? !f32Fast(m, k, n) : n < cols || m * n * k < 65536) return null;
  return { dtype: node.dtype, m, k, n, m4, n4, kc: chunkOf(k, n), sa: [0, 0], sb: [0, 0], aSize: node.inputs[0].size, bSize: node.inputs[1].size };
}

/**
 * The native kernel's plan for a matmul, or null to stay in WebAssembly / JavaScript. float64
 * products of every size go native (bit for bit the same as every other path); float32 ones only
 * where the WebAssembly kernel would run (`wasm` on and `wasmShare`), whose bits the native kernel
 * reproduces: the JavaScript path rounds like the interpreter and stays where it is used today.
 * With `split` the addon's own helper thread computes half of C (compile's `threads` option).
 */
export function nativeMatmul(node: Node, a: View, b: View, wasm: boolean, split: boolean): { gemm: NativeKernels["gemm"]; plan: NativePlan } | null {
  const nk = nativeKernels();
  if (!nk || (node.dtype === "f32" && !(wasm && wasmShare(node)))) return null;
  const [m, k] = node.inputs[0].shape;
  const n = node.shape[1];
  return { gemm: nk.gemm, plan: nk.plan(node.dtype === "f32", m, k, n, a.strides[0], a.strides[1], b.strides[0], b.strides[1], split, 1, 0, 0) };
}

/**
 * Whether a float32 product of this size goes to the fast kernels (WebAssembly or native), whose
 * rounding (the product, then the sum) differs from the interpreter's; smaller ones stay in
 * JavaScript, which rounds as the interpreter does. The same rule for plain and batched products.
 */
export function f32Fast(m: number, k: number, n: number): boolean {
  return n >= tileCols("f32") && m * n * k >= 16384;
}

/**
 * A batched matmul (rank > 2, a "call" stage) in the native kernels: operands read through their
 * views (a transposed operand, a batch broadcast from one matrix: stride 0), each batch axis
 * collapsed to one step (the schedule copies an operand whose batch axes do not collapse).
 * float64 of every size; float32 under the same rule as a plain product (`f32Fast`, wasm on).
 */
export function nativeBatched(node: Node, views: readonly View[], wasm: boolean): { gemm: NativeKernels["gemm"]; plan: NativePlan } | null {
  const nk = nativeKernels();
  const r = node.rank;
  const [m, k] = node.inputs[0].shape.slice(r - 2);
  const n = node.shape[r - 1];
  if (!nk || (node.dtype === "f32" && !(wasm && f32Fast(m, k, n)))) return null;
  const [a, b] = views;
  const sab = batchStride(a, node.inputs[0].shape),
    sbb = batchStride(b, node.inputs[1].shape);
  if (sab === null || sbb === null) return null;
  const batch = node.shape.slice(0, r - 2).reduce((p, s) => p * s, 1);
  return {
    gemm: nk.gemm,
    plan: nk.plan(node.dtype === "f32", m, k, n, a.strides[r - 2], a.strides[r - 1], b.strides[r - 2], b.strides[r - 1], false, batch, sab, sbb),
  };
}

/**
 * The matmul's JavaScript. With `wasm` (the generated name of a kernel from wasm/matmul.ts), the
 * JavaScript computes only the edges and the WebAssembly kernel the 4x4-divisible main block.
 */
export function matmulSource(node: Node, ops: MatmulOperands, wasm?: { name: string; spec: WasmMatmulSpec }): string[] {
  const [m, k] = node.inputs[0].shape;
  const n = node.shape[1];
  const m4 = m - (m % TILE),
    n4 = n - (n % TILE);
  const kc = chunkOf(k, n);
  const lines: string[] = [];
  if (kc < k) {
    // partial sums go through C between chunks, continuing the same sequence of additions
    lines.push(
      `${ops.cName}.fill(0);`,
      `for (let p0 = 0; p0 < ${literal(k)}; p0 += ${literal(kc)}) {`,
      `  const p1 = Math.min(p0 + ${literal(kc)}, ${literal(k)});`,
    );
  }
  const body: string[] = [];
  // the tiled body, then the leftover columns, rows and corner with smaller tiles
  const regions: [number, number, number, number, number, number][] = [
    [0, m4, TILE, 0, n4, TILE],
    [0, m4, TILE, n4, n, n - n4],
    [m4, m, m - m4, 0, n4, TILE],
    [m4, m, m - m4, n4, n, n - n4],
  ];
  // the WebAssembly kernel computes all of C
  for (const [i0, i1, tr, j0, j1, tc] of wasm ? [] : regions) {
    if (i1 > i0 && j1 > j0) body.push(...tile(node, ops, kc < k, k, n, i0, i1, tr, j0, j1, tc));
  }
  if (body.length === 0) lines.length = 0;
  else if (kc < k) lines.push(...body.map((l) => "  " + l), "}");
  else lines.push(...body);
  if (wasm) {
    const { name: w } = wasm;
    const C = ops.cName;
    const pk = packing(wasm.spec);
    const nw = wasm.spec.n4;
    lines.push(
      `// C: WebAssembly SIMD kernel ${w} (${node.dtype === "f32" ? "f32x4 accumulators, 4x8" : "f64x2 accumulators, 4x4"} tiles${kc < k ? `, K in chunks of ${kc}` : ""})`,
      // with K in one chunk the kernel starts its accumulators at zero: C needs no zeroing
      ...(pk.rawA
        ? [`${w}.raw.set(${ops.aName}); ${w}.pack(); // A = x.T: x copied in, packed by the module`]
        : copyIn(`${w}.a`, ops.aName, pk.a, m, k, wasm.spec.sa[0], wasm.spec.sa[1], TILE)),
      ...copyIn(`${w}.b`, ops.bName, pk.b, n, k, wasm.spec.sb[1], wasm.spec.sb[0], tileCols(node.dtype)),
      // with K in one chunk the kernel starts its accumulators at zero: C needs no zeroing
      `${kc < k ? `${w}.c.fill(0); ` : ""}${w}.run();`,
      // C's rows are nw wide in the kernel's memory (padded to whole tiles)
      nw === n
        ? `${C}.set(${w}.c.subarray(0, ${literal(m * n)}));`
        : `for (let i = 0; i < ${literal(m)}; i++) ${C}.set(${w}.c.subarray(i * ${literal(nw)}, i * ${literal(nw)} + ${literal(n)}), i * ${literal(n)});`,
    );
  }
  return lines;
}

/**
 * Copy an operand into the kernel's memory: as is, or packed (see wasm/matmul.ts's `packing`) in
 * panels of w along `rows` (sRow apart), each step of p (sP apart) giving w adjacent values. The
 * loop nest walks the source in its memory order.
 */
function copyIn(dst: string, src: string, packed: boolean, rows: number, k: number, sRow: number, sP: number, w: number): string[] {
  if (!packed) return [`${dst}.set(${src});`];
  const L = literal;
  const cells = (h: number) => Array.from({ length: h }, (_, r) => `d[o + ${r}] = ${src}[s${r ? ` + ${L(r * sRow)}` : ""}];`).join(" ");
  const rowsOuter = Math.abs(sRow) >= Math.abs(sP);
  const rowsW = rows - (rows % w);
  const out = [
    `{ // ${dst}: packed in panels of ${w}`,
    `  const d = ${dst};`,
    rowsOuter
      ? `  for (let r = 0; r < ${L(rowsW)}; r += ${w}) for (let p = 0; p < ${L(k)}; p++) {`
      : `  for (let p = 0; p < ${L(k)}; p++) for (let r = 0; r < ${L(rowsW)}; r += ${w}) {`,
    `    const s = r * ${L(sRow)} + p * ${L(sP)}, o = r * ${L(k)} + p * ${w};`,
    `    ${cells(w)}`,
    `  }`,
  ];
  if (rows > rowsW) {
    // the last rows % w rows: a panel of its own, partly filled
    out.push(
      `  for (let p = 0; p < ${L(k)}; p++) {`,
      `    const s = ${L(rowsW * sRow)} + p * ${L(sP)}, o = ${L(rowsW * k)} + p * ${w};`,
      `    ${cells(rows % w)}`,
      `  }`,
    );
  }
  return [...out, `}`];
}

/** One region of C computed in tr x tc tiles (locals never look like buffer names b3, in0). */
function tile(
  node: Node,
  ops: MatmulOperands,
  chunked: boolean,
  k: number,
  n: number,
  i0: number,
  i1: number,
  tr: number,
  j0: number,
  j1: number,
  tc: number,
): string[] {
  const L = literal;
  const [sa0, sa1] = ops.a.strides;
  const [sb0, sb1] = ops.b.strides;
  const { aName: A, bName: B, cName: C } = ops;
  const rows = Array.from({ length: tr }, (_, r) => r);
  const cols = Array.from({ length: tc }, (_, c) => c);
  const step = (base: string, v: string, s: number) => (s === 0 ? base : `${base} + ${s === 1 ? v : `${v} * ${L(s)}`}`);
  const fma = node.dtype === "f32" ? (acc: string, e: string) => `${acc} = Math.fround(${acc} + ${e});` : (acc: string, e: string) => `${acc} += ${e};`;
  const out: string[] = [];
  out.push(`// C[${i0}:${i1}, ${j0}:${j1}] in ${tr}x${tc} tiles`);
  out.push(`for (let i = ${L(i0)}; i < ${L(i1)}; i += ${L(tr)}) {`);
  for (const r of rows) out.push(`  const ar${r} = ${r ? `(i + ${r})` : "i"} * ${L(sa0)};`);
  out.push(`  for (let j = ${L(j0)}; j < ${L(j1)}; j += ${L(tc)}) {`);
  for (const c of cols) out.push(`    const bc${c} = ${c ? `(j + ${c})` : "j"} * ${L(sb1)};`);
  const rowOf = (r: number) => `${r ? `(i + ${r})` : "i"} * ${L(n)} + j`;
  const cell = (r: number, c: number) => `${C}[${rowOf(r)}${c ? ` + ${c}` : ""}]`;
  for (const r of rows) out.push(`    let ${cols.map((c) => `s${r}${c} = ${chunked ? cell(r, c) : "0"}`).join(", ")};`);
  out.push(chunked ? `    for (let p = p0; p < p1; p++) {` : `    for (let p = 0; p < ${L(k)}; p++) {`);
  for (const r of rows) out.push(`      const x${r} = ${A}[${step(`ar${r}`, "p", sa1)}];`);
  for (const c of cols) out.push(`      const y${c} = ${B}[${step(`bc${c}`, "p", sb0)}];`);
  for (const r of rows) out.push(`      ${cols.map((c) => fma(`s${r}${c}`, `x${r} * y${c}`)).join(" ")}`);
  out.push(`    }`);
  for (const r of rows) out.push(`    ${cols.map((c) => `${cell(r, c)} = s${r}${c};`).join(" ")}`);
  out.push(`  }`, `}`);
  return out;
}
