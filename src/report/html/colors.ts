// One colour per calibration method across every table and chart of the
// report (Okabe-Ito palette: tells apart for colour-blind readers too).

export const FP32_COLOR = '#555555';
export const INT8_COLOR = '#0072B2';
export const ACCENT = '#D55E00';

const FIXED: Record<string, string> = { max: '#0072B2', entropy: '#D55E00', mse: '#CC79A7' };
const OTHERS = ['#009E73', '#E69F00', '#56B4E9', '#8C6D1F', '#332288', '#117733'];

/** Colours for `methods` (in their report order): max, entropy and mse fixed, the rest (percentiles) in turn. */
export function methodColors(methods: readonly string[]): Map<string, string> {
  const colors = new Map<string, string>();
  let next = 0;
  for (const m of methods) {
    if (colors.has(m)) continue;
    colors.set(m, FIXED[m] ?? OTHERS[next++ % OTHERS.length]);
  }
  return colors;
}
