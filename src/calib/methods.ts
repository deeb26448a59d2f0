// The calibration methods by id: 'max', 'entropy', 'mse', and 'percentile'
// with a percentile p. Each maps to a pure function (histogram, options) ->
// range. Method naming for users and reports (e.g. 'percentile-99.99') is
// the calibrate stage's business; a spec here only needs its family.
import type { HistogramLike } from './histogram.js';
import { calibrateEntropy } from './entropy.js';
import { calibrateMax } from './max.js';
import { calibrateMse } from './mse.js';
import { calibratePercentile } from './percentile.js';
import type { CalibOptions, Calibrator, Range } from './range.js';
import { qRange, type QuantType } from '../quant/qparams.js';

export type { CalibOptions, Calibrator, Range } from './range.js';

export const METHOD_IDS = ['max', 'entropy', 'percentile', 'mse'] as const;
export type MethodId = (typeof METHOD_IDS)[number];

/** A method: its family, plus p for 'percentile'. */
export interface CalibMethod {
  family: MethodId;
  percentile?: number;
}

/** The calibrators that take no parameter. */
export const CALIBRATORS: Readonly<Record<Exclude<MethodId, 'percentile'>, Calibrator>> = {
  max: calibrateMax,
  entropy: calibrateEntropy,
  mse: calibrateMse,
};

export function percentileCalibrator(p: number): Calibrator {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  return (h, opts) => calibratePercentile(h, opts, p);
}

export function calibratorFor(method: CalibMethod): Calibrator {
  if (method.family === 'percentile') {
    if (method.percentile === undefined) throw new RangeError("method 'percentile' needs a percentile");
    return percentileCalibrator(method.percentile);
  }
  const c = CALIBRATORS[method.family];
  if (!c) throw new RangeError(`unknown calibration method '${String(method.family)}'`);
  return c;
}

/** One range from one histogram. */
export function rangeFor(method: CalibMethod, h: HistogramLike, opts: CalibOptions): Range {
  return calibratorFor(method)(h, opts);
}

/** Calibrator options for a type: uint8 asymmetric 0..255, int8 symmetric -127..127 (ORT's ranges). */
export function calibOptions(type: QuantType, symmetric: boolean): CalibOptions {
  return { symmetric, ...qRange(type, symmetric) };
}
