// Argument checks for public entries: a wrong argument (null, a string, a plain object where a
// Graph belongs) is a GradcError naming the entry and the argument, not a TypeError from inside.

import { GradcError } from "./errors.js";
import { Graph } from "./graph.js";
import { Node } from "./node.js";

/** What a value is, for messages: null, undefined, a number 3, a string "x", an array, an object. */
export function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "string") return `a string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `a ${typeof v} ${String(v)}`;
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return "an array";
  const name = (v as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/** `who`'s argument `arg` must be a Graph (built by trace or new Graph). */
export function checkGraph(who: string, arg: string, g: unknown): asserts g is Graph {
  if (!(g instanceof Graph)) throw new GradcError(`${who}: ${arg} must be a Graph (from trace or new Graph), got ${kindOf(g)}`);
}

/** `who`'s argument `arg` must be a graph node. */
export function checkNode(who: string, arg: string, n: unknown): asserts n is Node {
  if (!(n instanceof Node)) throw new GradcError(`${who}: ${arg} must be a graph node, got ${kindOf(n)}`);
}

/** `who`'s argument `arg` must be a plain record { name: value } (absent allowed when `optional`). */
export function checkRecord(who: string, arg: string, v: unknown, optional = false): void {
  if (optional && v === undefined) return;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new GradcError(`${who}: ${arg} must be a record { name: value }, got ${kindOf(v)}`);
}

/** A record with plain own keys: "__proto__" or "constructor" as names, not Object's. */
export function plainRecord<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
