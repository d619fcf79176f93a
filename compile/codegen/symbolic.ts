// Executables of graphs with symbolic sizes (trace({ x: ["N", 3] })): each run binds the symbols
// from the inputs' shapes and runs the graph specialised to them, compiled once per distinct size
// (specialisations and their executables are cached), so one graph serves every batch size.

import { GradcError } from "../../core/errors.js";
import type { Graph } from "../../core/graph.js";
import { bindSymbols, graphSymbols, specialize } from "../../core/symbolic.js";
import type { Executable } from "./compile.js";

export function symbolicExecutable(g: Graph, compileAt: (h: Graph) => Executable): Executable {
  let last: Executable | undefined;
  const current = (what: string): Executable => {
    if (!last)
      throw new GradcError(
        `compile: the graph has symbolic sizes (${graphSymbols(g).join(", ")}): its ${what} exist once it has run at a size (or compile(specialize(g, { N: 50 })))`,
      );
    return last;
  };
  return {
    graph: g,
    run(inputs) {
      last = compileAt(specialize(g, bindSymbols(g, inputs, "run")));
      return last.run(inputs);
    },
    inputArray(name) {
      return current(`input arrays ("${name}")`).inputArray(name);
    },
    get source() {
      return current("kernels' source").source;
    },
    get stats() {
      return current("statistics").stats;
    },
    get kernels() {
      return current("kernels").kernels;
    },
  };
}
