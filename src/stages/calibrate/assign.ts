// From histograms to quantization parameters for one calibration method.
import type { TensorHistogram } from '../../calib/histogram.js';
import { calibOptions, rangeFor, type CalibMethod } from '../../calib/methods.js';
import { qparamsFromRange, type QuantType } from '../../quant/qparams.js';
import type { QuantPlan } from '../../quant/plan.js';
import type { TensorQParams } from '../../quant/qdq.js';

export interface AssignedRange extends TensorQParams {
  min: number;
  max: number;
}

/**
 * Ranges and scale/zero point per planned tensor: from the method, or the
 * plan's fixed range; tensors in `sharedScale` copy their source's.
 */
export function assignQParams(
  histograms: Map<string, TensorHistogram>, plan: Pick<QuantPlan, 'tensors' | 'sharedScale' | 'fixedRange'>, method: CalibMethod,
  type: QuantType,
): Map<string, AssignedRange> {
  // uint8 activations are asymmetric, int8 symmetric: ONNX Runtime's defaults.
  const opts = calibOptions(type, type === 'int8');
  const out = new Map<string, AssignedRange>();
  for (const t of plan.tensors) {
    const fixed = plan.fixedRange.get(t);
    const r = fixed ? { min: fixed[0], max: fixed[1] } : rangeFor(method, histograms.get(t)!, opts);
    const q = qparamsFromRange(r.min, r.max, { type, symmetric: opts.symmetric });
    out.set(t, { min: r.min, max: r.max, scale: q.scale, zeroPoint: q.zeroPoint, type });
  }
  for (const [t, src] of plan.sharedScale) {
    const s = out.get(src);
    if (s) out.set(t, { ...s });
  }
  return out;
}
