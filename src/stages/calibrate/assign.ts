// From histograms to quantization parameters for one calibration method.
import type { TensorHistogram } from '../../calib/histogram.js';
import { calibOptions, rangeFor, type CalibMethod } from '../../calib/methods.js';
import { qparamsFromRange, type QuantType } from '../../quant/qparams.js';
import type { TensorQParams } from '../../quant/qdq.js';

export interface AssignedRange extends TensorQParams {
  min: number;
  max: number;
}

/** Ranges and scale/zero point per tensor; tensors in `sharedScale` copy their source's. */
export function assignQParams(
  histograms: Map<string, TensorHistogram>, tensors: readonly string[], method: CalibMethod,
  type: QuantType, sharedScale: Map<string, string>,
): Map<string, AssignedRange> {
  // uint8 activations are asymmetric, int8 symmetric: ONNX Runtime's defaults.
  const opts = calibOptions(type, type === 'int8');
  const out = new Map<string, AssignedRange>();
  for (const t of tensors) {
    const r = rangeFor(method, histograms.get(t)!, opts);
    const q = qparamsFromRange(r.min, r.max, { type, symmetric: opts.symmetric });
    out.set(t, { min: r.min, max: r.max, scale: q.scale, zeroPoint: q.zeroPoint, type });
  }
  for (const [t, src] of sharedScale) {
    const s = out.get(src);
    if (s) out.set(t, { ...s });
  }
  return out;
}
