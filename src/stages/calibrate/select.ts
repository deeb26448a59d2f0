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
  reason: string;
}

/** Higher is better: top-1 with labels, else agreement with FP32; SQNR breaks ties. */
function rank(r: MethodResult): [number, number] {
  return [r.top1 ?? r.agreement ?? -Infinity, r.sqnrDb === null ? Infinity : r.sqnrDb];
}

export function selectMethod(methods: CalibMethod[], results: MethodResult[], select?: string): Selection {
  if (select && select !== 'best') return { method: select, reason: `chosen with --select ${select}` };
  if (results.length > 0 && (select === 'best' || select === undefined)) {
    const best = [...results].sort((a, b) => {
      const [a1, a2] = rank(a);
      const [b1, b2] = rank(b);
      return b1 - a1 || b2 - a2;
    })[0];
    const by = best.top1 !== null ? 'top-1 accuracy' : 'top-1 agreement with FP32';
    return { method: best.method, reason: `best ${by} on the evaluation data (SQNR breaks ties)` };
  }
  if (methods.some((m) => m.id === DEFAULT_METHOD)) {
    return { method: DEFAULT_METHOD, reason: 'the default without --eval data: the range with the least expected quantization error (pass --eval to pick by accuracy)' };
  }
  return { method: methods[0].id, reason: `the first method given (${DEFAULT_METHOD}, the default, was not computed)` };
}
