// Max calibration: the whole observed range, nothing clipped.
import { absMaxOf, type HistogramLike } from './histogram.js';
import { hull, symmetricRange, type CalibOptions, type Range } from './range.js';

export function calibrateMax(h: HistogramLike, opts: CalibOptions): Range {
  return opts.symmetric ? symmetricRange(h, absMaxOf(h)) : hull(h);
}
