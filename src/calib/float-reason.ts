// Whether a tensor's statistics leave it no usable 8-bit range (see
// src/quant/float-tensors.ts for what then happens to it).
import type { FloatReason } from '../quant/float-tensors.js';
import type { TensorHistogram } from './histogram.js';

/**
 * |x| from which a value stands for infinity: float32's lowest/highest
 * (about 3.4e38) and -1e30-style masks, far above any activation a trained
 * network computes, far below where float32 overflows.
 */
export const INFINITE_ABS = 1e30;

/** Why this tensor must stay float, or undefined when it can be quantized. NaN is the caller's error, not a reason. */
export function floatReasonOf(h: Pick<TensorHistogram, 'count' | 'nonFinite' | 'nan' | 'min' | 'max'>): FloatReason | undefined {
  if (h.nonFinite > h.nan) return 'infinite';
  if (h.count === 0) return undefined;
  if (Math.max(-h.min, h.max) >= INFINITE_ABS) return 'infinite';
  if (h.min === h.max && h.nonFinite === 0) return 'constant';
  return undefined;
}
