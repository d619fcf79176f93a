// compile: schedule a graph into fused loop kernels, generate one JavaScript function per kernel
// (a closure created once over fixed buffers, sizes as constants), and run them.

import { bindInputs, type InputValue } from "../../core/evaluate.js";
import { checkGraph, checkRecord, plainRecord } from "../../core/args.js";
import { GradcError } from "../../core/errors.js";
import { numbering, printNode, type Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { allocate, MAX_ELEMENTS, Tensor, type Data } from "../../core/tensor.js";
import { graphSymbols } from "../../core/symbolic.js";
import { assignBackends, BACKENDS, type Backend, type KernelBuilder, type Lower, type Run } from "./backend.js";
import { named, planBuffers, type Buffers } from "./buffers.js";
import { describeNode, KernelNames, type Names } from "./js/loops.js";
import { loadsOf, type IsBuffer } from "./layout.js";
import { configKey, resolveOptions, type CompileConfig, type CompileOptions } from "./options.js";
import { copyOf, outputAllocator } from "./outputs.js";
import { planStages, type PlannedStage } from "./plan.js";
import { schedule, type Schedule, type Stage } from "./schedule.js";
import { sweepsOf } from "./sweeps.js";
import { symbolicExecutable } from "./symbolic.js";

export { SIMD_MIN, THREAD_MIN_MACS, type CompileOptions } from "./options.js";

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
  const config = resolveOptions(opts);
  const key = `${g.inputs.map((x) => x.id).join(",")}|${Object.entries(g.outputs)
    .map(([k, v]) => `${JSON.stringify(k)}:${v.id}`)
    .join(",")}|${configKey(config)}`;
  let exe = cache.get(key);
  if (exe) cache.delete(key);
  else {
    exe = build(g, config);
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

const bytesOf = (n: Node) => n.size * (n.dtype === "f32" ? 4 : 8);

/**
 * Compile with another table of backends, uncached: how a new backend is tried before it joins
 * BACKENDS (docs/compiler.md, "Adding a backend"). The table must end with one that takes every
 * stage (the JavaScript backend does).
 *
 *   const exe = compileWith(g, {}, [myBackend, ...BACKENDS]);
 */
export function compileWith(g: Graph, opts: CompileOptions, backends: readonly Backend[]): Executable {
  checkGraph("compileWith", "the graph", g);
  checkRecord("compileWith", "options", opts);
  if (graphSymbols(g).length) return symbolicExecutable(g, (h) => compileWith(h, opts, backends));
  return build(g, resolveOptions(opts), backends);
}

/** Schedule; lower each stage once; plan the buffers; let the backends take, bind and lower the stages. */
function build(g: Graph, config: CompileConfig, backends: readonly Backend[] = BACKENDS): Executable {
  checkSizes(g);
  const sch = schedule(g);
  const isBuffer: IsBuffer = (n) => n.isInput || sch.buffers.has(n);
  const plan = planStages(sch, isBuffer);
  const buffers = planBuffers(sch, plan, isBuffer, !config.reuseOutputs);
  const lowers = assignBackends(plan, buffers, config, backends);
  const frame = new Frame(g, buffers, config);
  const kernels = plan.map((stages, k) => buildKernel(`k${k}`, stages, lowers, frame));
  return executable(g, sch, frame, kernels);
}

/**
 * Every node within the elements evaluate can hold: a broadcast fused into a sum is never
 * allocated, but its loop is as long as its size (broadcastTo([1e12]).sum() would run 1e12
 * iterations where evaluate refuses the allocation).
 */
function checkSizes(g: Graph): void {
  for (const n of g.nodes()) {
    if (n.size <= MAX_ELEMENTS) continue;
    throw new GradcError(
      `compile: a node of ${n.size} elements, more than a tensor can hold (${MAX_ELEMENTS}; evaluate cannot allocate it either)\n  at ${printNode(n, numbering(g))}`,
    );
  }
}

/**
 * What the kernels of one executable share. Without reuseOutputs, each run allocates fresh arrays
 * for the outputs and the kernels write them directly (no copy afterwards). The kernels read those
 * arrays from a holder object set before the call, hoisted to locals at the top of the function
 * (the hot loops index a local); every other buffer stays a constant captured by the closure. A
 * slot a backend pinned (the WebAssembly memory) keeps its array: an output there is copied out.
 */
class Frame {
  readonly reuse: boolean;
  readonly fresh: Set<number>;
  readonly holder: Record<string, Data> = {};
  readonly numbers: Map<Node, string>;
  readonly inputIndex: Map<Node, number>;
  readonly names: Names;
  /** The line that hoists a fresh output's array to a local, by buffer name. */
  readonly hoist: Map<string, string>;
  /** Kernels and call stages, in order. */
  readonly runs: Run[] = [];
  /** Values other than buffers that kernels close over (WebAssembly and native kernels), one list for the executable. */
  private readonly extras: { name: string; value: unknown }[] = [];
  private readonly claimed = new Set<Node>();
  /** What kernels may close over, by name: buffers (b*) and, as they are made, the backends' kernel values. */
  private readonly closure: Map<string, unknown>;

  constructor(
    readonly graph: Graph,
    readonly buffers: Buffers,
    readonly config: CompileConfig,
  ) {
    this.reuse = config.reuseOutputs;
    this.fresh = new Set<number>(this.reuse ? [] : buffers.outputSlots.filter((j) => !buffers.pinned.has(j)));
    for (const j of this.fresh) this.holder[`b${j}`] = buffers.arrays[j];
    this.numbers = numbering(graph);
    this.inputIndex = new Map(graph.inputs.map((x, i) => [x, i]));
    this.names = {
      buffer: (n) => (n.isInput ? `in${this.inputIndex.get(n)}` : `b${buffers.slot.get(n)}`),
      label: (n) => (n.isInput ? `in${this.inputIndex.get(n)}` : (this.numbers.get(n) ?? `%n${n.id}`)),
    };
    const closed = buffers.arrays.map((_, j) => j).filter((j) => !this.fresh.has(j));
    this.closure = new Map<string, unknown>(closed.map((j) => [`b${j}`, buffers.arrays[j]]));
    this.hoist = new Map([...this.fresh].map((j) => [`b${j}`, `const b${j} = out.b${j}; // an output: a fresh array each run`]));
  }

  /** The array of slot j as the kernels see it during a run. */
  readonly arrayOf = (j: number): Data => (this.fresh.has(j) ? this.holder[`b${j}`] : this.buffers.arrays[j]);

  closeOver(values: readonly [string, unknown][]): string[] {
    const at = this.extras.length;
    const names = values.map(([prefix]) => `${prefix}${at}`);
    values.forEach(([, value], i) => {
      this.extras.push({ name: names[i], value });
      this.closure.set(names[i], value);
    });
    return names;
  }

  /** Record n as computed by the kernel whose node list is `into`, unless an earlier kernel did. */
  claim(n: Node, into: Node[]): void {
    if (!n.isInput && !n.isConst && !this.claimed.has(n)) {
      this.claimed.add(n);
      into.push(n);
    }
  }

  /**
   * The kernel function: it reads the inputs it names from the array of all of them and hoists
   * only the fresh outputs it names (a deep model has hundreds of outputs), and closes over only
   * the buffers and kernel values it names (passing every one to every kernel made compiling a
   * deep model quadratic: V8 parses each function's parameter list).
   */
  instantiate(name: string, head: string, body: readonly string[]): { fn: (arrays: readonly Data[]) => void; source: string } {
    const mentioned = [...new Set(body.join("\n").match(/\b(b|in)\d+\b/g))].sort((x, y) => x.localeCompare(y, "en", { numeric: true }));
    const reads = mentioned.filter((m) => m.startsWith("in") && Number(m.slice(2)) < this.graph.inputs.length).map((m) => `const ${m} = ins[${m.slice(2)}];`);
    const hoisted = mentioned.flatMap((m) => this.hoist.get(m) ?? []);
    const source = [head, `function ${name}(ins) {`, ...[...reads, ...hoisted, ...body].map((l) => "  " + l), "}"].join("\n");
    const used = [...new Set(source.match(/\b[a-z]+\d+\b/g))].filter((m) => this.closure.has(m));
    try {
      const fn = new Function("out", ...used, `"use strict";\n${source}\nreturn ${name};`)(this.holder, ...used.map((m) => this.closure.get(m)));
      return { fn, source };
    } catch (e) {
      throw new GradcError(`compile: generated kernel ${name} does not compile (${(e as Error).message}); an op's expr template may be broken:\n${source}`);
    }
  }
}

/** One kernel: each stage lowered by the backend that took it, then the function created (a call stage runs as given). */
function buildKernel(name: string, stages: readonly PlannedStage[], lowers: ReadonlyMap<PlannedStage, Lower>, frame: Frame): KernelInfo {
  const { names, buffers } = frame;
  const nodes: Node[] = [];
  const stores: Node[] = [];
  const body: string[] = [];
  let bytes = 0;
  let run: Run | undefined;
  const claim = (n: Node) => frame.claim(n, nodes);
  const k: KernelBuilder = {
    config: frame.config,
    buffers,
    names,
    ids: new KernelNames(),
    closeOver: (...values) => frame.closeOver(values),
    arrayOf: frame.arrayOf,
    inputIndex: (n) => frame.inputIndex.get(n)!,
    text: (n) => printNode(n, frame.numbers),
    setRun: (r) => (run = r),
  };
  const isSweep = sweepsOf(stages.map((ps) => ps.st));
  for (const [si, ps] of stages.entries()) {
    const written = ps.kind === "loop" ? ps.st.stores.map((s) => s.node) : [ps.node];
    stores.push(...written);
    body.push(`// ${stageTitle(ps.st, isSweep[si])}`, ...written.map((n) => `//   ${describeNode(n, names)}`));
    const lower = lowers.get(ps);
    if (!lower) throw new GradcError(`compile: no backend took ${stageTitle(ps.st, isSweep[si])}: the table must end with one that takes every stage`);
    if (ps.kind === "call") {
      const lines = lower(ps, k);
      if (!run) throw new GradcError(`compile: the backend of call stage ${names.label(ps.node)} gave no kernel`);
      frame.runs.push(run);
      body.push(...lines);
      bytes += [...ps.node.inputs, ps.node].reduce((s, x) => s + bytesOf(x), 0);
      // a batched matmul's operand views (transposes, broadcasts) are part of it
      for (const x of ps.node.inputs) for (let y = x; !buffers.isBuffer(y); y = y.inputs[0]) claim(y);
      claim(ps.node);
    } else if (ps.kind === "matmul") {
      for (const x of ps.node.inputs) for (let y = x; !buffers.isBuffer(y); y = y.inputs[0]) claim(y);
      claim(ps.node);
      body.push(...lower(ps, k));
      bytes += bytesOf(ps.a.base) + bytesOf(ps.b.base) + bytesOf(ps.node);
    } else {
      body.push("{", ...lower(ps, k).map((l) => "  " + l), "}");
      for (const s of ps.st.stores) claim(s.node);
      for (const n of ps.low.touched) claim(n);
      const read = new Set(loadsOf([...ps.terms.values()]).map((l) => l.base));
      bytes += [...read].reduce((s, x) => s + bytesOf(x), 0) + ps.st.stores.reduce((s, x) => s + bytesOf(x.node), 0);
    }
  }
  const sweeps = isSweep.filter(Boolean).length;
  const head = `// kernel ${name}: ${stages.length} stage(s), ${sweeps} sweep(s), ${bytes} bytes`;
  if (stages[0].kind === "call") return { name, nodes, stores, stages: 1, sweeps, bytes, source: [head, ...body].join("\n") };
  const { fn, source } = frame.instantiate(name, head, body);
  frame.runs.push(fn);
  return { name, nodes, stores, stages: stages.length, sweeps, bytes, source };
}

/** The executable over the kernels: its source and stats, zero-copy input arrays, and run. */
function executable(g: Graph, sch: Schedule, frame: Frame, kernels: KernelInfo[]): Executable {
  const { buffers: storage, fresh, holder, arrayOf, inputIndex, names, reuse, runs } = frame;
  const source = [
    `// compiled by gradc: ${kernels.length} kernel(s); inputs ${g.inputs.map((x, i) => `in${i}: ${x.dtype}[${x.shape.join(",")}]`).join(", ")}`,
    ...storage.arrays.map(
      (a, j) => `// b${j}: ${a instanceof Float32Array ? "f32" : "f64"}[${a.length}] holds ${storage.holders[j].map(names.label).join(", ")}`,
    ),
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
  const alloc = outputAllocator(frame.config.native);
  return {
    graph: g,
    source,
    stats,
    kernels,
    inputArray(name) {
      const x = g.inputs.find((y) => y.name === name);
      if (!x) throw new GradcError(`compile(...).inputArray: no input "${name}": the graph takes ${g.inputNames.join(", ") || "no inputs"}`);
      // an input only JavaScript kernels read is read in place wherever it is: any array will do
      const placed = storage.placedInputs.get(x) ?? plainInputs.get(x) ?? allocate(x.size, x.dtype);
      plainInputs.set(x, placed);
      return placed;
    },
    run(inputs) {
      const values = bindInputs(g, inputs, "compile(...).run");
      const arrays = g.inputs.map((x) => values.get(x)!.data);
      for (const [x, view] of storage.placedInputs) {
        const given = arrays[inputIndex.get(x)!];
        if (given !== view) view.set(given); // an inputArray is already in place
      }
      // pooled arrays hold stale values: the kernels write every element of a fresh slot
      for (const j of fresh)
        holder[`b${j}`] = named(storage.holders[j], () => alloc(storage.arrays[j].length, storage.arrays[j] instanceof Float32Array ? "f32" : "f64"));
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
        result.push([k, new Tensor(copy ? copyOf(data, alloc) : data, n.shape)]);
        given.add(data);
      }
      // drop the references to the caller's arrays (the placeholders keep the holder's shape)
      for (const j of fresh) holder[`b${j}`] = storage.arrays[j];
      return plainRecord(result); // an output named "__proto__" is a key like any other
    },
  };
}

function stageTitle(st: Stage, sweep: boolean): string {
  const full = sweep ? "sweep" : "small";
  if (st.kind !== "loop") return `${st.kind} ${st.node.dtype}[${st.node.inputs.map((x) => x.shape.join("x")).join(" @ ")}] (${full})`;
  const rows = st.rowwise ? `, rows over axes ${st.split}..${st.domain.length - 1}` : "";
  const phases = 1 + Math.max(0, ...st.stores.map((s) => s.phase));
  return `stage over [${st.domain.join(",")}]${rows}${phases > 1 ? `, ${phases} row phases` : ""} (${full})`;
}
