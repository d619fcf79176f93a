// How optimize's time grows with the graph: chains of mixed elementwise ops and deep MLPs, their
// backward graphs at about 250 ... 4,000 nodes, and the traced run the viewer records. Prints one
// table and the growth exponent (least squares of log time on log nodes). A command, not a test:
//   npm run build && node dist/bench/optimize-scaling.js [--sizes 250,500,1000,2000,4000] [--trace 500,1000,2000]

import "../ops/index.js"; // registers the builtin primitives
import * as b from "../core/builder.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { trace } from "../core/trace.js";
import { grad } from "../compile/autodiff/reverse.js";
import { optimizeReport } from "../compile/optimize/optimize.js";
import { stats } from "../compile/optimize/stats.js";

const list = (name: string, fallback: number[]) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1].split(",").map(Number) : fallback;
};

/** A chain of `k` elementwise steps cycling through tanh, scaling, adding the input, sigmoid, squaring. */
export function elementwiseChain(k: number): Graph {
  const steps = [(h: Node) => b.tanh(h), (h: Node) => b.mul(h, 1.5), (h: Node, x: Node) => b.add(h, x), (h: Node) => b.sigmoid(h), (h: Node) => b.mul(h, h)];
  return trace({ x: [64] }, ({ x }) => {
    let h = x;
    for (let i = 0; i < k; i++) h = steps[i % steps.length](h, x);
    return b.sum(h);
  });
}

/** An MLP of `layers` tanh layers of width 16 on a batch of 8, squared-error loss. */
export function deepMlp(layers: number): Graph {
  const inputs: Record<string, number[]> = { x: [8, 16] };
  for (let i = 0; i < layers; i++) inputs[`W${i}`] = [16, 16];
  return trace(inputs, (p) => {
    let h = p.x;
    for (let i = 0; i < layers; i++) h = b.tanh(b.matmul(h, p[`W${i}`]));
    return b.sum(b.square(h));
  });
}

function time(g: Graph, traced: boolean): { ms: number; stop: string } {
  const t0 = performance.now();
  const r = optimizeReport(g, { trace: traced, timeLimitMs: 600_000 });
  return { ms: performance.now() - t0, stop: r.stop };
}

/** Exponent p of time ~ nodes^p by least squares on the logs. */
export function exponent(rows: [number, number][]): number {
  const xs = rows.map(([n]) => Math.log(n)),
    ys = rows.map(([, t]) => Math.log(t));
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length,
    my = ys.reduce((s, v) => s + v, 0) / ys.length;
  const num = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0),
    den = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return num / den;
}

const sizes = list("sizes", [250, 500, 1000, 2000, 4000]);
const families: [string, (n: number) => Graph][] = [
  // about 3 backward nodes per chain step, 9 per MLP layer (measured by stats below)
  ["elementwise chain, backward", (n) => grad(elementwiseChain(Math.round(n / 3)))],
  ["MLP, backward", (n) => grad(deepMlp(Math.round(n / 9)))],
];
for (const [name, make] of families) {
  const rows: [number, number][] = [];
  console.log(`\n${name}\n| nodes | optimize ms | stop |\n|---:|---:|---|`);
  for (const n of sizes) {
    const g = make(n);
    const nodes = stats(g).nodes;
    const { ms, stop } = time(g, false);
    rows.push([nodes, ms]);
    console.log(`| ${nodes} | ${ms.toFixed(0)} | ${stop} |`);
  }
  console.log(`growth exponent (${rows[0][0]}..${rows[rows.length - 1][0]} nodes): ${exponent(rows).toFixed(2)}`);
}
console.log("\nelementwise chain of 1,000 ops (forward), and a 256-layer MLP's backward");
for (const [name, g] of [
  ["chain 1,000 ops", elementwiseChain(1000)],
  ["MLP 256 layers, backward", grad(deepMlp(256))],
] as const) {
  const { ms, stop } = time(g, false);
  console.log(`| ${name} | ${stats(g).nodes} nodes | ${ms.toFixed(0)} ms | ${stop} |`);
}
console.log("\ntraced (the viewer's recording)\n| nodes | ms | stop |\n|---:|---:|---|");
for (const n of list("trace", [500, 1000, 2000])) {
  const g = grad(elementwiseChain(Math.round(n / 3)));
  const { ms, stop } = time(g, true);
  console.log(`| ${stats(g).nodes} | ${ms.toFixed(0)} | ${stop} |`);
}
