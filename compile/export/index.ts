// compile/export: gradc graphs leaving gradc. ONNX models (onnx.ts, written with protobufjs and ONNX's
// vendored schema onnx.proto; each op by its record's `onnx` lowering), Graphviz DOT with the
// printer's labels (dot.ts), and a versioned JSON form that round-trips to the same hash-consed
// nodes (json.ts).
// May import: core/, ops/ and the pipeline wings (autodiff, optimize, codegen), as viz/ does; never
// viz/, nn/ or cli/.

export { exportOnnx, onnxModel, ONNX_OPSET, ONNX_IR_VERSION, type OnnxOptions } from "./onnx.js";
export { decodeModel } from "./proto.js";
export { toDot } from "./dot.js";
export { toJSON, fromJSON, JSON_FORMAT, JSON_VERSION } from "./json.js";
