// Line plots as standalone SVG text (d3-scale for the axes, d3-shape for the paths), and a
// self-contained HTML page that shows several of them. No DOM needed, so the experiments can
// write figures from the command line. Every label is escaped: text never becomes markup.

import { scaleLinear, scaleLog } from "d3-scale";
import { line } from "d3-shape";

export interface Series {
  label: string;
  x: readonly number[];
  y: readonly number[];
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  xScale?: "linear" | "log";
  yScale?: "linear" | "log";
  /** Dots at the data points (the notebook's '-o'); default on when a series has < 60 points. */
  markers?: boolean;
  width?: number;
  height?: number;
}

// d3's schemeCategory10, spelled out to avoid a dependency for ten strings.
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Escape text for use inside SVG/HTML elements and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * One line plot as SVG markup.
 *
 *   const svg = linePlot({ title: "Training loss", xLabel: "iteration", yLabel: "loss",
 *                          series: [{ label: "batchnorm", x: [0, 1, 2], y: [2.3, 2.1, 1.9] }] });
 */
export function linePlot(spec: PlotSpec): string {
  const { width = 640, height = 360 } = spec;
  const m = { top: 32, right: 150, bottom: 44, left: 60 };
  const finite = (v: number, log: boolean) => Number.isFinite(v) && (!log || v > 0);
  const xLog = spec.xScale === "log";
  const yLog = spec.yScale === "log";
  const xs = spec.series.flatMap((s) => s.x.filter((v) => finite(v, xLog)));
  const ys = spec.series.flatMap((s) => s.y.filter((v) => finite(v, yLog)));
  const extent = (vs: number[], fallback: [number, number]): [number, number] => (vs.length ? [Math.min(...vs), Math.max(...vs)] : fallback);
  const [x0, x1] = extent(xs, xLog ? [1, 10] : [0, 1]);
  const [y0, y1] = extent(ys, yLog ? [1, 10] : [0, 1]);
  const x = (xLog ? scaleLog() : scaleLinear()).domain([x0, x1 === x0 ? x0 + 1 : x1]).range([m.left, width - m.right]);
  const y = (yLog ? scaleLog() : scaleLinear())
    .domain([y0, y1 === y0 ? y0 + 1 : y1])
    .nice()
    .range([height - m.bottom, m.top]);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="18" text-anchor="middle" font-size="14">${escapeXml(spec.title)}</text>`);
  // axes with ticks
  const decades = (ts: number[]) => ts.filter((t) => Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9);
  // integer data (epochs, iterations) gets integer ticks only
  const integral = xs.every(Number.isInteger);
  const xTicks = xLog ? decades(x.ticks()) : x.ticks(8).filter((t) => !integral || Number.isInteger(t));
  const yTicks = yLog ? decades(y.ticks()) : y.ticks(6);
  const xFormat = x.tickFormat(8);
  const yFormat = y.tickFormat(6);
  const xText = (v: number) => (xLog ? v.toExponential(0) : xFormat(v));
  const yText = (v: number) => (yLog ? v.toExponential(0) : yFormat(v));
  parts.push(`<g stroke="#999">`);
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${height - m.bottom}"/>`);
  for (const t of xTicks) parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${height - m.bottom}" y2="${height - m.bottom + 4}"/>`);
  for (const t of yTicks) parts.push(`<line x1="${m.left - 4}" x2="${width - m.right}" y1="${y(t)}" y2="${y(t)}" stroke-opacity="0.25"/>`);
  parts.push(`</g>`);
  for (const t of xTicks) parts.push(`<text x="${x(t)}" y="${height - m.bottom + 16}" text-anchor="middle">${xText(t)}</text>`);
  for (const t of yTicks) parts.push(`<text x="${m.left - 7}" y="${y(t) + 4}" text-anchor="end">${yText(t)}</text>`);
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(14,${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  // series
  spec.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    const pts = s.x.map((xv, i) => [xv, s.y[i]] as [number, number]);
    const ok = (p: [number, number]) => finite(p[0], xLog) && finite(p[1], yLog);
    const path =
      line<[number, number]>()
        .defined(ok)
        .x((p) => x(p[0]))
        .y((p) => y(p[1]))(pts) ?? "";
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const markers = spec.markers ?? s.x.length < 60;
    if (markers) for (const p of pts.filter(ok)) parts.push(`<circle cx="${x(p[0])}" cy="${y(p[1])}" r="2.5" fill="${color}"/>`);
    const ly = m.top + 8 + k * 16;
    parts.push(`<line x1="${width - m.right + 10}" x2="${width - m.right + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${width - m.right + 32}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}

export interface PageSection {
  heading: string;
  svg: string;
  caption?: string;
}

/**
 * A self-contained HTML page: the plots inline, the results as JSON for anyone who wants them.
 *
 *   writeFileSync("deep.html", htmlPage("experiment deep", [{ heading: "Loss", svg }], results));
 */
export function htmlPage(
  title: string,
  sections: readonly PageSection[],
  data?: unknown,
  notes: readonly string[] = [],
  details: readonly string[] = [],
): string {
  const body = sections.map((s) => `<section><h2>${escapeXml(s.heading)}</h2>\n${s.svg}${s.caption ? `\n<p>${escapeXml(s.caption)}</p>` : ""}</section>`);
  // JSON inside <script>: escape "<" so no string in the data can close the element.
  const json = data === undefined ? "" : `<script type="application/json" id="results">${JSON.stringify(data).replace(/</g, "\\u003c")}</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}section{margin:2em 0}p.note{color:#555}</style>
</head><body>
<h1>${escapeXml(title)}</h1>
${notes.map((n) => `<p class="note">${escapeXml(n)}</p>`).join("\n")}
${body.join("\n")}
${details.length ? `<section><h2>Runs</h2><ul>\n${details.map((d) => `<li>${escapeXml(d)}</li>`).join("\n")}\n</ul></section>` : ""}
${json}
</body></html>
`;
}
