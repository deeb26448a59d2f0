// Percentile calibration, after ONNX Runtime's HistogramCollector.compute_percentile:
// symmetric: T = the p-th percentile of |x|; asymmetric: cut (100 - p) / 2
// percent of the values on each side of the signed distribution. The cut
// points come from the cumulative counts over bins (first bin whose
// cumulative count reaches the quantile, numpy.searchsorted's rule) and are
// then moved to a bin edge and clamped to [min, max].
//
// Edge choice: the lower cut takes the lower edge of its bin, as ORT does.
// For the upper cut ORT takes hist_edges[idx], the lower edge of the bin
// holding the quantile, which drops that bin and makes p = 100 fall one bin
// short of max; we take that bin's upper edge instead, so both sides keep the
// bin holding their quantile and p = 100 equals max calibration.
import { absMaxOf, foldAbs, HALF_BINS, type HistogramLike } from './histogram.js';
import { asymmetricRange, symmetricRange, type CalibOptions, type Range } from './range.js';

/** First index whose cumulative count reaches `target` (last index if none does). */
function firstReaching(bins: Float64Array, target: number): number {
  let c = 0;
  for (let i = 0; i < bins.length; i++) {
    c += bins[i];
    if (c >= target) return i;
  }
  return bins.length - 1;
}

export function calibratePercentile(h: HistogramLike, opts: CalibOptions, p: number): Range {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (h.count === 0) return { min: 0, max: 0 };
  const w = h.range / HALF_BINS;
  if (opts.symmetric) {
    const k = firstReaching(foldAbs(h.bins), (p / 100) * h.count);
    return symmetricRange(h, Math.min((k + 1) * w, absMaxOf(h)));
  }
  const cut = ((100 - p) / 200) * h.count;
  const lo = firstReaching(h.bins, cut);
  // searchsorted(cdf, 1 - cut): with cut 0 this is the last non-empty bin.
  const hi = firstReaching(h.bins, h.count - cut);
  return asymmetricRange(h, -h.range + lo * w, -h.range + (hi + 1) * w);
}
