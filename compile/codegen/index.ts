// compile/codegen: from a graph to running code. schedule.ts groups nodes into loop stages and
// kernels, layout.ts says how each value is read (views, strides), js/loops.ts writes JavaScript loop
// nests, matmul.ts, wasm/matmul.ts and native/ the matrix products, compile.ts allocates buffers and builds
// the executable. Only validated identifiers and number literals reach generated source.
// May import: core/, ops/ and compile/optimize/ (stats). Never autodiff/.

export { compile, type CompileOptions, type Executable, type KernelInfo, type CompiledStats } from "./compile.js";
