// The builtin primitives, registered once. The list is plain data: tests walk it.

import { register } from "../core/registry.js";
import type { OpDef } from "../core/registry.js";
import { elementwiseOps } from "./elementwise.js";
import { leafOps } from "./leaf.js";
import { structuralOps } from "./structural.js";
import { contractionOps } from "./contraction.js";
import { mathOps } from "./math.js";
import { indexingOps } from "./indexing.js";
import { trigOps } from "./trig.js";
import { erfOps } from "./erf.js";
import { cumulativeOps } from "./cumulative.js";
import { convOps } from "./conv.js";
import { poolOps } from "./pool.js";

export const primitives: readonly OpDef[] = [
  ...leafOps,
  ...elementwiseOps,
  ...mathOps,
  ...structuralOps,
  ...contractionOps,
  ...indexingOps,
  ...trigOps,
  ...erfOps,
  ...cumulativeOps,
  ...convOps,
  ...poolOps,
];

for (const def of primitives) register(def);
