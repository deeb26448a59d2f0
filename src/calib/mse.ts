// MSE calibration: the range whose quantization (with the scale and zero
// point it implies, qparams.ts) minimises the expected squared error under
// the histogram, each bin's count placed at its centre. Values beyond the
// range saturate, so clipping error is included.
//   symmetric: T over the |x| bin edges from bin 128 up to absmax (absmax
//     itself is the last candidate), like pytorch-quantization's
//     _compute_amax_mse (which uses bin centres from bin 128);
//   asymmetric: [alpha * min, alpha * max] with alpha in 0.001 .. 1 (0.001 steps).
// Speed: the error of one candidate costs one pass over the non-empty bins,
// so both searches go coarse-to-fine: an even grid (at most ~128 edges;
// alpha = 0.01 .. 1.00), then every fine candidate between the best coarse
// one's neighbours. The winner is thus never worse than the fine candidates
// next to it nor than any coarse one (a local, not a proven global, minimum:
// the error curve is not convex, but its ripples are finer than the grid).
import { absMaxOf, HALF_BINS, HIST_BINS, type HistogramLike } from './histogram.js';
import { asymmetricRange, hull, symmetricRange, type CalibOptions, type Range } from './range.js';
import { computeScaleZeroPoint, roundHalfEven } from '../quant/qparams.js';

export const MSE_START_BIN = 128;
/** Asymmetric scale factors: alpha = u / ALPHA_UNITS, coarse grid every ALPHA_STRIDE units. */
export const ALPHA_UNITS = 1000;
export const ALPHA_STRIDE = 10;
const COARSE_CANDIDATES = 128;

/** Non-empty bins as (centre, count) pairs. */
interface Mass {
  centre: Float64Array;
  count: Float64Array;
  n: number;
}

function nonEmptyBins(h: HistogramLike): Mass {
  const w = h.range / HALF_BINS;
  const centre = new Float64Array(HIST_BINS);
  const count = new Float64Array(HIST_BINS);
  let n = 0;
  for (let j = 0; j < HIST_BINS; j++) {
    if (h.bins[j] === 0) continue;
    centre[n] = -h.range + (j + 0.5) * w;
    count[n++] = h.bins[j];
  }
  return { centre, count, n };
}

/**
 * Sum of count * (x - fakequant(x))^2 for the range [lo, hi]. Saturation is
 * to the whole integer type (what QuantizeLinear does), qmin/qmax only set
 * the scale.
 */
function rangeSqError(m: Mass, lo: number, hi: number, opts: CalibOptions): number {
  const { scale, zeroPoint: zp } = computeScaleZeroPoint(lo, hi, opts.qmin, opts.qmax, opts.symmetric);
  const satLo = opts.qmin < 0 ? -128 : 0;
  const satHi = opts.qmin < 0 ? 127 : 255;
  let err = 0;
  for (let i = 0; i < m.n; i++) {
    const v = m.centre[i];
    let q = roundHalfEven(Math.fround(v / scale)) + zp;
    q = q < satLo ? satLo : q > satHi ? satHi : q;
    const d = v - Math.fround((q - zp) * scale);
    err += m.count[i] * d * d;
  }
  return err;
}

function mseSymmetric(h: HistogramLike, m: Mass, opts: CalibOptions): Range {
  const w = h.range / HALF_BINS;
  const absmax = absMaxOf(h);
  if (absmax === 0) return { min: 0, max: 0 };
  // Candidates: edges k * w for k0 <= k < K, then absmax (index K).
  const K = Math.ceil(absmax / w);
  const k0 = Math.min(MSE_START_BIN, K);
  const tOf = (k: number): number => (k >= K ? absmax : k * w);
  const errOf = (k: number): number => rangeSqError(m, -tOf(k), tOf(k), opts);
  let best = K;
  let bestErr = errOf(K);
  const consider = (k: number): void => {
    const e = errOf(k);
    // Ties go to the smaller threshold (finer scale), as numpy.argmin would.
    if (e < bestErr || (e === bestErr && k < best)) { best = k; bestErr = e; }
  };
  const stride = Math.max(1, Math.ceil((K - k0) / COARSE_CANDIDATES));
  for (let k = k0; k < K; k += stride) consider(k);
  const coarse = best;
  for (let k = Math.max(k0, coarse - stride + 1); k < Math.min(K, coarse + stride); k++) if (k !== coarse) consider(k);
  return symmetricRange(h, tOf(best));
}

function mseAsymmetric(h: HistogramLike, m: Mass, opts: CalibOptions): Range {
  const b = hull(h);
  if (b.min === 0 && b.max === 0) return b;
  // alpha = u / ALPHA_UNITS: every ALPHA_STRIDE-th unit (0.01 .. 1.00), then
  // every unit between the best one's coarse neighbours (0.001 steps).
  const errOf = (u: number): number => rangeSqError(m, (u / ALPHA_UNITS) * b.min, (u / ALPHA_UNITS) * b.max, opts);
  let best = ALPHA_UNITS;
  let bestErr = errOf(ALPHA_UNITS);
  const consider = (u: number): void => {
    const e = errOf(u);
    if (e < bestErr || (e === bestErr && u < best)) { best = u; bestErr = e; }
  };
  for (let u = ALPHA_STRIDE; u < ALPHA_UNITS; u += ALPHA_STRIDE) consider(u);
  const coarse = best;
  for (let u = Math.max(1, coarse - ALPHA_STRIDE + 1); u < Math.min(ALPHA_UNITS, coarse + ALPHA_STRIDE); u++) if (u !== coarse) consider(u);
  const a = best / ALPHA_UNITS;
  return asymmetricRange(h, a * b.min, a * b.max);
}

export function calibrateMse(h: HistogramLike, opts: CalibOptions): Range {
  if (h.count === 0) return { min: 0, max: 0 };
  const m = nonEmptyBins(h);
  return opts.symmetric ? mseSymmetric(h, m, opts) : mseAsymmetric(h, m, opts);
}
