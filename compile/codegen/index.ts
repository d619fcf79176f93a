// compile/codegen: from a graph to running code. schedule.ts groups nodes into loop stages and
// kernels, layout.ts says how each value is read (views, strides), plan.ts lowers each stage once
// (term DAGs, unrolled rows), buffers.ts plans the buffers, and backend.ts is the seam: the
// backends in BACKENDS (js/, wasm/, native/, one folder each) accept, bind and lower the stages.
// compile.ts builds the executable. Only validated identifiers and number literals reach
// generated source.
// May import: core/, ops/ and compile/optimize/ (stats). Never autodiff/.

export { compile, compileWith, type CompileOptions, type Executable, type KernelInfo, type CompiledStats } from "./compile.js";
export { BACKENDS, type Backend, type Binding, type KernelBuilder, type Lower } from "./backend.js";
export type { PlannedStage, PlannedLoop, PlannedMatmul, PlannedCall } from "./plan.js";
