// Named graphs for the viewer's tests: a ladder of ~2,000 nodes (the layout's speed case) and a
// graph whose input name is markup (the viewer must show it as text and run nothing).

import type { Graph } from "../../core/graph.js";
import { toposort } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import { trace } from "../../core/trace.js";
import { grad } from "../../compile/autodiff/reverse.js";

/** h_{k+1} = tanh(h_k * a + h_{k-1}), centered every 8th rung: at least `target` nodes. */
export function ladder(target = 2000): Graph {
  return trace({ x: [4, 8], a: [4, 8] }, ({ x, a }) => {
    let prev: Node = x;
    let h: Node = x.mul(a);
    for (let k = 1; ; k++) {
      let next = h.mul(a).add(prev).tanh();
      if (k % 8 === 0) next = next.sub(next.mean(0, true));
      prev = h;
      h = next;
      if (k % 16 === 0 && toposort([h]).length >= target) return h;
    }
  });
}

export const INJECTED = "<img src=x onerror=alert(1)>";

/** A small graph whose input is named `<img src=x onerror=alert(1)>`; its output is a label too. */
export function injected(): Graph {
  return trace({ [INJECTED]: [3, 4] }, (xs) => xs[INJECTED].sub(xs[INJECTED].mean(0, true)).square().named("</script><script>alert(2)</script>"));
}

/**
 * The gradient graph of a deep tanh MLP's squared-norm loss (~2,000 nodes for 125 layers): the
 * hard case for a layered layout, with forward values used hundreds of layers later.
 */
export function mlpBackward(layers = 125): Graph {
  const spec: Record<string, number[]> = { x: [8, 16] };
  for (let i = 0; i < layers; i++) {
    spec[`w${i}`] = [16, 16];
    spec[`b${i}`] = [16];
  }
  const g = trace(spec, (xs) => {
    let h = xs.x;
    for (let i = 0; i < layers; i++) h = h.matmul(xs[`w${i}`]).add(xs[`b${i}`]).tanh();
    return h.square().sum();
  });
  return grad(g);
}
