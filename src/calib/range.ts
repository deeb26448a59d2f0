// What every calibrator returns and the rules every result obeys: the range
// contains 0 (so 0 is exactly representable) and stays within what was seen.
import { absMaxOf, type HistogramLike } from './histogram.js';

export interface Range {
  min: number;
  max: number;
}

/**
 * symmetric: the range is [-T, T] (int8 with zero point 0).
 * qmin / qmax: the integer range the scale is computed for, as qparams.qRange
 * gives it (uint8 asymmetric 0..255, int8 symmetric -127..127).
 */
export interface CalibOptions {
  symmetric: boolean;
  qmin: number;
  qmax: number;
}

export type Calibrator = (h: HistogramLike, opts: CalibOptions) => Range;

/** The observed hull extended to 0: [min(min, 0), max(max, 0)]; [0, 0] when empty. */
export function hull(h: HistogramLike): Range {
  if (h.count === 0) return { min: 0, max: 0 };
  return { min: Math.min(h.min, 0), max: Math.max(h.max, 0) };
}

/** [-T, T] with T clamped into [0, absmax]. (0 - T avoids a -0.) */
export function symmetricRange(h: HistogramLike, t: number): Range {
  const c = Math.min(Math.max(t, 0), absMaxOf(h));
  return { min: 0 - c, max: c };
}

/** [lo, hi] clamped into the hull, then widened to contain 0. */
export function asymmetricRange(h: HistogramLike, lo: number, hi: number): Range {
  const b = hull(h);
  return { min: Math.min(Math.max(lo, b.min), 0) + 0, max: Math.max(Math.min(hi, b.max), 0) + 0 };
}
