// Fake quantization for QAT in TensorFlow.js, with the straight-through
// estimator (Bengio et al. 2013; Jacob et al. 2018; pytorch-quantization's
// TensorQuantFunction):
//   forward:  y = (clamp(round_half_even(x / s) + z, qmin, qmax) - z) * s
//             exactly ONNX QuantizeLinear then DequantizeLinear in float32
//             (tf.round rounds half to even, x / s is a float32 division);
//   backward: dy where x lies in [(qmin - z) s, (qmax - z) s], 0 outside.
// Scales and zero points get no gradient here (fakeQuantLsq below learns an
// activation scale): activations keep
// their calibrated parameters, weights recompute theirs from the current
// weights on every step (symmetric int8, zero point 0, scale = max|w| / 127
// per output channel or per tensor), as pytorch-quantization does.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';
import { typeRange, type QuantType } from '../quant/qparams.js';

export interface ActivationQParams {
  scale: number;
  zeroPoint: number;
  type: QuantType;
}

/** Fake quantization with fixed per-tensor parameters; STE gradient. */
export function fakeQuantTensor(tf: Tf, x: Tensor, p: ActivationQParams): Tensor {
  const { qmin, qmax } = typeRange(p.type);
  const s = Math.fround(p.scale);
  const z = p.zeroPoint;
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`fake quant: scale must be positive and finite, got ${p.scale}`);
  const lo = Math.fround((qmin - z) * s);
  const hi = Math.fround((qmax - z) * s);
  const f = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as Tensor;
    const save = args[1] as (ts: Tensor[]) => void;
    const q = tf.clipByValue(tf.add(tf.round(tf.div(input, tf.scalar(s))), tf.scalar(z)), qmin, qmax);
    const value = tf.mul(tf.sub(q, tf.scalar(z)), tf.scalar(s));
    const inside = tf.logicalAnd(tf.greaterEqual(input, tf.scalar(lo)), tf.lessEqual(input, tf.scalar(hi)));
    save([inside]);
    return {
      value,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => [tf.mul(dy as Tensor, tf.cast(saved[0]!, 'float32'))],
    };
  });
  return (f as unknown as (t: Tensor) => Tensor)(x);
}

/**
 * Symmetric int8 weight fake quantization, per channel along `axis` (or per
 * tensor when axis is undefined): scale = max|w| / 127 from the current
 * weights (an all-zero channel keeps its zeros), zero point 0, values in
 * [-127, 127]. The weights always lie inside their range, so the STE passes
 * the gradient through unchanged; the scale gets none.
 */
export function fakeQuantWeight(tf: Tf, w: Tensor, axis?: number): Tensor {
  const f = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as Tensor;
    const reduce = axis === undefined ? undefined : w.shape.map((_, i) => i).filter((i) => i !== axis);
    const absmax = axis === undefined ? tf.max(tf.abs(input)) : tf.max(tf.abs(input), reduce, true);
    const scale = tf.where(tf.greater(absmax, 0), tf.div(absmax, tf.scalar(127)), tf.onesLike(absmax));
    const q = tf.clipByValue(tf.round(tf.div(input, scale)), -127, 127);
    return { value: tf.mul(q, scale), gradFunc: (dy: Tensor | Tensor[]) => [dy as Tensor] };
  });
  return (f as unknown as (t: Tensor) => Tensor)(w);
}

/**
 * Fake quantization with a learnable per-tensor scale `s` (a scalar tensor,
 * usually a tf.Variable): LSQ (Esser et al. 2020, "Learned Step Size
 * Quantization"). Forward as fakeQuantTensor with scale s; gradients, with
 * v = x / s and the integer range [lo, hi] = [qmin - z, qmax - z]:
 *   dy/dx = 1 for v in [lo, hi], else 0 (STE);
 *   dy/ds = round(v) - v inside, lo below, hi above, times the LSQ gradient
 *           scale 1 / sqrt(N * Qp) (N elements of x, Qp = max(hi, -lo)).
 * The zero point stays fixed.
 */
export function fakeQuantLsq(tf: Tf, x: Tensor, s: Tensor, p: { zeroPoint: number; type: QuantType }): Tensor {
  const { qmin, qmax } = typeRange(p.type);
  const z = p.zeroPoint;
  const lo = qmin - z;
  const hi = qmax - z;
  const gScale = 1 / Math.sqrt(x.size * Math.max(hi, -lo, 1));
  const f = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as Tensor;
    const scale = tf.maximum(args[1] as Tensor, tf.scalar(1e-12));
    const save = args[2] as (ts: Tensor[]) => void;
    const v = tf.div(input, scale);
    const r = tf.round(v);
    const q = tf.clipByValue(tf.add(r, tf.scalar(z)), qmin, qmax);
    const value = tf.mul(tf.sub(q, tf.scalar(z)), scale);
    save([v, r]);
    return {
      value,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [sv, sr] = saved as [Tensor, Tensor];
        const d = dy as Tensor;
        const below = tf.less(sv, tf.scalar(lo));
        const above = tf.greater(sv, tf.scalar(hi));
        const inside = tf.logicalNot(tf.logicalOr(below, above));
        const dx = tf.mul(d, tf.cast(inside, 'float32'));
        const local = tf.where(inside, tf.sub(sr, sv), tf.where(below, tf.fill(sv.shape, lo), tf.fill(sv.shape, hi)));
        const ds = tf.mul(tf.sum(tf.mul(d, local)), tf.scalar(gScale));
        return [dx, ds];
      },
    };
  });
  return (f as unknown as (a: Tensor, b: Tensor) => Tensor)(x, s);
}
