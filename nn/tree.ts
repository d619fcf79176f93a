// Parameters as trees: a model's parameters are a nested object (or array) of tensors, as a JAX
// pytree; a tree is flattened to dotted paths ("layer1.W", "blocks.0.Wq"), the names its graph
// inputs, gradients, optimizer state and checkpoint entries carry. Initializers draw from a seeded
// RandomState, so the same seed gives the same parameters.

import { GradcError } from "../core/errors.js";
import { sameShape, shapeStr, Tensor, type DType, type Shape } from "../core/tensor.js";
import { RandomState } from "./random.js";

/** A tensor, or an object or array of trees. */
export type Tree<T = Tensor> = T | { readonly [key: string]: Tree<T> } | readonly Tree<T>[];

/** A flattened tree: leaves by dotted path, in the tree's own order (keys as written, arrays by index). */
export type Flat<T = Tensor> = Record<string, T>;

/** A key: letters, digits, _; dots allowed between them (a flat record by path is a tree too). */
const PATH_PART = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/**
 * The leaves of a tree by path.
 *
 *   flatten({ layer1: { W, b }, out: [W2, b2] })   // { "layer1.W": W, "layer1.b": b, "out.0": W2, "out.1": b2 }
 */
export function flatten<T = Tensor>(tree: Tree<T>, leaf: (x: unknown) => boolean = (x) => x instanceof Tensor): Flat<T> {
  const out: Flat<T> = {};
  const walk = (node: unknown, path: string): void => {
    if (leaf(node)) {
      out[path === "" ? "value" : path] = node as T;
      return;
    }
    if (typeof node !== "object" || node === null) {
      throw new GradcError(
        `parameter tree: ${path === "" ? "the tree" : `"${path}"`} is ${node === null ? "null" : typeof node}, not a tensor, an object or an array`,
      );
    }
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
    if (entries.length === 0) throw new GradcError(`parameter tree: ${path === "" ? "the tree" : `"${path}"`} is empty`);
    for (const [k, v] of entries) {
      if (!PATH_PART.test(k))
        throw new GradcError(
          `parameter tree: key ${JSON.stringify(k)} under "${path}" must be letters, digits or _ (dots only between them: it becomes part of a dotted path)`,
        );
      walk(v, path === "" ? k : `${path}.${k}`);
    }
  };
  walk(tree, "");
  return out;
}

/**
 * A tree of the same structure as `like` with leaves taken from `flat` by path (mapped by `f`).
 *
 *   unflatten(params, grads)   // the gradients as a tree shaped like the parameters
 */
export function unflatten<T, U = Tensor>(
  like: Tree<unknown>,
  flat: Flat<T>,
  f: (x: T, path: string) => U = (x) => x as unknown as U,
  leaf: (x: unknown) => boolean = (x) => x instanceof Tensor,
): Tree<U> {
  const build = (node: unknown, path: string): unknown => {
    if (leaf(node)) {
      const key = path === "" ? "value" : path;
      if (!Object.hasOwn(flat, key)) throw new GradcError(`parameter tree: no value for "${key}"`);
      return f(flat[key], key);
    }
    if (Array.isArray(node)) return node.map((v, i) => build(v, path === "" ? String(i) : `${path}.${i}`));
    return Object.fromEntries(Object.entries(node as object).map(([k, v]) => [k, build(v, path === "" ? k : `${path}.${k}`)]));
  };
  return build(like, "") as Tree<U>;
}

/** The same tree with every leaf mapped. */
export function mapTree<U>(tree: Tree, f: (t: Tensor, path: string) => U): Tree<U> {
  return unflatten(tree, flatten(tree), f);
}

/** A deep copy (fresh arrays). */
export const cloneTree = (tree: Tree): Tree => mapTree(tree, (t) => new Tensor(t.data.slice(), t.shape));

/**
 * Check that `given` has exactly the paths, shapes and dtypes of `expected`: an error naming the
 * first parameter that differs (and `where` it came from: a file, a model).
 */
