// Activation tensors the plan would quantize but calibration cannot give a
// range: they stay float (no Q/DQ pair) and the nodes that read them run on
// float inputs. The decision is the recipe's: calibrate makes it from the
// statistics, calibration.json records it, every later stage restores it.
// Integer and bool tensors never reach the plan (it takes float32 tensors only).
import type { QuantPlan } from './plan.js';

/**
 * `infinite`: holds +-inf or float32's extremes (|x| >= 1e30), as additive
 * attention masks do: any 8-bit grid spanning them rounds every ordinary value
 * to the zero point. `constant`: one value over the whole calibration set, so
 * the data says nothing about the range the tensor takes elsewhere.
 */
export const FLOAT_REASONS = ['infinite', 'constant'] as const;
export type FloatReason = (typeof FLOAT_REASONS)[number];

export interface FloatTensor {
  tensor: string;
  reason: FloatReason;
}

/**
 * The plan without the Q/DQ pairs of `float` tensors. A Relu/Clip folded into
 * such a tensor's range runs again (the pair that applied it is gone); a
 * shared-scale pair with a float end is dissolved, the other end keeping its
 * own calibrated range (for Reshape, Transpose and the like both ends hold the
 * same values and so get the same reason; MaxPool's output may not).
 */
export function withoutFloatTensors(plan: QuantPlan, float: readonly FloatTensor[]): QuantPlan {
  if (float.length === 0) return plan;
  const drop = new Set(float.map((f) => f.tensor));
  const unknown = float.find((f) => !plan.tensors.includes(f.tensor));
  if (unknown) throw new Error(`withoutFloatTensors: '${unknown.tensor}' is not a planned tensor`);
  return {
    layers: plan.layers,
    quantizedNodes: plan.quantizedNodes,
    tensors: plan.tensors.filter((t) => !drop.has(t)),
    folded: plan.folded.filter((f) => !drop.has(f.to)),
    sharedScale: new Map([...plan.sharedScale].filter(([t, src]) => !drop.has(t) && !drop.has(src))),
    fixedRange: new Map([...plan.fixedRange].filter(([t]) => !drop.has(t))),
  };
}
