// Chart primitives for report.html: pure functions from numbers to SVG
// strings. No scripts, fonts or images from elsewhere, so the page opens from
// disk anywhere. Every chart's <svg> carries data-chart="NAME" so a test can
// find it.

/** Text for HTML and SVG: element content and attribute values alike. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const W = 560;
const H = 300;
const FONT = 12;
/** Average glyph width of the sans-serif font at 12px: for layout only. */
const CHAR_W = 6.6;

export interface LegendItem { label: string; color: string; dashed?: boolean }
export interface Reference { value: number; label: string; color: string }

interface Box { left: number; top: number; right: number; bottom: number }
type Scale = (v: number) => number;

function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Ticks at 1, 2 or 5 times a power of ten, the first at or below lo, the last at or above hi. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + (Math.abs(lo) || 1);
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  const last = Math.ceil(hi / step - 1e-9);
  for (let k = Math.floor(lo / step + 1e-9); k <= last; k++) ticks.push(k === 0 ? 0 : k * step);
  return ticks;
}

/** A tick label with no more decimals than the tick step needs. */
export function tickText(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(v) || 1;
  if (step >= 1e4 || (step < 1e-3 && v !== 0)) return v.toExponential(1);
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(digits);
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${num(x)}" y="${num(y)}" ${attrs}>${esc(s)}</text>`;
}

/** Shortens a label to fit `width` pixels; the full text stays in a <title>. */
function fit(s: string, width: number, charWidth = CHAR_W): string {
  const n = Math.max(3, Math.floor(width / charWidth));
  return s.length <= n ? s : '…' + s.slice(s.length - n + 1);
}

/** A category label under a bar: split once at '-' or '.' onto a second line when it is too long. */
function categoryLabel(cx: number, y: number, s: string, width: number): string {
  const attrs = 'text-anchor="middle" fill="#222" font-size="11"';
  const n = Math.floor(width / 6);
  const cut = s.search(/[-.]/);
  if (s.length <= n || cut <= 0) return text(cx, y, fit(s, width, 6), attrs);
  return text(cx, y, fit(s.slice(0, cut), width, 6), attrs) + text(cx, y + 13, fit(s.slice(cut), width, 6), attrs);
}

function open(name: string, title: string, width = W, height = H): string {
  return `<svg data-chart="${esc(name)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}" font-family="sans-serif" font-size="${FONT}">` +
    `<title>${esc(title)}</title>` + text(width / 2, 16, title, 'text-anchor="middle" font-weight="bold" font-size="13"');
}

