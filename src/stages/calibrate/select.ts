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
function rank(r: MethodResult, higherIsBetter: boolean): [number, number] {
  const v = r.value ?? r.top1 ?? r.agreement;
  return [v === undefined || v === null ? -Infinity : higherIsBetter ? v : -v, r.sqnrDb === null ? Infinity : r.sqnrDb];
}

const RANKED_BY: Record<string, string> = {
  top1: 'top-1 accuracy',
  agreement: 'top-1 agreement with FP32',
  sqnr: 'output SQNR against FP32',
};

/** `metric`: what `results` were scored by (top1, agreement, sqnr, or the user's metric, which may be lower-is-better). */
export function selectMethod(
  methods: CalibMethod[], results: MethodResult[], select?: string, metric?: { name: string; higherIsBetter?: boolean },
): Selection {
  if (select && select !== 'best') return { method: select, reason: `chosen with --select ${select}` };
  if (results.length > 0 && (select === 'best' || select === undefined)) {
    const higherIsBetter = metric?.higherIsBetter ?? true;
    const best = [...results].sort((a, b) => {
      const [a1, a2] = rank(a, higherIsBetter);
      const [b1, b2] = rank(b, higherIsBetter);
      return b1 - a1 || b2 - a2;
    })[0];
    const name = metric?.name ?? (best.top1 !== null ? 'top1' : 'agreement');
    const variant = best.variant ? { variant: best.variant } : {};
    const builtIn = RANKED_BY[name];
    if (!builtIn) return { method: best.method, ...variant, reason: `best ${name} from the metric command (${higherIsBetter ? 'higher' : 'lower'} is better)` };
    return { method: best.method, ...variant, reason: `best ${builtIn} on the evaluation data` + (name === 'sqnr' ? '' : ' (SQNR breaks ties)') };
  }
  if (methods.some((m) => m.id === DEFAULT_METHOD)) {
    return { method: DEFAULT_METHOD, reason: 'the default without --eval data: the range with the least expected quantization error (pass --eval to pick by accuracy)' };
  }
  return { method: methods[0].id, reason: `the first method given (${DEFAULT_METHOD}, the default, was not computed)` };
}
