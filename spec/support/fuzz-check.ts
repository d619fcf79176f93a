// Checking a fuzz case: evaluate (the reference kernels, node by node) against compile, compile
// without WebAssembly, optimize, and optimize + compile. A mismatch is triaged: "ulp" when the
// reference graph holds a comparison whose operands are within a few ulps of a tie (less, equal,
// maximum, max, sign, abs at 0...), so that rounding differences may flip it; otherwise "real".

import { evaluate } from "../../core/evaluate.js";
import { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { strides, type Tensor } from "../../core/tensor.js";
import { compile } from "../../compile/codegen/compile.js";
import { optimize } from "../../compile/optimize/optimize.js";
import type { WalkCase } from "./fuzz-walk.js";

export type Variant = "compile" | "compile-nowasm" | "optimize" | "optimize+compile";

export interface Mismatch {
  seed: number;
  variant: Variant;
  kind: "real" | "ulp";
  /** What differs: output name, element, values; or the error the variant threw. */
  what: string;
}

/** Relative tolerance per dtype: compiled loops and rewritten sums round differently from evaluate. */
const TOL = { f64: 1e-9, f32: 2e-4 } as const;
/** Operands closer than this (relative) are a near tie: rounding may decide the comparison. */
const TIE = { f64: 1e-10, f32: 1e-5 } as const;

/** Run a case's variants against evaluate; the mismatches found. */
export function checkCase(c: WalkCase, variants: readonly Variant[] = ["compile", "compile-nowasm", "optimize", "optimize+compile"]): Mismatch[] {
  const ref = evaluate(c.graph, c.inputs);
  // an f64 output computed from f32 values (a cast) is as exact as float32
  const lowest = c.graph.nodes().some((n) => n.dtype === "f32") ? "f32" : "f64";
  const out: Mismatch[] = [];
  let optimized: Graph | undefined;
  const bigMatmul = c.graph.nodes().some((n) => n.op === "matmul" && n.rank === 2 && n.size * n.inputs[0].shape[1] >= 65536);
  for (const variant of variants) {
    if (variant === "compile-nowasm" && !bigMatmul) continue;
    let got: Record<string, Tensor>;
    try {
      if (variant === "compile") got = compile(c.graph).run(c.inputs);
      else if (variant === "compile-nowasm") got = compile(c.graph, { wasm: false }).run(c.inputs);
      else {
        optimized ??= optimize(c.graph);
        got = variant === "optimize" ? evaluate(optimized, c.inputs) : compile(optimized).run(c.inputs);
      }
    } catch (e) {
      out.push({ seed: c.seed, variant, kind: "real", what: `threw ${(e as Error).name}: ${(e as Error).message.split("\n")[0]}` });
      continue;
    }
    const diff = compareOutputs(ref, got, lowest);
    if (!diff) continue;
    const tie = nearTie(c, variant === "optimize" || variant === "optimize+compile" ? optimized! : c.graph);
    out.push({ seed: c.seed, variant, kind: tie ? "ulp" : "real", what: tie ? `${diff}; near tie: ${tie}` : diff });
  }
  return out;
}

/** The first output element that differs beyond tolerance, described; null if all agree. */
export function compareOutputs(ref: Record<string, Tensor>, got: Record<string, Tensor>, precision?: "f32" | "f64"): string | null {
  for (const [k, a] of Object.entries(ref)) {
    const b = Object.hasOwn(got, k) ? got[k] : undefined;
    if (!b) return `output ${k} missing`;
    if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) return `output ${k}: ${b.dtype}[${b.shape}] instead of ${a.dtype}[${a.shape}]`;
    const tol = TOL[precision ?? a.dtype];
    let scale = 1;
    for (const v of a.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < a.data.length; i++) {
      const x = a.data[i],
        y = b.data[i];
      if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
      const ok = Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= tol * (Math.max(Math.abs(x), Math.abs(y)) + scale);
      if (!ok) return `output ${k}[${i}]: evaluate ${x}, got ${y}`;
    }
  }
  return null;
}

const PAIRWISE = new Set(["less", "equal", "lessEqual", "notEqual", "greater", "greaterEqual", "maximum", "minimum"]);
const AT_ZERO = new Set(["sign", "abs"]);

/** A comparison of the graph whose operands (as evaluate computes them) are within a near tie; null if none. */
export function nearTie(c: WalkCase, g: Graph): string | null {
  const watched = g.nodes().filter((n) => PAIRWISE.has(n.op) || AT_ZERO.has(n.op) || n.op === "max");
  if (watched.length === 0) return null;
  const probes: Record<string, Node> = {};
  watched.forEach((n, k) => {
    n.inputs.forEach((x, j) => (probes[`n${k}_${j}`] = x));
    probes[`n${k}_out`] = n;
  });
  let v: Record<string, Tensor>;
  try {
    v = evaluate(new Graph(g.inputs, probes), c.inputs);
  } catch {
    return null;
  }
  for (let k = 0; k < watched.length; k++) {
    const n = watched[k];
    const tie = TIE[n.inputs[0].dtype];
    const a = v[`n${k}_0`].data;
    if (PAIRWISE.has(n.op)) {
      const b = v[`n${k}_1`].data;
      for (let i = 0; i < a.length; i++)
        if (a[i] !== b[i] && Math.abs(a[i] - b[i]) <= tie * Math.max(Math.abs(a[i]), Math.abs(b[i]))) return `${n.op} of ${a[i]} and ${b[i]}`;
    } else if (AT_ZERO.has(n.op)) {
      for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) <= tie) return `${n.op} of ${a[i]}`;
    } else {
      // max: an element within a tie of its group's maximum (the gradient splits ties)
      const m = v[`n${k}_out`].data;
      const x = n.inputs[0];
      const st = strides(n.shape).map((s, d) => (n.shape[d] === 1 && x.shape[d] !== 1 ? 0 : s));
      const xs = strides(x.shape);
      for (let i = 0; i < a.length; i++) {
        let off = 0;
        for (let d = 0; d < x.rank; d++) off += (Math.floor(i / xs[d]) % x.shape[d]) * st[d];
        const top = m[off];
        if (a[i] !== top && Math.abs(a[i] - top) <= tie * Math.abs(top)) return `max near ${top}: ${a[i]}`;
      }
    }
  }
  return null;
}
