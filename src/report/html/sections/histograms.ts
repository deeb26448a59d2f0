// The activation histograms with every method's clipping range marked: the
// picture of why max, entropy, percentile and MSE choose differently.
import type { Calibration } from '../../schemas/calibration.js';
import { FP32_COLOR } from '../colors.js';
import { figure, missing, para, type Section } from '../html.js';
import { histogramChart, type HistogramBin, type Marker } from '../svg.js';

const TITLE = 'Activation histograms and clipping ranges';
const SHOWN = 4;
const DISPLAY_BINS = 120;

type Tensor = Calibration['tensors'][number];

/** How far the methods' ranges disagree, relative to the tensor's own range. */
export function disagreement(t: Tensor): number {
  const rs = Object.values(t.ranges);
  if (rs.length < 2 || !(t.max > t.min)) return 0;
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  return (spread(rs.map((r) => r.max)) + spread(rs.map((r) => r.min))) / (t.max - t.min);
}

/** The streamed histogram (4096 signed bins over [-R, R]) merged into about DISPLAY_BINS bins over [lo, hi]. */
export function displayBins(h: Tensor['histogram'], lo: number, hi: number): HistogramBin[] {
  const w = (2 * h.range) / h.nbins;
  const dw = Math.max(w, (hi - lo) / DISPLAY_BINS);
  const n = Math.max(1, Math.ceil((hi - lo) / dw));
  const bins = Array.from({ length: n }, (_, i) => ({ x0: lo + i * dw, x1: lo + (i + 1) * dw, count: 0 }));
  for (const [i, count] of h.bins) {
    const centre = -h.range + (i + 0.5) * w;
    const k = Math.min(n - 1, Math.max(0, Math.floor((centre - lo) / dw)));
    bins[k].count += count;
  }
  return bins;
}

function chart(t: Tensor, index: number, colors: Map<string, string>, selected: string): string {
  const methods = Object.entries(t.ranges);
  const lo = Math.min(t.min, ...methods.map(([, r]) => r.min));
  const hi = Math.max(t.max, ...methods.map(([, r]) => r.max));
  const markers: Marker[] = [];
  for (const [m, r] of methods) {
    const color = colors.get(m) ?? FP32_COLOR;
    // A range always contains 0: an end at 0 clips nothing on that side.
    if (r.min < 0) markers.push({ x: r.min, color, label: `${m}: min ${r.min.toPrecision(4)}` });
    if (r.max > 0) markers.push({ x: r.max, color, label: `${m}: max ${r.max.toPrecision(4)}` });
  }
  const legend = methods.map(([m, r]) => ({
    label: `${m}${m === selected ? '*' : ''} [${r.min.toPrecision(3)}, ${r.max.toPrecision(3)}]`,
    color: colors.get(m) ?? FP32_COLOR,
  }));
  return histogramChart({
    name: `histogram-${index + 1}`, title: t.name, bins: displayBins(t.histogram, lo, hi), xLabel: 'activation value', markers, legend,
  });
}

export function histogramsSection(c: Calibration | undefined, colors: Map<string, string>): Section {
  if (!c) return missing('histograms', TITLE, 'no calibration.json in the folder');
  const withData = c.tensors.filter((t) => t.histogram.count > 0);
  if (withData.length === 0) return missing('histograms', TITLE, 'calibration.json holds no tensor statistics');
  // Most disagreement first; graph order among equals (sort is stable).
  const shown = [...withData].sort((a, b) => disagreement(b) - disagreement(a)).slice(0, SHOWN);
  return {
    id: 'histograms', title: TITLE,
    body: para(`The ${shown.length} of ${c.tensors.length} quantized activation tensors where the methods' ranges differ most, ` +
      `relative to the tensor's own range. Grey bars: the calibration histogram of ${c.data.path} (${c.data.samples} samples), ` +
      'counts on a log scale so the sparse tails show. Vertical lines: where each method clips (flags stack when methods agree). ' +
      `Values beyond a line saturate to the INT8 range's end; * marks the selected method (${c.selectedMethod}).`) +
      `<div class="grid">${shown.map((t, i) => figure(chart(t, i, colors, c.selectedMethod))).join('')}</div>`,
  };
}