/** One row (wrapping) of swatches and labels; returns the SVG and the height used. */
function legend(items: LegendItem[], x0: number, y0: number, width: number): { svg: string; height: number } {
  let x = x0;
  let y = y0;
  const parts: string[] = [];
  for (const it of items) {
    const w = 22 + it.label.length * CHAR_W + 14;
    if (x + w > x0 + width && x > x0) { x = x0; y += 16; }
    parts.push(`<line x1="${num(x)}" y1="${num(y - 4)}" x2="${num(x + 16)}" y2="${num(y - 4)}" stroke="${it.color}" stroke-width="3"${it.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    parts.push(text(x + 21, y, it.label, 'fill="#222"'));
    x += w;
  }
  return { svg: parts.join(''), height: items.length ? y - y0 + 16 : 0 };
}

/** The plot area of a W x H chart and its legend underneath, which makes the chart taller when it wraps. */
function frame(items: LegendItem[], right = 16): { box: Box; legend: string; height: number } {
  const box: Box = { left: 60, top: 30, right: W - right, bottom: H - 60 };
  const lg = legend(items, box.left, box.bottom + 58, W - box.left - 10);
  return { box, legend: lg.svg, height: box.bottom + 46 + lg.height };
}

function yAxis(box: Box, ticks: number[], y: Scale, label: string, format = (v: number) => tickText(v, ticks)): string {
  const parts = ticks.map((t) => `<line x1="${box.left}" x2="${box.right}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e4e4e4"/>` +
    text(box.left - 6, y(t) + 4, format(t), 'text-anchor="end" fill="#444"'));
  const mid = (box.top + box.bottom) / 2;
  parts.push(text(14, mid, label, `text-anchor="middle" fill="#222" transform="rotate(-90 14 ${num(mid)})"`));
  parts.push(`<line x1="${box.left}" x2="${box.left}" y1="${box.top}" y2="${box.bottom}" stroke="#888"/>`);
  return parts.join('');
}

function xAxis(box: Box, ticks: number[], x: Scale, label: string, format = (v: number) => tickText(v, ticks)): string {
  const parts = ticks.map((t) => `<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${box.bottom}" y2="${box.bottom + 4}" stroke="#888"/>` +
    text(x(t), box.bottom + 16, format(t), 'text-anchor="middle" fill="#444"'));
  parts.push(`<line x1="${box.left}" x2="${box.right}" y1="${box.bottom}" y2="${box.bottom}" stroke="#888"/>`);
  parts.push(text((box.left + box.right) / 2, box.bottom + 34, label, 'text-anchor="middle" fill="#222"'));
  return parts.join('');
}

function referenceLines(box: Box, refs: Reference[], y: Scale): string {
  return refs.map((r) => `<line x1="${box.left}" x2="${box.right}" y1="${num(y(r.value))}" y2="${num(y(r.value))}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="6 4"/>`).join('');
}

/** A y domain for the values: from 0, unless every value sits high above it (accuracies near 100 %). */
function valueDomain(values: number[], refs: Reference[], zoom: boolean): [number, number] {
  const all = [...values, ...refs.map((r) => r.value)].filter(Number.isFinite);
  let lo = Math.min(0, ...all);
  let hi = Math.max(...all, lo + 1e-9);
  const minV = Math.min(...all);
  if (zoom && minV > 0 && hi - minV < 0.5 * hi) {
    const pad = Math.max((hi - minV) * 0.5, hi * 0.005);
    lo = Math.max(0, minV - pad);
    hi += pad * 0.3;
  }
  const ticks = niceTicks(lo, hi);
  return [Math.min(lo, ticks[0]), Math.max(hi, ticks[ticks.length - 1])];
}

export interface Bar { label: string; value: number; color: string; /** Shown above the bar; default: the value. */ text?: string }

export interface BarChartOptions {
  name: string;
  title: string;
  bars: Bar[];
  yLabel: string;
  /** Let the y axis start above 0 when all values are close together (the caption should say so). */
  zoom?: boolean;
  references?: Reference[];
  format?: (v: number) => string;
}

/** Vertical bars, one colour each, values printed above them. */
export function barChart(o: BarChartOptions): string {
  const refs = o.references ?? [];
  const { box, legend: lg, height } = frame(refs.map((r) => ({ label: r.label, color: r.color, dashed: true })), 12);
  box.top += 12; // room for the value above a full-height bar
  const [lo, hi] = valueDomain(o.bars.map((b) => b.value), refs, o.zoom ?? false);
  const ticks = niceTicks(lo, hi).filter((t) => t >= lo && t <= hi);
  const y = linear(lo, hi, box.bottom, box.top);
  const slot = (box.right - box.left) / Math.max(1, o.bars.length);
  const bw = Math.min(64, slot * 0.7);
  const format = o.format ?? ((v: number) => v.toFixed(2));
  const bars = o.bars.map((b, i) => {
    const cx = box.left + slot * (i + 0.5);
    const top = y(Math.max(b.value, lo));
    const h = Math.max(1, box.bottom - top);
    return `<rect x="${num(cx - bw / 2)}" y="${num(box.bottom - h)}" width="${num(bw)}" height="${num(h)}" fill="${b.color}"><title>${esc(`${b.label}: ${format(b.value)}`)}</title></rect>` +
      text(cx, box.bottom - h - 4, b.text ?? format(b.value), 'text-anchor="middle" fill="#222"') +
      categoryLabel(cx, box.bottom + 15, b.label, slot - 4);
  });
  return open(o.name, o.title, W, height) + yAxis(box, ticks, y, o.yLabel) +
    `<line x1="${box.left}" x2="${box.right}" y1="${box.bottom}" y2="${box.bottom}" stroke="#888"/>` +
    bars.join('') + referenceLines(box, refs, y) + lg + '</svg>';
}

export interface HBarChartOptions {
  name: string;
  title: string;
  bars: Bar[];
  xLabel: string;
  format?: (v: number) => string;
}

/** Horizontal bars for long category names (layer names), first bar on top. */
export function hbarChart(o: HBarChartOptions): string {
  const rowH = 22;
  const height = 30 + o.bars.length * rowH + 46;
  const labelW = 190;
  const box: Box = { left: labelW + 8, top: 30, right: W - 56, bottom: 30 + o.bars.length * rowH };
  const values = o.bars.map((b) => b.value);
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const ticks = niceTicks(lo, hi === lo ? lo + 1 : hi);
  const x = linear(ticks[0], ticks[ticks.length - 1], box.left, box.right);
  const format = o.format ?? ((v: number) => v.toFixed(2));
  const grid = ticks.map((t) => `<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${box.top}" y2="${box.bottom}" stroke="#e4e4e4"/>`).join('');
  const rows = o.bars.map((b, i) => {
    const cy = box.top + rowH * (i + 0.5);
    const x0 = x(Math.min(0, b.value));
    const w = Math.max(1, Math.abs(x(b.value) - x(0)));
    return `<g><title>${esc(`${b.label}: ${format(b.value)}`)}</title>` +
      text(labelW, cy + 4, fit(b.label, labelW - 4), 'text-anchor="end" fill="#222"') +
      `<rect x="${num(x0)}" y="${num(cy - 7)}" width="${num(w)}" height="14" fill="${b.color}"/>` +
      text(Math.max(x(b.value), x(0)) + 4, cy + 4, b.text ?? format(b.value), 'fill="#222"') + '</g>';
  });
  return open(o.name, o.title, W, height) + grid +
    `<line x1="${num(x(0))}" x2="${num(x(0))}" y1="${box.top}" y2="${box.bottom}" stroke="#888"/>` +
    rows.join('') + xAxis(box, ticks, x, o.xLabel) + '</svg>';
}

export interface LineSeries { label: string; color: string; points: [number, number][]; dashed?: boolean }

export interface LineChartOptions {
  name: string;
  title: string;
  series: LineSeries[];
  xLabel: string;
  yLabel: string;
  /** Whole-number x ticks (steps, layer counts). */
  xInteger?: boolean;
  references?: Reference[];
  /** Circle one point, e.g. the model that was written. */
  highlight?: { x: number; y: number; label: string };
  /** Dots on every point: for short series where each point is a measurement. */
  dots?: boolean;
  zoom?: boolean;
}

export function lineChart(o: LineChartOptions): string {
  const refs = o.references ?? [];
  const items = [...o.series.map((s) => ({ label: s.label, color: s.color, dashed: s.dashed })), ...refs.map((r) => ({ label: r.label, color: r.color, dashed: true }))];
  const { box, legend: lg, height } = frame(items);
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]));
  const [ylo, yhi] = valueDomain(ys, refs, o.zoom ?? false);
  let xlo = Math.min(...xs);
  let xhi = Math.max(...xs);
  if (xhi === xlo) { if (!o.xInteger) xlo -= 1; xhi += 1; }
  let xt = niceTicks(xlo, xhi, 6).filter((t) => t >= xlo - 1e-9 && t <= xhi + 1e-9);
  if (o.xInteger) xt = [...new Set(xt.map(Math.round))];
  const x = linear(xlo, xhi, box.left, box.right);
  const yt = niceTicks(ylo, yhi).filter((t) => t >= ylo && t <= yhi);
  const y = linear(ylo, yhi, box.bottom, box.top);
  const lines = o.series.map((s) => {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${num(x(p[0]))} ${num(y(p[1]))}`).join('');
    const dots = o.dots ? s.points.map((p) => `<circle cx="${num(x(p[0]))}" cy="${num(y(p[1]))}" r="3.5" fill="${s.color}"/>`).join('') : '';
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>` + dots;
  });
  const h = o.highlight;
  const labelY = (hy: number) => (y(hy) - 12 < box.top + 12 ? y(hy) + 22 : y(hy) - 12);
  const mark = h ? `<circle cx="${num(x(h.x))}" cy="${num(y(h.y))}" r="8" fill="none" stroke="#111" stroke-width="1.5"/>` +
    text(x(h.x) + (x(h.x) > (box.left + box.right) / 2 ? -12 : 12), labelY(h.y), h.label, `text-anchor="${x(h.x) > (box.left + box.right) / 2 ? 'end' : 'start'}" fill="#111"`) : '';
  return open(o.name, o.title, W, height) + yAxis(box, yt, y, o.yLabel) + xAxis(box, xt, x, o.xLabel) +
    referenceLines(box, refs, y) + lines.join('') + mark + lg + '</svg>';
}

