// ONNX's protobuf schema, read once with protobufjs from the vendored onnx.proto (kept in the source
// tree beside this file; dist/compile/export/*.js finds it three folders up). Field names as in the schema.

import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { GradcError } from "../../core/errors.js";

let root: protobuf.Root | undefined;

function schema(): protobuf.Root {
  if (!root) {
    const url = new URL("../../../compile/export/onnx.proto", import.meta.url);
    let text: string;
    try {
      text = readFileSync(url, "utf8");
    } catch (e) {
      throw new GradcError(`exportOnnx: cannot read ONNX's schema ${url.pathname} (${(e as Error).message}); it ships in gradc's compile/export/ folder`);
    }
    root = protobuf.parse(text, { keepCase: true }).root;
  }
  return root;
}

/** A message type of the onnx package: "ModelProto", "TensorProto", ... */
export function onnxType(name: string): protobuf.Type {
  return schema().lookupType(`onnx.${name}`);
}

/** Encode a ModelProto given as a plain object; the schema's own check runs first. */
export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const T = onnxType("ModelProto");
  const problem = T.verify(model);
  if (problem) throw new GradcError(`exportOnnx: the model does not fit ONNX's schema: ${problem}`);
  return T.encode(T.fromObject(model)).finish();
}

/** Decode ONNX bytes into a plain object (numbers for int64 fields), for tests and inspection. */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  const T = onnxType("ModelProto");
  return T.toObject(T.decode(bytes), { longs: Number, defaults: false, arrays: true }) as Record<string, unknown>;
}
