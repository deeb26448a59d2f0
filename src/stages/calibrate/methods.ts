// Calibration method ids as users type and reports show them:
// 'max', 'entropy', 'mse', 'percentile-99.99'.
import { InputError } from '../../util/errors.js';

export const METHOD_FAMILIES = ['max', 'entropy', 'percentile', 'mse'] as const;
export type MethodFamily = (typeof METHOD_FAMILIES)[number];

export interface MethodSpec {
  id: string;
  family: MethodFamily;
  percentile?: number;
}

export const DEFAULT_PERCENTILES = [99.99, 99.999];

export function parsePercentiles(text: string): number[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const p = Number(s);
    if (!Number.isFinite(p) || p <= 0 || p > 100) throw new InputError(`--percentile: '${s}' is not a percentile in (0, 100]`);
    return p;
  });
}

/** `--method all|max|entropy|percentile|mse`, or a comma list of them. */
export function parseMethods(text: string, percentiles: number[]): MethodSpec[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const families = names.includes('all') ? [...METHOD_FAMILIES] : names;
  const out: MethodSpec[] = [];
  for (const f of families) {
    if (!(METHOD_FAMILIES as readonly string[]).includes(f)) {
      throw new InputError(`--method: unknown method '${f}' (expected all, ${METHOD_FAMILIES.join(', ')})`);
    }
    if (f === 'percentile') for (const p of percentiles) out.push({ id: `percentile-${p}`, family: 'percentile', percentile: p });
    else out.push({ id: f, family: f as MethodFamily });
  }
  if (out.length === 0) throw new InputError('--method: no method given');
  return out;
}
