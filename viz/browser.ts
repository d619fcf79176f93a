// The page's entry point, bundled by esbuild with gradc itself (core, ops, compile, viz): draws
// the data the page carries, and the editor re-traces, re-derives, re-optimizes and re-draws the
// function the reader edits, offline. The reader's text is evaluated only when they ask (the
// "re-derive" button), in their own page, exactly as typed.

import "../ops/index.js"; // registers the builtin primitives
import type * as D3 from "d3";
import { axisBottom, extent, scaleLog, select, selectAll, zoom, zoomIdentity, zoomTransform } from "d3";
import { scopeOf } from "../core/node.js";
import { Graph } from "../core/graph.js";
import { trace, type InputSpec } from "../core/trace.js";
import type { Node } from "../core/node.js";
import { viewData } from "./data.js";
import { render, wireControls } from "./client.js";
import type { PageData } from "./model.js";
import { editorApi, pageGradc } from "./page-api.js";

export { editorApi, pageGradc };

// only the d3 the viewer uses, bundled (tree-shaken) with it: a fraction of d3's whole bundle
const d3 = { select, selectAll, zoom, zoomIdentity, zoomTransform, scaleLog, axisBottom, extent } as unknown as typeof D3;

type Flags = { __gradcDrawn?: number; __gradcRendered?: number; __gradcDerived?: number };

/** Trace the editor's text: a `trace(...)` expression (or a function returning a Graph). */
export function traceSource(text: string): Graph {
  const names = Object.keys(editorApi).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
  const make = new Function(...names, `"use strict";\nreturn (\n${text}\n);`);
  let g = make(...names.map((k) => editorApi[k]));
  if (typeof g === "function") g = g();
  if (!(g instanceof Graph)) throw new Error(`the editor's text must be a trace(...) expression; it gave ${g === null ? "null" : typeof g}`);
  return g;
}

type Packed = PageData & { packed: { rows: unknown[][]; strings: string[] } };

/** The page's data with its node rows unpacked (viz/page.ts packNodes). */
export function unpack(json: Packed): PageData {
  const { rows, strings } = json.packed;
  const nodes = rows.map((r) => {
    const [id, op, kind, shape, dtype, title, attrs, operand, from, inputs, scopeIndex, values] = r as [
      number,
      number,
      number,
      number[],
      number,
      number,
      number,
      number,
      number,
      number[],
      number,
      [number, number, number] | 0,
    ];
    return {
      id,
      op: strings[op],
      kind: strings[kind] as PageData["nodes"][number]["kind"],
      shape,
      dtype: strings[dtype],
      title: title < 0 ? strings[op] : strings[title],
      attrs: strings[attrs],
      operand: strings[operand],
      from: strings[from],
      inputs,
      scope: strings[scopeIndex],
      ...(values ? { values } : {}),
    };
  });
  const { packed: _packed, ...rest } = json;
  return { ...rest, nodes };
}

function flagRendered(): void {
  const w = window as unknown as Flags;
  w.__gradcDrawn = performance.now();
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      w.__gradcRendered = performance.now();
      document.body.dataset.rendered = "true";
    }),
  );
}

/** Text from base64 gzip, with the browser's own DecompressionStream. */
async function inflate(base64: string): Promise<string> {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
}

export async function boot(): Promise<void> {
  const el = document.getElementById("gradc-data")!;
  const text = el.dataset.encoding === "gzip+base64" ? await inflate(el.textContent!.trim()) : el.textContent!;
  const data = unpack(JSON.parse(text));
  wireControls(d3);
  render(d3, data);
  flagRendered();
  const editor = document.getElementById("editor") as HTMLTextAreaElement;
  const status = document.getElementById("editor-status")!;
  editor.value = data.source;
  if (data.sourceKind === "module") status.textContent = `Edit the module (${data.sourceNote || "its own source"}); gradc runs in this page.`;
  else if (data.sourceNote) status.textContent = data.sourceNote;
  document.getElementById("rederive")!.addEventListener("click", async () => {
    const t0 = performance.now();
    try {
      const { graph, of, wrt } =
        data.sourceKind === "module"
          ? await traceModule(editor.value, data.entry ?? "default")
          : { graph: traceSource(editor.value), of: undefined, wrt: undefined };
      const next = viewData(graph, {
        title: editedTitle(graph),
        source: editor.value,
        of,
        wrt,
        ...(data.sourceKind === "module" ? { module: { entry: data.entry ?? "default" } } : {}),
      });
      next.bench = data.bench;
      render(d3, next);
      const ms = performance.now() - t0;
      status.textContent = `re-derived in ${ms.toFixed(0)} ms: forward ${next.forward.stats.nodes} nodes, derived backward ${next.backward?.stats.nodes ?? 0}, optimized ${next.optimized?.stats.nodes ?? 0}, ${next.steps.length} steps`;
      status.className = "ok";
      (window as unknown as Flags).__gradcDerived = ((window as unknown as Flags).__gradcDerived ?? 0) + 1;
    } catch (e) {
      status.textContent = (e as Error).message;
      status.className = "error";
    }
  });
}

/** The title of a graph edited in the page: what it computes (its outermost name scopes), its first input's shape, dtype. */
export function editedTitle(g: Graph): string {
  const scopes = new Set<string>();
  for (const n of g.nodes()) if (!n.isInput && !n.isConst && scopeOf(n)) scopes.add(scopeOf(n).split("/")[0]);
  const names = [...scopes];
  const what = names.length === 0 ? g.outputNames.join(", ") : names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")}, ...`;
  const x = g.inputs[0];
  return `gradc view: ${what}${x ? ` [${x.shape.join(",")}] ${x.dtype}` : ""} (edited in the page)`;
}

/**
 * Run the editor's module text as an ES module (its `import ... from "gradc"` is the page's gradc,
 * through the page's import map) and trace its export `entry`, as `gradc view` traced the file.
 */
export async function traceModule(text: string, entry: string): Promise<{ graph: Graph; of?: string; wrt?: string[] }> {
  const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  const value = mod[entry];
  const where = `the module's export ${entry === "default" ? "default" : `"${entry}"`}`;
  if (value instanceof Graph) return { graph: value };
  const spec = value as { inputs?: unknown; fn?: unknown; of?: unknown; wrt?: unknown } | undefined;
  if (typeof spec !== "object" || spec === null || typeof spec.inputs !== "object" || spec.inputs === null || typeof spec.fn !== "function") {
    throw new Error(`${where} must be a Graph or { inputs, fn }${value === undefined ? " (it is missing)" : ""}`);
  }
  const graph = trace(spec.inputs as Record<string, InputSpec>, spec.fn as (xs: Record<string, Node>) => Node | Record<string, Node>);
  return { graph, of: typeof spec.of === "string" ? spec.of : undefined, wrt: Array.isArray(spec.wrt) ? (spec.wrt as string[]) : undefined };
}
