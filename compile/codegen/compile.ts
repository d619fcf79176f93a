// compile: schedule a graph into fused loop kernels, generate one JavaScript function per kernel
// (a closure created once over fixed buffers, sizes as constants), and run them.

import { bindInputs, checkKernelResult, type InputValue } from "../../core/evaluate.js";
import { checkGraph, checkRecord, plainRecord } from "../../core/args.js";
import { GradcError } from "../../core/errors.js";
import { numbering, printNode, type Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { allocate, Tensor, type Data } from "../../core/tensor.js";
import { describeNode, KernelNames, loopStageSource, type Names } from "./js/loops.js";
import { matmulSource, nativeBatched, nativeMatmul, wasmShare } from "./matmul.js";
import { wasmMatmul, wasmSimdSupported, type WasmMatmulSpec } from "./wasm/matmul.js";
import { loadsOf, Lowering, viewOf, type IsBuffer, type Term } from "./layout.js";
import { schedule, storeTerm, type LoopStage, type Schedule, type Stage, type Store } from "./schedule.js";
import { sweepsOf } from "./sweeps.js";
import { buildArena, type SimdStage } from "./wasm/arena.js";
import { simdLanes } from "./wasm/loops.js";
import type { Helper } from "./threads.js";
import { sizeOf } from "../../core/tensor.js";
import { graphSymbols } from "../../core/symbolic.js";
import { symbolicExecutable } from "./symbolic.js";

export interface CompileOptions {
  /**
   * Return outputs as views of the executable's own buffers, overwritten by the next `run`
   * (no copy). Default false: every run returns fresh tensors.
   */
  reuseOutputs?: boolean;
  /** Use WebAssembly SIMD for matmuls and loop stages when the engine supports it (default true). */
  wasm?: boolean;
  /**
   * Run matrix products with the native kernels when the addon is built and loaded (default true;
   * `GRADC_NATIVE=0` in the environment turns them off for the process). See compile/codegen/native/addon.ts.
   */
  native?: boolean;
  /**
   * Loop stages over at least this many elements run as WebAssembly SIMD (default SIMD_MIN,
   * 256). Tests set 1 so that small random graphs exercise the SIMD kernels.
   */
  simdMin?: number;
  /**
   * A helper thread (`helperThread()` from compile/codegen/worker-pool.js, Node only): matrix
   * products of at least THREAD_MIN_MACS multiply-adds split C's columns with it (the native
   * kernels split C with their own helper thread instead). Default none.
   */
  threads?: Helper;
}

/** Products smaller than this stay on one thread: the hand-off costs tens of microseconds. */
export const THREAD_MIN_MACS = 1 << 20;

export interface KernelInfo {
  /** The generated function's name: k0, k1, ... */
  name: string;
  /** The graph nodes whose computation this kernel holds (each node in the first kernel computing it). */
  nodes: Node[];
  /** The values it writes. */
  stores: Node[];
  /** Loop stages in it ("call" and "matmul" kernels have one). */
  stages: number;
  /** Passes over its data: matmuls, calls and the loop stages over its largest domain (compile/codegen/sweeps.ts). */
  sweeps: number;
  /** Bytes read and written per call, each buffer counted once per stage. */
  bytes: number;
  source: string;
}

export interface CompiledStats {
  kernels: number;
  sweeps: number;
  bytesPerCall: number;
  stages: number;
  /** Buffers the executable owns (after reuse by liveness) and their total size. */
  buffers: number;
  bufferBytes: number;
  fullSize: number;
}

export interface Executable {
  readonly graph: Graph;
  run(inputs: Readonly<Record<string, InputValue>>): Record<string, Tensor>;
  /**
   * An array `run` reads in place for input `name` (zero-copy input binding, as ONNX Runtime's
   * IOBinding): fill it, pass it (or a Tensor over it) as that input. Inputs that WebAssembly
   * stages read live in the executable's memory and are otherwise copied in at every run; this
   * array is that place, the same one at every call. A run given another array for the input
   * copies it over this one; executables are shared by equal graphs and options (compile's
   * cache), so a caller that holds it should fill it before each run.
   */
  inputArray(name: string): Data;
  readonly source: string;
  readonly stats: CompiledStats;
  readonly kernels: KernelInfo[];
}

/**
 * Recently compiled executables, least recently used first. Bounded by count and by buffer bytes
 * (an executable owns buffers as large as its data): a cache hung weakly on nodes would hold every
 * executable a synchronous loop compiled until the loop yields (see core/node.ts).
 */
const cache = new Map<string, Executable>();
const CACHE_ENTRIES = 64;
const CACHE_BYTES = 256 * 2 ** 20;
let cachedBytes = 0;

/**
 * Compile a graph to fused JavaScript kernels. Cached by the graph's nodes (hash-consed, so equal
 * graphs with equal shapes share an executable) and options.
 *
 *   const bwd = compile(optimize(vjp(zooGraph("batchnorm", [100, 500])).backward));
 *   const { dx, dgamma, dbeta } = bwd.run({ gamma, std, xhat, xc, dout });
 *   bwd.stats   // { kernels: 2, sweeps: 2, bytesPerCall: ... }
 */
export function compile(g: Graph, opts: CompileOptions = {}): Executable {
  checkGraph("compile", "the graph", g);
  checkRecord("compile", "options", opts);
  if (graphSymbols(g).length) return symbolicExecutable(g, (h) => compile(h, opts));
  const key = `${g.inputs.map((x) => x.id).join(",")}|${Object.entries(g.outputs).map(([k, v]) => `${JSON.stringify(k)}:${v.id}`).join(",")}|${opts.reuseOutputs ? 1 : 0}${opts.wasm === false ? 0 : 1}|${opts.simdMin ?? SIMD_MIN}|${opts.threads ? 2 : 1}|${opts.native === false ? 0 : 1}`;
  let exe = cache.get(key);
  if (exe) cache.delete(key);
  else {
    exe = build(g, opts);
    cachedBytes += exe.stats.bufferBytes;
  }
  cache.set(key, exe);
  for (const [k, old] of cache) {
    if (cache.size <= 1 || (cache.size <= CACHE_ENTRIES && cachedBytes <= CACHE_BYTES)) break;
    cache.delete(k);
    cachedBytes -= old.stats.bufferBytes;
  }
  return exe;
}

/**
 * Loop stages smaller than this stay JavaScript: a call into WebAssembly and the input copies
 * cost more than the lanes save. Measured on the batchnorm backward's default run (fresh
 * outputs, inputs copied in), SIMD time / JavaScript time at N*D = 64, 256, 1024, 4096: float32
 * 0.67, 0.71, 0.69, 0.35 (JavaScript rounds every op with Math.fround); float64 0.91, 0.87, 0.77,
 * 0.67. It was 4096, which left float32 1.3x slower than float64 below it.
 */
export const SIMD_MIN = 256;

type Run = (arrays: readonly Data[]) => void;
const bytesOf = (n: Node) => n.size * (n.dtype === "f32" ? 4 : 8);

function build(g: Graph, opts: CompileOptions): Executable {
  const sch = schedule(g);
  const isBuffer: IsBuffer = (n) => n.isInput || sch.buffers.has(n);
  const reuse = opts.reuseOutputs === true;
  const storage = planBuffers(sch, isBuffer, !reuse);
  // SIMD loop stages (wasm/loops.ts) and the one memory they share with every buffer (wasm/arena.ts)
  const simd = opts.wasm !== false && wasmSimdSupported() ? simdStages(sch, isBuffer, opts.simdMin ?? SIMD_MIN) : new Map<LoopStage, SimdStage & { low: Lowering }>();
  const simdList = [...simd.values()];
  const arenaInputs = [...new Set(simdList.flatMap((s) => loadsOf([...s.terms.values()]).map((l) => l.base).filter((n) => n.isInput)))];
  const arena = simdList.length ? buildArena(storage.arrays, (n) => storage.slot.get(n)!, arenaInputs, simdList) : null;
  if (arena) storage.arrays = arena.arrays;
  // Without reuseOutputs, each run allocates fresh arrays for the outputs and the kernels write
  // them directly (no copy afterwards). The kernels read those arrays from a holder object set
  // before the call, hoisted to locals at the top of the function (the hot loops index a local);
  // every other buffer stays a constant captured by the closure.
  // SIMD stages read and write the arena's views: an output they touch is copied out after the run
  const simdSlots = new Set(simdList.flatMap((s) => [...s.st.stores.map((x) => x.node), ...loadsOf([...s.terms.values()]).map((l) => l.base)].filter((n) => !n.isInput).map((n) => storage.slot.get(n)!)));
  const fresh = new Set<number>(reuse ? [] : storage.outputSlots.filter((j) => !arena || !simdSlots.has(j)));
  const holder: Record<string, Data> = {};
  for (const j of fresh) holder[`b${j}`] = storage.arrays[j];
  const arrayOf = (j: number): Data => (fresh.has(j) ? holder[`b${j}`] : storage.arrays[j]);
  const numbers = numbering(g);
  const inputIndex = new Map(g.inputs.map((x, i) => [x, i]));
  const names: Names = {
    buffer: (n) => (n.isInput ? `in${inputIndex.get(n)}` : `b${storage.slot.get(n)}`),
    label: (n) => (n.isInput ? `in${inputIndex.get(n)}` : numbers.get(n) ?? `%n${n.id}`),
  };
  const closed = storage.arrays.map((_, j) => j).filter((j) => !fresh.has(j));
  /** What kernels may close over, by name: buffers (b*) and, as they are made, WebAssembly and native kernels. */
  const closure = new Map<string, unknown>(closed.map((j) => [`b${j}`, storage.arrays[j]]));
  const hoist = new Map([...fresh].map((j) => [`b${j}`, `const b${j} = out.b${j}; // an output: a fresh array each run`]));
  const kernels: KernelInfo[] = [];
  const runs: Run[] = [];
  const claimed = new Set<Node>();
  /** Values other than buffers that kernels close over: WebAssembly matmul kernels. */
  const extras: { name: string; value: unknown }[] = [];
  const addExtra = (name: string, value: unknown) => {
    extras.push({ name, value });
    closure.set(name, value);
  };
  const simdIndex = new Map(simdList.map((s, i) => [s, i]));

  sch.kernels.forEach((stages, k) => {
    const name = `k${k}`;
    const ids = new KernelNames();
    const body: string[] = [];
    const nodes: Node[] = [];
    let bytes = 0;
    const claim = (n: Node) => {
      if (!n.isInput && !n.isConst && !claimed.has(n)) {
        claimed.add(n);
        nodes.push(n);
      }
    };
    const stores: Node[] = [];
    const isSweep = sweepsOf(stages);
    for (const [si, st] of stages.entries()) {
      const written = st.kind === "loop" ? st.stores.map((s) => s.node) : [st.node];
      stores.push(...written);
      body.push(`// ${stageTitle(st, isSweep[si])}`, ...written.map((n) => `//   ${describeNode(n, names)}`));
      if (st.kind === "call") {
        const batched = st.node.op === "matmul" && opts.native !== false ? nativeBatched(st.node) : null;
        runs.push(batched ? batchedKernel(st.node, batched, isBuffer, storage.slot, arrayOf, inputIndex) : callKernel(st.node, isBuffer, storage.slot, arrayOf, inputIndex, printNode(st.node, numbers)));
        body.push(batched ? `// (batched matmul ${names.label(st.node)}: native kernel, compile/codegen/native/addon.ts)` : `// (runs the reference kernel of op ${names.label(st.node)}: it has no codegen template)`);
        bytes += [...st.node.inputs, st.node].reduce((s, x) => s + bytesOf(x), 0);
        claim(st.node);
        continue;
      }
      if (st.kind === "matmul") {
        const [a, b] = st.node.inputs.map((x) => viewOf(x, isBuffer)!);
        for (const x of st.node.inputs) for (let y = x; !isBuffer(y); y = y.inputs[0]) claim(y);
        claim(st.node);
        const wasmOn = opts.wasm !== false && wasmSimdSupported();
        const [m, k] = st.node.inputs[0].shape;
        const big = m * k * st.node.shape[1] >= THREAD_MIN_MACS;
        const native = opts.native !== false ? nativeMatmul(st.node, a, b, wasmOn, big && opts.threads !== undefined) : null;
        if (native) {
          const [fn, plan] = [`g${extras.length}`, `q${extras.length}`];
          addExtra(fn, native.gemm);
          addExtra(plan, native.plan);
          body.push(`${fn}(${plan}, ${names.buffer(a.base)}, ${names.buffer(b.base)}, ${names.buffer(st.node)}); // native kernel (compile/codegen/native/addon.ts)`);
          bytes += bytesOf(a.base) + bytesOf(b.base) + bytesOf(st.node);
          continue;
        }
        const share = wasmOn ? wasmShare(st.node) : null;
        let wasm: { name: string; spec: WasmMatmulSpec } | undefined;
        if (share) {
          const spec = { ...share, sa: a.strides as [number, number], sb: b.strides as [number, number], aSize: a.base.size, bSize: b.base.size };
          wasm = { name: `w${extras.length}`, spec };
          addExtra(wasm.name, wasmMatmul(spec, big ? opts.threads : undefined));
        }
        body.push(...matmulSource(st.node, { a, b, aName: names.buffer(a.base), bName: names.buffer(b.base), cName: names.buffer(st.node) }, wasm));
        bytes += bytesOf(a.base) + bytesOf(b.base) + bytesOf(st.node);
        continue;
      }
      const lowered = arena ? simd.get(st) : undefined;
      const low = lowered?.low ?? new Lowering(isBuffer, st.domain);
      const terms: ReadonlyMap<Store, Term> = lowered?.terms ?? new Map<Store, Term>(st.stores.map((s) => [s, storeTerm(low, s)]));
      let lines: string[];
      if (lowered) {
        const fn = `s${extras.length}`;
        addExtra(fn, arena!.fns[simdIndex.get(lowered)!]);
        lines = [
          ...st.stores.filter((s) => s.kind === "reduce").map((s) => `${names.buffer(s.node)}.fill(${s.node.op === "max" ? "-Infinity" : "0"}); // ${names.label(s.node)}`),
          `${fn}(); // WebAssembly SIMD, ${lowered.lanes.dtype === "f32" ? "f32x4" : "f64x2"} lanes along the innermost axis`,
        ];
      } else lines = loopStageSource(st, low, terms, names, ids);
      body.push("{", ...lines.map((l) => "  " + l), "}");
      for (const s of st.stores) claim(s.node);
      for (const n of low.touched) claim(n);
      const read = new Set(loadsOf([...terms.values()]).map((l) => l.base));
      bytes += [...read].reduce((s, x) => s + bytesOf(x), 0) + st.stores.reduce((s, x) => s + bytesOf(x.node), 0);
    }
    const sweeps = isSweep.filter(Boolean).length;
    const head = `// kernel ${name}: ${stages.length} stage(s), ${sweeps} sweep(s), ${bytes} bytes`;
    if (stages[0].kind === "call") {
      kernels.push({ name, nodes, stores, stages: 1, sweeps, bytes, source: [head, ...body].join("\n") });
      return;
    }
    // hoist only the fresh outputs this kernel names (a deep model has hundreds of outputs)
    // and the inputs it reads, from the array of all of them (the hot loops index locals)
    const mentioned = [...new Set(body.join("\n").match(/\b(b|in)\d+\b/g))].sort((x, y) => x.localeCompare(y, "en", { numeric: true }));
    const reads = mentioned.filter((m) => m.startsWith("in") && Number(m.slice(2)) < g.inputs.length).map((m) => `const ${m} = ins[${m.slice(2)}];`);
    const hoisted = mentioned.flatMap((m) => hoist.get(m) ?? []);
    const source = [head, `function ${name}(ins) {`, ...[...reads, ...hoisted, ...body].map((l) => "  " + l), "}"].join("\n");
    let fn: (arrays: readonly Data[]) => void;
    // close over only what this kernel names: passing every buffer and extra to every kernel made
    // compiling a deep model quadratic (V8 parses each function's parameter list)
    const used = [...new Set(source.match(/\b[bgqsw]\d+\b/g))].filter((m) => closure.has(m));
    try {
      fn = new Function("out", ...used, `"use strict";\n${source}\nreturn ${name};`)(holder, ...used.map((m) => closure.get(m)));
    } catch (e) {
      throw new GradcError(`compile: generated kernel ${name} does not compile (${(e as Error).message}); an op's expr template may be broken:\n${source}`);
    }
    runs.push(fn);
    kernels.push({ name, nodes, stores, stages: stages.length, sweeps, bytes, source });
  });

  const source = [
    `// compiled by gradc: ${kernels.length} kernel(s); inputs ${g.inputs.map((x, i) => `in${i}: ${x.dtype}[${x.shape.join(",")}]`).join(", ")}`,
    ...storage.arrays.map((a, j) => `// b${j}: ${a instanceof Float32Array ? "f32" : "f64"}[${a.length}] holds ${storage.holders[j].map(names.label).join(", ")}`),
    ...kernels.map((k) => k.source),
  ].join("\n");
  const stats: CompiledStats = {
    kernels: kernels.length,
    sweeps: kernels.reduce((s, k) => s + k.sweeps, 0),
    bytesPerCall: kernels.reduce((s, k) => s + k.bytes, 0),
    stages: sch.stages.length,
    buffers: storage.arrays.length,
    bufferBytes: storage.arrays.reduce((s, a) => s + a.byteLength, 0),
    fullSize: sch.fullSize,
  };
  const outputs = Object.entries(g.outputs).map(([k, n]) => {
    const base = sch.aliases.get(n) ?? n;
    return { k, n, base };
  });
  const plainInputs = new Map<Node, Data>();
  return {
    graph: g,
    source,
    stats,
    kernels,
    inputArray(name) {
      const x = g.inputs.find((y) => y.name === name);
      if (!x) throw new GradcError(`compile(...).inputArray: no input "${name}": the graph takes ${g.inputNames.join(", ") || "no inputs"}`);
      // an input only JavaScript kernels read is read in place wherever it is: any array will do
      const placed = arena?.inputs.get(x) ?? plainInputs.get(x) ?? allocate(x.size, x.dtype);
      plainInputs.set(x, placed);
      return placed;
    },
    run(inputs) {
      const values = bindInputs(g, inputs, "compile(...).run");
      const arrays = g.inputs.map((x) => values.get(x)!.data);
      if (arena) {
        for (const [x, view] of arena.inputs) {
          const given = arrays[inputIndex.get(x)!];
          if (given !== view) view.set(given); // an inputArray is already in place
        }
      }
      for (const j of fresh) holder[`b${j}`] = named(storage.holders[j], () => allocate(storage.arrays[j].length, storage.arrays[j] instanceof Float32Array ? "f32" : "f64"));
      for (const r of runs) r(arrays);
      const result: [string, Tensor][] = [];
      const given = new Set<Data>();
      for (const { k, n, base } of outputs) {
        // an empty output viewed from a non-empty buffer (a broadcast of [1,1] to [5,0,1]) holds no values
        if (n.size === 0) {
          result.push([k, new Tensor(allocate(0, n.dtype), n.shape)]);
          continue;
        }
        const data = base.isInput ? arrays[inputIndex.get(base)!] : arrayOf(storage.slot.get(base)!);
        // an input returned as an output, or two outputs of one buffer: copies, so each is fresh
        const copy = !reuse && (base.isInput || given.has(data) || !fresh.has(storage.slot.get(base)!));
        result.push([k, new Tensor(copy ? data.slice() : data, n.shape)]);
        given.add(data);
      }
      // drop the references to the caller's arrays (the placeholders keep the holder's shape)
      for (const j of fresh) holder[`b${j}`] = storage.arrays[j];
      return plainRecord(result); // an output named "__proto__" is a key like any other
    },
  };
}

/** The loop stages that run as WebAssembly SIMD: large enough, and lowerable (simdLanes). */
function simdStages(sch: Schedule, isBuffer: IsBuffer, min: number): Map<LoopStage, SimdStage & { low: Lowering }> {
  const out = new Map<LoopStage, SimdStage & { low: Lowering }>();
  for (const st of sch.stages) {
    if (st.kind !== "loop" || sizeOf(st.domain) < min) continue;
    const low = new Lowering(isBuffer, st.domain);
    const terms = new Map<Store, Term>(st.stores.map((s) => [s, storeTerm(low, s)]));
    const lanes = simdLanes(st, terms);
    if (lanes) out.set(st, { st, terms, lanes, low });
  }
  return out;
}

function stageTitle(st: Stage, sweep: boolean): string {
  const full = sweep ? "sweep" : "small";
  if (st.kind !== "loop") return `${st.kind} ${st.node.dtype}[${st.node.inputs.map((x) => x.shape.join("x")).join(" @ ")}] (${full})`;
  const rows = st.rowwise ? `, rows over axes ${st.split}..${st.domain.length - 1}` : "";
  const phases = 1 + Math.max(0, ...st.stores.map((s) => s.phase));
  return `stage over [${st.domain.join(",")}]${rows}${phases > 1 ? `, ${phases} row phases` : ""} (${full})`;
}

interface Storage {
  arrays: Data[];
  slot: Map<Node, number>;
  holders: Node[][];
  /** Slots holding graph outputs (not aliases of inputs). */
  outputSlots: number[];
}

/**
 * Buffers by liveness: a buffer whose last reader ran in an earlier kernel is reused. With
 * `ownOutputs`, an output never takes over a freed buffer (it gets a fresh array each run, which
 * an earlier intermediate in the same slot would have to share).
 */
function planBuffers(sch: Schedule, isBuffer: IsBuffer, ownOutputs: boolean): Storage {
  const producedIn = new Map<Node, number>();
  const lastUse = new Map<Node, number>();
  sch.kernels.forEach((stages, k) => {
    for (const st of stages) {
      if (st.kind === "loop") {
        const low = new Lowering(isBuffer, st.domain);
        for (const s of st.stores) producedIn.set(s.node, k);
        for (const l of loadsOf(st.stores.map((s) => storeTerm(low, s)))) lastUse.set(l.base, k);
      } else {
        producedIn.set(st.node, k);
        for (const x of st.node.inputs) lastUse.set(viewOf(x, isBuffer)!.base, k);
      }
    }
  });
  const outs = new Set(Object.values(sch.graph.outputs).map((out) => sch.aliases.get(out) ?? out));
  for (const out of outs) lastUse.set(out, Infinity);
  const arrays: Data[] = [];
  const holders: Node[][] = [];
  const slot = new Map<Node, number>();
  const free: number[] = [];
  const live: { node: Node; slot: number }[] = [];
  const producedBy = sch.kernels.map((): Node[] => []);
  for (const [n, pk] of producedIn) producedBy[pk].push(n);
  sch.kernels.forEach((_, k) => {
    for (let i = live.length - 1; i >= 0; i--) {
      if ((lastUse.get(live[i].node) ?? producedIn.get(live[i].node)!) < k) {
        free.push(live[i].slot);
        live.splice(i, 1);
      }
    }
    for (const n of producedBy[k]) {
      let j = ownOutputs && outs.has(n) ? -1 : free.findIndex((s) => arrays[s].length === n.size && (arrays[s] instanceof Float32Array) === (n.dtype === "f32"));
      if (j >= 0) j = free.splice(j, 1)[0];
      else {
        j = arrays.length;
        arrays.push(named([n], () => allocate(n.size, n.dtype)));
        holders.push([]);
      }
      slot.set(n, j);
      holders[j].push(n);
      live.push({ node: n, slot: j });
    }
  });
  const outputSlots = [...new Set([...outs].filter((n) => slot.has(n)).map((n) => slot.get(n)!))];
  return { arrays, slot, holders, outputSlots };
}

function callKernel(node: Node, isBuffer: IsBuffer, slot: Map<Node, number>, arrayOf: (j: number) => Data, inputIndex: Map<Node, number>, text: string): Run {
  const views = node.inputs.map((x) => ({ x, base: viewOf(x, isBuffer)!.base }));
  const def = node.def;
  return (arrays) => {
    const out = arrayOf(slot.get(node)!);
    const ts = views.map(({ x, base }) => new Tensor(base.isInput ? arrays[inputIndex.get(base)!] : arrayOf(slot.get(base)!), x.shape));
    let r: Tensor;
    try {
      r = def.impl(ts, node.attrs, node);
    } catch (e) {
      // a kernel's complaint about its data (an index out of range) names the node, as evaluate's does
      if (e instanceof GradcError) throw e;
      throw new GradcError(`compile(...).run: ${node.op} failed: ${(e as Error).message}\n  at ${text}`);
    }
    checkKernelResult("compile(...).run", node, r);
    out.set(r.data);
  };
}

/** A batched matmul's native kernel over its operands' buffers (contiguous: the schedule makes a call's operands so). */
function batchedKernel(node: Node, k: { gemm: (plan: never, a: Data, b: Data, c: Data) => void; plan: unknown }, isBuffer: IsBuffer, slot: Map<Node, number>, arrayOf: (j: number) => Data, inputIndex: Map<Node, number>): Run {
  const [a, b] = node.inputs.map((x) => viewOf(x, isBuffer)!.base);
  const at = (base: Node, arrays: readonly Data[]) => (base.isInput ? arrays[inputIndex.get(base)!] : arrayOf(slot.get(base)!));
  const plan = k.plan as never;
  return (arrays) => k.gemm(plan, at(a, arrays), at(b, arrays), arrayOf(slot.get(node)!));
}

/** An allocation failure names the node(s) the buffer holds, not only its size. */
function named<T>(nodes: readonly Node[], make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof GradcError)) throw e;
    throw new GradcError(`${e.message}\n  for the buffer of ${nodes.map(String).join(", ")}`);
  }
}
