// When `qtool run` goes on to the next stage, and which model it ends with.
// Pure functions of the measured drops, so the policy is tested on its own.
import { atMost } from '../../metrics/metric.js';

export interface Budget {
  maxDrop: number;
  /** What the drop is counted in (`dropUnit` of the metric); 'points' when not given. */
  unit?: string;
  /** More float layers than this sends the run on to QAT (undefined: no limit). */
  maxFloatLayers?: number;
}

export interface Candidate {
  stage: string;
  drop: number;
}

/** A drop within the budget, up to rounding (src/metrics/metric.ts). */
export const meets = atMost;

const pts = (d: number) => d.toFixed(2);

/** After calibrate: null when PTQ suffices, else why sensitivity and partial are needed. */
export function afterCalibrate(drop: number, b: Budget): string | null {
  return meets(drop, b.maxDrop) ? null : `calibrate's INT8 model drops ${pts(drop)} ${b.unit ?? 'points'} (> budget ${b.maxDrop})`;
}

export interface PartialOutcome {
  drop: number;
  floatLayers: number;
}

export interface AfterPartial {
  /** Why QAT is needed; null when partial suffices. */
  qat: string | null;
  /** QAT starts from this many float layers (fewer than partial chose, when capped). */
  startFloatLayers: number;
}

export function afterPartial(p: PartialOutcome, b: Budget): AfterPartial {
  const cap = b.maxFloatLayers ?? Infinity;
  if (!meets(p.drop, b.maxDrop)) {
    return { qat: `partial still drops ${pts(p.drop)} ${b.unit ?? 'points'} (> budget ${b.maxDrop}) with ${p.floatLayers} float layer${p.floatLayers === 1 ? '' : 's'}`, startFloatLayers: Math.min(p.floatLayers, cap) };
  }
  if (p.floatLayers > cap) {
    return { qat: `partial needs ${p.floatLayers} float layer${p.floatLayers === 1 ? "" : "s"} (> partial.maxFloatLayers ${cap})`, startFloatLayers: cap };
  }
  return { qat: null, startFloatLayers: p.floatLayers };
}

/**
 * How many of the ranking's first units (layers, or groups of them) fit in
 * `maxLayers` float layers: partial keeps whole units in float, and
 * partial.maxFloatLayers counts layers whatever the unit.
 */
export function unitsWithin(unitLayers: readonly number[], maxLayers: number): { units: number; layers: number } {
  let layers = 0;
  let units = 0;
  while (units < unitLayers.length && layers + unitLayers[units] <= maxLayers) layers += unitLayers[units++];
  return { units, layers };
}

/**
 * The run's model: the earliest stage's that meets the budget, else the one
 * with the lowest drop (the earliest on ties). `eligible` excludes models that break a constraint (too many float layers).
 */
export function pickFinal<C extends Candidate>(candidates: C[], b: Budget, eligible: (c: C) => boolean = () => true): C {
  const ok = candidates.filter(eligible);
  const pool = ok.length ? ok : candidates;
  const within = pool.filter((c) => meets(c.drop, b.maxDrop));
  if (within.length) return within[0];
  return pool.reduce((best, c) => (c.drop < best.drop ? c : best));
}
