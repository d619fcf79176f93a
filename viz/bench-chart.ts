// The benchmark as ratios to the fused kernel: for each size, one horizontal bar per
// implementation on a log scale, the fused row marked, every label whole (the left margin is
// sized to the longest label).

import type * as D3 from "d3";
import type { BenchRecord } from "./model.js";

const fusedIds = (records: BenchRecord[]) => {
  const exact = records.filter((r) => r.ratio === 1).map((r) => r.impl);
  return new Set(exact.length ? exact : records.filter((r) => /fused/i.test(r.impl)).map((r) => r.impl));
};

export function renderBench(d3: typeof D3, host: HTMLElement, records: BenchRecord[]): void {
  const fused = fusedIds(records);
  const sizeKey = (r: BenchRecord) => `${r.N}×${r.D} ${r.dtype}`;
  const sizes = [...new Map(records.map((r) => [sizeKey(r), r.N * r.D])).entries()].sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  // the ratio each record has to the fused kernel at its size (given, or computed from the fused row's time)
  const rows = records
    .map((r) => {
      const base = records.find((q) => fused.has(q.impl) && sizeKey(q) === sizeKey(r));
      return { ...r, x: r.ratio ?? (base ? r.ms / base.ms : NaN), fused: fused.has(r.impl) };
    })
    .filter((r) => Number.isFinite(r.x) && r.x > 0);
  const label = (r: { label: string; fused: boolean }) => `${r.fused ? "◆ " : ""}${r.label}`;
  const longest = Math.max(10, ...rows.map((r) => label(r).length));
  const m = { top: 34, right: 80, bottom: 40, left: Math.ceil(longest * 7.2) + 20 };
  const barH = 16;
  const sizeGap = 26;
  let y0 = m.top;
  const placed: ((typeof rows)[number] & { y: number })[] = [];
  const heads: { text: string; y: number }[] = [];
  for (const s of sizes) {
    const group = rows.filter((r) => sizeKey(r) === s).sort((a, b) => a.x - b.x);
    if (!group.length) continue;
    heads.push({ text: `N×D = ${s}`, y: y0 + 4 });
    y0 += 14;
    for (const r of group) {
      placed.push({ ...r, y: y0 });
      y0 += barH + 4;
    }
    y0 += sizeGap;
  }
  const W = m.left + 560 + m.right;
  const H = y0 + m.bottom - sizeGap;
  const [lo, hi] = d3.extent(placed, (r) => r.x) as [number, number];
  const x = d3
    .scaleLog()
    .domain([Math.min(0.8, lo / 1.3), Math.max(2, hi * 1.3)])
    .range([m.left, W - m.right]);
  const svg = d3.select(host).append("svg").attr("class", "bench").attr("viewBox", `0 0 ${W} ${H}`).attr("width", W).attr("height", H);
  svg
    .append("g")
    .attr("transform", `translate(0,${H - m.bottom + 6})`)
    .call(d3.axisBottom(x).ticks(8, "~g"));
  svg
    .append("text")
    .attr("class", "axis-label")
    .attr("x", m.left)
    .attr("y", H - 4)
    .text("time per call ÷ the fused kernel's (log scale; 1 = fused, more = slower)");
  svg
    .append("line")
    .attr("class", "one")
    .attr("x1", x(1))
    .attr("x2", x(1))
    .attr("y1", m.top - 6)
    .attr("y2", H - m.bottom + 6);
  svg.append("text").attr("class", "axis-label").attr("x", m.left).attr("y", 16).text("◆ = the fused kernel gradc generates");
  svg
    .selectAll("text.size")
    .data(heads)
    .join("text")
    .attr("class", "size axis-label")
    .attr("x", 8)
    .attr("y", (h) => h.y)
    .text((h) => h.text);
  const bars = svg
    .selectAll("g.bar")
    .data(placed)
    .join("g")
    .attr("class", (r) => (r.fused ? "bar series fused" : "bar series"))
    .attr("data-impl", (r) => r.impl);
  bars
    .append("rect")
    .attr("x", x(Math.min(0.8, lo / 1.3)))
    .attr("y", (r) => r.y)
    .attr("height", barH)
    .attr("width", (r) => Math.max(1, x(r.x) - x(Math.min(0.8, lo / 1.3))));
  bars
    .append("text")
    .attr("class", "legend")
    .attr("x", m.left - 8)
    .attr("y", (r) => r.y + 12)
    .attr("text-anchor", "end")
    .text((r) => label(r));
  bars
    .append("text")
    .attr("class", "value")
    .attr("x", (r) => x(r.x) + 4)
    .attr("y", (r) => r.y + 12)
    .text((r) => `×${r.x >= 10 ? r.x.toFixed(0) : r.x.toFixed(2)}  (${r.ms.toPrecision(3)} ms)`);
  bars.append("title").text((r) => `${r.label} at ${sizeKey(r)}: ${r.ms.toPrecision(3)} ms per call, ×${r.x.toPrecision(3)} the fused kernel`);
}
