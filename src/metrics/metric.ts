// The one accuracy-and-budget concept every stage shares: a metric (its name,
// and whether higher is better), its value for the FP32 model, a candidate's
// value, and the drop between them, which budgets bound. Stages measure
// candidates through a ModelScorer and never re-derive any of this.

export interface Metric {
  /** As reports name it: 'top1', 'agreement', 'sqnr'. */
  name: string;
  /** As people read it: 'top-1', 'agreement'. */
  label: string;
  /** false for error rates such as CER: the drop is then the rise. */
  higherIsBetter: boolean;
}

/** Top-1 accuracy against labels, percent. */
export const TOP1: Metric = { name: 'top1', label: 'top-1', higherIsBetter: true };
/** Top-1 agreement with the FP32 model's predictions, percent (without labels). */
export const AGREEMENT: Metric = { name: 'agreement', label: 'agreement', higherIsBetter: true };
/** The FP32 model agrees with itself everywhere. */
export const FP32_AGREEMENT = 100;

/**
 * Output SQNR against FP32 in dB, for outputs without classes (a detector's
 * probability map): higher is better, and FP32 itself (identical outputs,
 * an infinite SQNR) scores the cap, so that the drop is finite: dB below
 * SQNR_CAP_DB. The cap is far above what 8-bit quantization reaches (about
 * 6 dB per bit), so it never hides a difference a budget could care about.
 */
export const SQNR: Metric = { name: 'sqnr', label: 'output SQNR', higherIsBetter: true };
export const SQNR_CAP_DB = 100;

/**
 * The SQNR metric's value: dB clamped to [0, SQNR_CAP_DB], so that it lies on
 * the same 0-100 scale as the percentages (a negative SQNR, more noise than
 * signal, is as useless as 0 dB). null (identical outputs) is the cap.
 */
export function sqnrValue(db: number | null): number {
  return db === null ? SQNR_CAP_DB : Math.min(SQNR_CAP_DB, Math.max(0, db));
}

/** What a drop of this metric is counted in, for messages: dB for SQNR, percentage points otherwise. */
export const dropUnit = (metricName: string): 'dB' | 'points' => (metricName === SQNR.name ? 'dB' : 'points');

/** The built-in metrics by the name reports give them. */
export const BUILT_IN_METRICS: Record<'top1' | 'agreement' | 'sqnr', Metric> = { top1: TOP1, agreement: AGREEMENT, sqnr: SQNR };

/** The classifier metric: top-1 with labels, else agreement with FP32. */
export function classificationMetric(hasLabels: boolean): Metric {
  return hasLabels ? TOP1 : AGREEMENT;
}

/**
 * Scores are percentages of sample counts that reports print to two places:
 * 97.0 - 96.5 must count as a drop of 0.5, so comparisons allow this much.
 */
export const TOLERANCE = 1e-9;

/** How much worse `value` is than FP32's, in the metric's units (negative: better). */
export function dropOf(metric: Pick<Metric, 'higherIsBetter'>, fp32: number, value: number): number {
  return metric.higherIsBetter ? fp32 - value : value - fp32;
}

/** A drop (or gap) within a limit, up to rounding. */
export const atMost = (value: number, limit: number): boolean => value <= limit + TOLERANCE;

/** Drop `a` smaller than `b` beyond rounding. */
export const lowerDrop = (a: number, b: number): boolean => a < b - TOLERANCE;

/** What one candidate model scored. */
export interface CandidateScore {
  /** The metric's value. */
  value: number;
  /** dropOf(metric, fp32, value). */
  drop: number;
  /** Time to score it (session creation and forward passes, or the user's command). */
  seconds: number;
}

/**
 * Scores candidate models against the FP32 model with one metric. The
 * built-in one (OutputScorer) runs them in onnxruntime on held-out data; a
 * user's own metric is another implementation, and the stages that take a
 * ModelScorer need no change for it.
 */
export interface ModelScorer<S extends CandidateScore = CandidateScore> {
  readonly metric: Metric;
  /** The FP32 model's value, computed once. */
  readonly fp32: number;
  score(bytes: Uint8Array, label: string, progressLabel?: string): Promise<S>;
}
