// The calibration methods: families 'max', 'entropy', 'mse' and 'percentile'
// (with a percentile p), each a pure function (histogram, options) -> range,
// and their ids as users type and reports show them: 'max', 'entropy', 'mse',
// 'percentile-99.99'. The method list of `--method` / `calibrate.method`
// ('all' or a comma list of families) is parsed here too.
import type { HistogramLike } from './histogram.js';
import { calibrateEntropy } from './entropy.js';
import { calibrateMax } from './max.js';
import { calibrateMse } from './mse.js';
import { calibratePercentile } from './percentile.js';
import type { CalibOptions, Calibrator, Range } from './range.js';
import { qRange, type QuantType } from '../quant/qparams.js';
import { InputError } from '../util/errors.js';

export type { CalibOptions, Calibrator, Range } from './range.js';

export const METHOD_FAMILIES = ['max', 'entropy', 'percentile', 'mse'] as const;
export type MethodFamily = (typeof METHOD_FAMILIES)[number];

/** A method: its id, its family, plus p for 'percentile'. */
export interface CalibMethod {
  id: string;
  family: MethodFamily;
  percentile?: number;
}

export const DEFAULT_PERCENTILES = [99.99, 99.999];

/** The calibrators that take no parameter. */
export const CALIBRATORS: Readonly<Record<Exclude<MethodFamily, 'percentile'>, Calibrator>> = {
  max: calibrateMax,
  entropy: calibrateEntropy,
  mse: calibrateMse,
};

export function percentileCalibrator(p: number): Calibrator {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  return (h, opts) => calibratePercentile(h, opts, p);
}

export function calibratorFor(method: Pick<CalibMethod, 'family' | 'percentile'>): Calibrator {
  if (method.family === 'percentile') {
    if (method.percentile === undefined) throw new RangeError("method 'percentile' needs a percentile");
    return percentileCalibrator(method.percentile);
  }
  const c = CALIBRATORS[method.family];
  if (!c) throw new RangeError(`unknown calibration method '${String(method.family)}'`);
  return c;
}

/** One range from one histogram. */
export function rangeFor(method: Pick<CalibMethod, 'family' | 'percentile'>, h: HistogramLike, opts: CalibOptions): Range {
  return calibratorFor(method)(h, opts);
}

/** Calibrator options for a type: uint8 asymmetric 0..255, int8 symmetric -127..127 (ORT's ranges). */
export function calibOptions(type: QuantType, symmetric: boolean): CalibOptions {
  return { symmetric, ...qRange(type, symmetric) };
}

/** A comma list of percentiles, each in (0, 100]. Errors say what is wrong, the caller where. */
export function parsePercentiles(text: string): number[] {
  const out = text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const p = Number(s);
    if (!Number.isFinite(p) || p <= 0 || p > 100) throw new InputError(`'${s}' is not a percentile in (0, 100]`);
    return p;
  });
  if (out.length === 0) throw new InputError('expected at least one percentile');
  return out;
}

/** The families of a method list: 'all', or a comma list of families. */
export function methodFamilies(list: string): MethodFamily[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (n !== 'all' && !(METHOD_FAMILIES as readonly string[]).includes(n)) {
      throw new InputError(`unknown method '${n}' (expected all, ${METHOD_FAMILIES.join(', ')})`);
    }
  }
  if (names.length === 0) throw new InputError('no method given');
  return names.includes('all') ? [...METHOD_FAMILIES] : (names as MethodFamily[]);
}

/** The methods of a method list, 'percentile' once per percentile (ids 'percentile-99.99'). */
export function parseMethods(list: string, percentiles: readonly number[]): CalibMethod[] {
  const out: CalibMethod[] = [];
  for (const f of methodFamilies(list)) {
    if (f === 'percentile') for (const p of percentiles) out.push({ id: `percentile-${p}`, family: 'percentile', percentile: p });
    else out.push({ id: f, family: f });
  }
  if (out.length === 0) throw new InputError('no method given');
  return out;
}
