// What each model output is scored by, decided by its shape alone, and its
// figure against the FP32 model's same output.
import type { OutputValues } from '../runtime/outputs.js';
import { argmaxRows, matchPercent, sqnrDb } from './classification.js';
import { AGREEMENT, SQNR, sqnrValue } from './metric.js';

/**
 * By the shape of one sample's part (batch axis left out):
 * - classes: [N, C], C >= 2: one prediction per sample, the argmax over C.
 * - positions: [N, T, C], C >= 2: one prediction per position (n, t), the
 *   argmax over the last axis (an OCR recognizer's time steps, a token
 *   classifier's tokens).
 * - map: anything else ([N, 1, H, W] probability maps, [N], [N, 1], rank 4
 *   and up): no class axis to take an argmax over, so SQNR only.
 */
export type OutputKind = 'classes' | 'positions' | 'map';

export function outputKind(dims: readonly number[]): OutputKind {
  const last = dims[dims.length - 1] ?? 0;
  if (dims.length === 1 && last >= 2) return 'classes';
  if (dims.length === 2 && last >= 2) return 'positions';
  return 'map';
}

/** Predictions per sample: 1 for classes, T for positions, 0 for a map. */
export function positionsPerSample(dims: readonly number[]): number {
  const kind = outputKind(dims);
  return kind === 'classes' ? 1 : kind === 'positions' ? dims[0] : 0;
}

/** The predicted class at every position of the first `count` samples, sample-major (empty for a map). */
export function predictionsOf(o: OutputValues, count: number): Int32Array {
  const positions = positionsPerSample(o.dims);
  if (positions === 0) return new Int32Array(0);
  return argmaxRows(o.values, count * positions, o.dims[o.dims.length - 1]);
}

/** One output of a candidate against FP32's. */
export interface OutputFigure {
  name: string;
  /** One sample's shape. */
  dims: number[];
  kind: OutputKind;
  /** agreement for classes and positions, sqnr for maps. */
  metric: 'agreement' | 'sqnr';
  /** The metric's value: agreement in percent, or sqnrValue (dB clamped to [0, 100]). */
  value: number;
  /** Share of predictions (samples or positions) equal to FP32's, percent; null for a map. */
  agreement: number | null;
  /** Output SQNR against FP32, dB; null when identical. */
  sqnrDb: number | null;
}

/** `test`'s figure against `ref` over the first `count` samples (the same output of two models). */
export function outputFigure(ref: OutputValues, test: OutputValues, count: number): OutputFigure {
  if (ref.cols !== test.cols) {
    throw new Error(`output '${ref.name}': the reference has ${ref.cols} values per sample, the model ${test.cols}`);
  }
  const kind = outputKind(ref.dims);
  const n = count * ref.cols;
  const db = sqnrDb(ref.values.subarray(0, n), test.values.subarray(0, n));
  const agreement = kind === 'map' ? null : matchPercent(predictionsOf(test, count), predictionsOf(ref, count));
  return {
    name: ref.name, dims: ref.dims, kind,
    metric: agreement === null ? SQNR.name as 'sqnr' : AGREEMENT.name as 'agreement',
    value: agreement ?? sqnrValue(db),
    agreement, sqnrDb: db,
  };
}
