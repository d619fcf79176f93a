// A pane's overview (a minimap, as Netron and TensorBoard have): the whole drawing in the pane's
// corner, shown when the drawing does not fit at a readable zoom, with a lens for what the pane
// shows. Clicking or dragging in it moves the pane there. It draws the pane's own drawing again
// with an SVG <use>, so it never goes stale and costs no second layout.

import type { ZoomTransform } from "d3";

/** The smallest zoom a pane opens at: 11 px labels drawn at 9.9 px, 9.5 px shapes at 8.6 px. */
export const READABLE_ZOOM = 0.9;

export interface Overview {
  /** After each redraw: shown only when `drawn` does not fit in `view` at the readable zoom. */
  update(drawn: { width: number; height: number }, view: { w: number; h: number }, readable: number): void;
  /** After each zoom: where the lens is. */
  track(t: ZoomTransform, view: { w: number; h: number }): void;
}

const NS = "http://www.w3.org/2000/svg";
let panes = 0;

/** An overview in `host` of the drawing inside `viewport`; `pick(x, y)` centres the pane on a point of the drawing. */
export function makeOverview(host: HTMLElement, pane: SVGSVGElement, viewport: SVGGElement, pick: (x: number, y: number) => void): Overview {
  const id = `gradc-drawing-${++panes}`;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "overview");
  svg.style.display = "none";
  const use = document.createElementNS(NS, "use");
  use.setAttribute("href", `#${id}`);
  const lens = document.createElementNS(NS, "rect");
  lens.setAttribute("class", "lens");
  svg.append(use, lens);
  host.appendChild(svg);

  const toDrawing = (ev: MouseEvent) => {
    const m = svg.getScreenCTM();
    if (!m) return null;
    const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
    return [p.x, p.y] as const;
  };
  let dragging = false;
  const move = (ev: MouseEvent) => {
    const p = toDrawing(ev);
    if (p) pick(p[0], p[1]);
    ev.preventDefault();
    ev.stopPropagation();
  };
  svg.addEventListener("mousedown", (ev) => {
    dragging = true;
    move(ev);
  });
  svg.addEventListener("mousemove", (ev) => dragging && move(ev));
  window.addEventListener("mouseup", () => (dragging = false));
  svg.addEventListener("click", (ev) => ev.stopPropagation());
  svg.addEventListener("wheel", (ev) => ev.stopPropagation());

  return {
    update(drawn, view, readable) {
      viewport.querySelector("g.drawing")?.setAttribute("id", id);
      svg.setAttribute("viewBox", `0 0 ${drawn.width} ${drawn.height}`);
      const needed = drawn.width * readable > view.w || drawn.height * readable > view.h;
      svg.style.display = needed ? "" : "none";
      pane.dataset.overview = needed ? "shown" : "hidden";
    },
    track(t, view) {
      lens.setAttribute("x", String(-t.x / t.k));
      lens.setAttribute("y", String(-t.y / t.k));
      lens.setAttribute("width", String(view.w / t.k));
      lens.setAttribute("height", String(view.h / t.k));
    },
  };
}