export interface HistogramBin { x0: number; x1: number; count: number }
export interface Marker { x: number; label: string; color: string }

export interface HistogramOptions {
  name: string;
  title: string;
  bins: HistogramBin[];
  xLabel: string;
  markers: Marker[];
  legend: LegendItem[];
}

/**
 * Counts on a log scale (tails are where clipping happens) with vertical
 * markers; markers at the same place stack their flags so none hides another.
 */
export function histogramChart(o: HistogramOptions): string {
  const { box, legend: lg, height } = frame(o.legend);
  const xlo = Math.min(...o.bins.map((b) => b.x0), ...o.markers.map((m) => m.x));
  const xhi = Math.max(...o.bins.map((b) => b.x1), ...o.markers.map((m) => m.x));
  const pad = (xhi - xlo) * 0.02 || 1;
  const x = linear(xlo - pad, xhi + pad, box.left, box.right);
  const maxCount = Math.max(1, ...o.bins.map((b) => b.count));
  const decades = Math.max(1, Math.ceil(Math.log10(maxCount)));
  const y = linear(0, decades, box.bottom, box.top + 22);
  const ly = (c: number) => y(Math.log10(Math.max(1, c)) + (c > 0 ? 0.15 : 0));
  const yt = Array.from({ length: decades + 1 }, (_, i) => i);
  const bars = o.bins.filter((b) => b.count > 0).map((b) => {
    const top = ly(b.count);
    return `<rect x="${num(x(b.x0))}" y="${num(top)}" width="${num(Math.max(0.8, x(b.x1) - x(b.x0)))}" height="${num(box.bottom - top)}" fill="#9aa5b1"/>`;
  });
  const xt = niceTicks(xlo - pad, xhi + pad, 7).filter((t) => t >= xlo - pad && t <= xhi + pad);
  const placed: number[] = [];
  const marks = o.markers.map((m) => {
    const px = x(m.x);
    const level = placed.filter((p) => Math.abs(p - px) < 3).length;
    placed.push(px);
    const fy = box.top + 4 + level * 7;
    return `<g><title>${esc(m.label)}</title><line x1="${num(px)}" x2="${num(px)}" y1="${num(fy)}" y2="${box.bottom}" stroke="${m.color}" stroke-width="1.5" opacity="0.85"/>` +
      `<rect x="${num(px - 4)}" y="${num(fy - 3)}" width="8" height="6" fill="${m.color}"/></g>`;
  });
  return open(o.name, o.title, W, height) + yAxis(box, yt, y, 'count (log scale)', (d) => (d <= 3 ? String(10 ** d) : `1e${d}`)) +
    xAxis(box, xt, x, o.xLabel) + bars.join('') + marks.join('') + lg + '</svg>';
}
