// Which method's model becomes model.int8.onnx, and why.
import type { MethodResult } from '../../report/schemas/calibrate.js';
import type { CalibMethod } from '../../calib/methods.js';

/**
 * Used without evaluation data. MSE minimises the expected quantization error
 * directly; entropy (TensorRT's default) can clip hard where one value
 * dominates a tensor, as MNIST's background does in the samples' first layers.
 */
export const DEFAULT_METHOD = 'mse';

export interface Selection {
  method: string;
  /** The pass variant of the chosen row (MethodResult.variant); absent: every requested pass. */
  variant?: string;
  reason: string;
}

/**
 * Higher is better: the metric's value on the primary output (top-1 with
 * labels, else agreement with FP32, or SQNR for a map; reports of earlier
 * versions: top-1, else agreement); SQNR breaks ties.
 */
function rank(r: MethodResult): [number, number] {
  return [r.value ?? r.top1 ?? r.agreement ?? -Infinity, r.sqnrDb === null ? Infinity : r.sqnrDb];
}

const RANKED_BY: Record<string, string> = {
  top1: 'top-1 accuracy',
  agreement: 'top-1 agreement with FP32',
  sqnr: 'output SQNR against FP32',
};

/** `metric`: the name of what `results` were scored by (top1, agreement, sqnr). */
export function selectMethod(methods: CalibMethod[], results: MethodResult[], select?: string, metric?: string): Selection {
  if (select && select !== 'best') return { method: select, reason: `chosen with --select ${select}` };
  if (results.length > 0 && (select === 'best' || select === undefined)) {
    const best = [...results].sort((a, b) => {
      const [a1, a2] = rank(a);
      const [b1, b2] = rank(b);
      return b1 - a1 || b2 - a2;
    })[0];
    const by = RANKED_BY[metric ?? (best.top1 !== null ? 'top1' : 'agreement')];
    const reason = `best ${by} on the evaluation data` + (metric === 'sqnr' ? '' : ' (SQNR breaks ties)');
    return { method: best.method, ...(best.variant ? { variant: best.variant } : {}), reason };
  }
  if (methods.some((m) => m.id === DEFAULT_METHOD)) {
    return { method: DEFAULT_METHOD, reason: 'the default without --eval data: the range with the least expected quantization error (pass --eval to pick by accuracy)' };
  }
  return { method: methods[0].id, reason: `the first method given (${DEFAULT_METHOD}, the default, was not computed)` };
}
