// safetensors (the format of Hugging Face's `safetensors` library, read by PyTorch, JAX, numpy
// tools): 8 bytes of little-endian header length, a JSON header
//   { "<name>": { "dtype": "F64", "shape": [2, 3], "data_offsets": [begin, end] }, "__metadata__": { "k": "v" } }
// padded with spaces to a multiple of 8, then the tensors' raw little-endian bytes, offsets
// relative to the end of the header. Only F64 and F32 (gradc's dtypes) are read and written.

import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { GradcError } from "../core/errors.js";
import { shapeStr, Tensor, type DType } from "../core/tensor.js";

const CODES: Record<DType, string> = { f64: "F64", f32: "F32" };
const DTYPES: Record<string, DType> = { F64: "f64", F32: "f32" };
const BYTES: Record<DType, number> = { f64: 8, f32: 4 };
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Write tensors by name, with string metadata.
 *
 *   saveSafetensors("model.safetensors", { "layer1.W": W, "layer1.b": b }, { epoch: "3" });
 */
export function saveSafetensors(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  if (!littleEndian) throw new GradcError("saveSafetensors: this machine is big-endian; safetensors stores little-endian data");
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== "string") throw new GradcError(`saveSafetensors: metadata "${k}" must be a string, got ${typeof v}`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__" || name.length === 0) throw new GradcError(`saveSafetensors: "${name}" cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new GradcError(`saveSafetensors: "${name}" is not a tensor`);
    const bytes = t.size * BYTES[t.dtype];
    header[name] = { dtype: CODES[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(file, "w");
  try {
    writeSync(fd, head);
    writeSync(fd, Buffer.from(json, "utf8"));
    for (const t of Object.values(tensors)) writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  } finally {
    closeSync(fd);
  }
}

export interface Safetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Read a safetensors file: every entry checked (dtype, shape against its byte range, ranges in
 * the file, back to back); errors name the file and the entry.
 *
 *   const { tensors, metadata } = loadSafetensors("model.safetensors");
 */
export function loadSafetensors(file: string): Safetensors {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new GradcError(`loadSafetensors: ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const bad = (why: string): never => {
    throw new GradcError(`loadSafetensors: ${file}: ${why}`);
  };
  if (buf.length < 8) bad(`${buf.length} bytes, too short for a safetensors header`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n < 2 || 8 + n > buf.length) bad(`the header length ${n} does not fit in the file's ${buf.length} bytes (not a safetensors file?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch {
    return bad("the header is not JSON (not a safetensors file?)");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) bad("the header is not a JSON object");
  const data = buf.subarray(8 + n);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: Record<string, Tensor> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = DTYPES[String(e?.dtype)];
    if (!dtype) bad(`tensor "${name}" has dtype ${JSON.stringify(e?.dtype)}; gradc reads F64 and F32`);
    const shape = e.shape as number[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor "${name}" has shape ${JSON.stringify(e.shape)}`);
    const [begin, end] = (e.data_offsets ?? []) as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > data.length || end - begin !== size * BYTES[dtype]) {
      bad(
        `tensor "${name}" (${CODES[dtype]}${shapeStr(shape)}) has data_offsets ${JSON.stringify(e.data_offsets)}, not ${size * BYTES[dtype]} bytes inside the ${data.length} bytes of data`,
      );
    }
    ranges.push([begin, end, name]);
    const bytes = new Uint8Array(end - begin);
    bytes.set(data.subarray(begin, end)); // a copy, aligned for the typed array
    tensors[name] = new Tensor(dtype === "f64" ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer), shape);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) if (ranges[i][0] < ranges[i - 1][1]) bad(`tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
  return { tensors, metadata };
}