export function checkTree(expected: Flat, given: Flat, where: string): void {
  for (const [k, t] of Object.entries(expected)) {
    const g = given[k];
    if (g === undefined) throw new GradcError(`${where}: parameter "${k}" (${t.dtype}${shapeStr(t.shape)}) is missing`);
    if (!(g instanceof Tensor)) throw new GradcError(`${where}: parameter "${k}" is not a tensor`);
    if (!sameShape(g.shape, t.shape) || g.dtype !== t.dtype) {
      throw new GradcError(`${where}: parameter "${k}" is ${g.dtype}${shapeStr(g.shape)}, the model's is ${t.dtype}${shapeStr(t.shape)}`);
    }
  }
  for (const k of Object.keys(given)) {
    if (!Object.hasOwn(expected, k)) throw new GradcError(`${where}: parameter "${k}" is not one of the model's (${Object.keys(expected).join(", ")})`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Initializers: init.<name>(rng, shape, options?) -> Tensor. Fans are PyTorch's: for a matrix
// [in, out] (gradc's affine takes x [N, in] @ W [in, out]) fanIn = shape[0], fanOut = shape[1];
// for a conv weight [out, in, k...] fanIn = in * prod(k), fanOut = out * prod(k).

export interface InitOptions {
  dtype?: DType;
}

/** fanIn and fanOut of a weight shape (see above). */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new GradcError(`init: fan-in and fan-out need a weight of rank 2 or more, got ${shapeStr(shape)}`);
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const field = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * field, fanOut: shape[0] * field };
}

function make(values: Float64Array | number, shape: Shape, dtype: DType = "f64"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
  if (typeof values === "number") data.fill(values);
  else data.set(values);
  return new Tensor(data, shape);
}

const draw = (values: number | Float64Array): Float64Array => (typeof values === "number" ? Float64Array.of(values) : values);
const size = (shape: Shape): number[] => [...shape];

/** The initializers. Each returns a fresh tensor; the draws come from `rng` in C order. */
export const init = {
  zeros: (shape: Shape, o: InitOptions = {}): Tensor => make(0, shape, o.dtype),
  ones: (shape: Shape, o: InitOptions = {}): Tensor => make(1, shape, o.dtype),
  /** N(mean, std^2). */
  normal: (rng: RandomState, shape: Shape, o: InitOptions & { mean?: number; std?: number } = {}): Tensor =>
    make(draw(rng.normal(o.mean ?? 0, o.std ?? 1, size(shape))), shape, o.dtype),
  /** U[low, high). */
  uniform: (rng: RandomState, shape: Shape, o: InitOptions & { low?: number; high?: number } = {}): Tensor =>
    make(draw(rng.uniform(o.low ?? 0, o.high ?? 1, size(shape))), shape, o.dtype),
  /** Xavier/Glorot uniform: U[-a, a], a = gain * sqrt(6 / (fanIn + fanOut)). */
  glorotUniform: (rng: RandomState, shape: Shape, o: InitOptions & { gain?: number } = {}): Tensor => {
    const { fanIn, fanOut } = fans(shape);
    const a = (o.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
    return make(draw(rng.uniform(-a, a, size(shape))), shape, o.dtype);
  },
  /** Xavier/Glorot normal: N(0, gain^2 * 2 / (fanIn + fanOut)). */
  glorotNormal: (rng: RandomState, shape: Shape, o: InitOptions & { gain?: number } = {}): Tensor => {
    const { fanIn, fanOut } = fans(shape);
    return make(draw(rng.normal(0, (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), size(shape))), shape, o.dtype);
  },
  /** Kaiming/He normal for relu: N(0, 2 / fanIn) (fanOut with mode "fanOut"). */
  heNormal: (rng: RandomState, shape: Shape, o: InitOptions & { mode?: "fanIn" | "fanOut" } = {}): Tensor => {
    const f = fans(shape)[o.mode ?? "fanIn"];
    return make(draw(rng.normal(0, Math.sqrt(2 / f), size(shape))), shape, o.dtype);
  },
  /** Kaiming/He uniform for relu: U[-a, a], a = sqrt(6 / fanIn). */
  heUniform: (rng: RandomState, shape: Shape, o: InitOptions & { mode?: "fanIn" | "fanOut" } = {}): Tensor => {
    const a = Math.sqrt(6 / fans(shape)[o.mode ?? "fanIn"]);
    return make(draw(rng.uniform(-a, a, size(shape))), shape, o.dtype);
  },
};
export { init as initializers };
/** The Xavier names for the Glorot initializers. */
export const xavierUniform = init.glorotUniform,
  xavierNormal = init.glorotNormal;
/** The Kaiming names for the He initializers. */
export const kaimingNormal = init.heNormal,
  kaimingUniform = init.heUniform;
