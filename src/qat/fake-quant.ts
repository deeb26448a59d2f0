// Fake quantization for QAT in TensorFlow.js, with the straight-through
// estimator (Bengio et al. 2013; Jacob et al. 2018; pytorch-quantization's
// TensorQuantFunction):
//   forward:  y = (clamp(round_half_even(x / s) + z, qmin, qmax) - z) * s
//             exactly ONNX QuantizeLinear then DequantizeLinear in float32
//             (tf.round rounds half to even, x / s is a float32 division);
//   backward: dy where x lies in [(qmin - z) s, (qmax - z) s], 0 outside.
// fakeQuantTensorFused is the same in TensorFlow's fused op (native backend
// only; equal up to float rounding). Scales and zero points get no gradient
// in these two: activations keep their calibrated parameters, weights
// recompute theirs from the current weights on every step (symmetric int8,
// zero point 0, scale = max|w| / 127 per output channel or per tensor), as
// pytorch-quantization does. The LSQ variants below learn the scales
// (activations: fakeQuantLsq; weights: fakeQuantWeightLsq).
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';
import type { NativeOps } from './tf-native.js';
import { FLOAT32_TINY, typeRange, type QuantType } from '../quant/qparams.js';

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
    // clamp(r + z, qmin, qmax) - z == clamp(r + 0, qmin - z, qmax - z) for the
    // integer-valued r = round(x / s), bit for bit: one full-size op fewer.
    // (+ 0 turns round's -0 into +0, as r + z - z does.)
    const value = tf.mul(tf.clipByValue(tf.add(tf.round(tf.div(input, s)), 0), qmin - z, qmax - z), s);
    // The input, not a mask: the STE mask is built only when a gradient is asked for.
    save([input]);
    return {
      value,
      // x in [lo, hi] <=> clamp(x, lo, hi) == x (NaN is outside either way).
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => [tf.mul(dy as Tensor, tf.cast(tf.equal(tf.clipByValue(saved[0]!, lo, hi), saved[0]!), 'float32'))],
    };
  });
  return (f as unknown as (t: Tensor) => Tensor)(x);
}

/**
 * fakeQuantTensor in one fused TensorFlow op per direction,
 * FakeQuantWithMinMaxArgs and its gradient (what TensorFlow's own QAT runs),
 * for the native backend: one pass over the tensor instead of five forward
 * and four backward, which is most of QAT's overhead on a small CNN. Same
 * grid and gradient range, [lo, hi] = [(qmin - z) s, (qmax - z) s], but the
 * op works with its own step (hi - lo) / 255, multiplies by its inverse and
 * rounds half up, where QuantizeLinear divides by s and rounds half to even.
 * So when that step rounds differently from s, levels move by a few float32
 * ulps, and an input within rounding of a midpoint could land one level away
 * (test/qat-train.test.ts counts both). The exported model's parity with the
 * trained one is measured end to end either way.
 */
export function fakeQuantTensorFused(tf: Tf, native: NativeOps, x: Tensor, p: ActivationQParams): Tensor {
  const { qmin, qmax } = typeRange(p.type);
  const s = Math.fround(p.scale);
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`fake quant: scale must be positive and finite, got ${p.scale}`);
  const attrs = [
    { name: 'min', value: Math.fround((qmin - p.zeroPoint) * s) },
    { name: 'max', value: Math.fround((qmax - p.zeroPoint) * s) },
    { name: 'num_bits', value: 8 },
    { name: 'narrow_range', value: false },
  ];
  const floats = ['min', 'max'];
  const f = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as Tensor;
    (args[1] as (ts: Tensor[]) => void)([input]);
    return {
      value: native.run('FakeQuantWithMinMaxArgs', attrs, [input], floats),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => [native.run('FakeQuantWithMinMaxArgsGradient', attrs, [dy as Tensor, saved[0]!], floats)],
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
    // A channel whose scale would be subnormal is a zero range, as the exported weights treat it: its
    // weights quantize to 0. (Paddle's dead channels hold 1e-40s; TensorFlow flushes such a scale to 0.)
    const scale = tf.where(tf.greaterEqual(absmax, 127 * FLOAT32_TINY), tf.div(absmax, tf.scalar(127)), tf.onesLike(absmax));
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
  return lsq(tf, x, s, qmin - p.zeroPoint, qmax - p.zeroPoint, undefined);
}

/**
 * fakeQuantLsq in TensorFlow's fused ops, for the native backend:
 * FakeQuantWithMinMaxVars forward on [lo s, hi s]; backward, its gradient op
 * gives the STE input gradient dx and the sums of dy below and above the
 * range, from which LSQ's step-size gradient follows without re-rounding:
 *   ds = (sum(dx (y - x)) / s + lo sum(dy below) + hi sum(dy above)) g
 * since y - x = (round(v) - v) s inside the range (dx is 0 outside). The
 * forward is fakeQuantTensorFused's (the same rounding caveat).
 */
export function fakeQuantLsqFused(tf: Tf, native: NativeOps, x: Tensor, s: Tensor, p: { zeroPoint: number; type: QuantType }): Tensor {
  const { qmin, qmax } = typeRange(p.type);
  const lo = qmin - p.zeroPoint;
  const hi = qmax - p.zeroPoint;
  const gScale = lsqGradScale(x.size, lo, hi);
  const attrs = [{ name: 'num_bits', value: 8 }, { name: 'narrow_range', value: false }];
  const f = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as Tensor;
    const scale = tf.maximum(args[1] as Tensor, 1e-12);
    const save = args[2] as (ts: Tensor[]) => void;
    const min = tf.mul(scale, lo);
    const max = tf.mul(scale, hi);
    const y = native.run('FakeQuantWithMinMaxVars', attrs, [input, min, max]);
    save([input, y, scale, min, max]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [sx, sy, ss, smin, smax] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
        const [dx, below, above] = native.runMulti('FakeQuantWithMinMaxVarsGradient', attrs, [dy as Tensor, sx, smin, smax], 3) as [Tensor, Tensor, Tensor];
        const inside = tf.div(tf.sum(tf.mul(dx, tf.sub(sy, sx))), ss);
        const ds = tf.mul(tf.add(inside, tf.add(tf.mul(below, lo), tf.mul(above, hi))), gScale);
        return [dx, ds];
      },
    };
  });
  return (f as unknown as (a: Tensor, b: Tensor) => Tensor)(x, s);
}

/**
 * Symmetric int8 weight fake quantization with learnable scales `s` (LSQ on
 * the weights): one scale per output channel along `axis` (s shaped to
 * broadcast against w: size 1 on every other axis) or one scalar scale when
 * axis is undefined; values in [-127, 127], zero point 0. Unlike
 * fakeQuantWeight's max|w| / 127, a learned scale may clip a channel's
 * outliers to give its other weights a finer grid; clipped weights get no
 * gradient (STE), the scale gets LSQ's, with N the elements per scale.
 */
export function fakeQuantWeightLsq(tf: Tf, w: Tensor, s: Tensor, axis?: number): Tensor {
  return lsq(tf, w, s, -127, 127, axis === undefined ? undefined : w.shape.map((_, i) => i).filter((i) => i !== axis));
}

/** LSQ's gradient scale 1 / sqrt(N Qp): N elements per scale, Qp = max(hi, -lo). */
function lsqGradScale(n: number, lo: number, hi: number): number {
  return 1 / Math.sqrt(n * Math.max(hi, -lo, 1));
}

/** LSQ over the integer range [lo, hi]; `reduce`: the axes a per-channel scale's gradient sums over (undefined: scalar scale). */
function lsq(tf: Tf, x: Tensor, s: Tensor, lo: number, hi: number, reduce: number[] | undefined): Tensor {
  const gScale = lsqGradScale(x.size / Math.max(s.size, 1), lo, hi);
  const f = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as Tensor;
    const scale = tf.maximum(args[1] as Tensor, 1e-12);
    const save = args[2] as (ts: Tensor[]) => void;
    const v = tf.div(input, scale);
    // c = clamp(round(v) + 0, lo, hi): the integer fakeQuantTensor dequantizes (+0, never -0), and
    // the gradient's local term outside the range (v < lo rounds to at most lo, v > hi to at least hi).
    const c = tf.clipByValue(tf.add(tf.round(v), 0), lo, hi);
    save([v, c]);
    return {
      value: tf.mul(c, scale),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [sv, sc] = saved as [Tensor, Tensor];
        const d = dy as Tensor;
        // NaN counts as inside, as !(v < lo || v > hi) has it.
        const inside = tf.logicalNot(tf.logicalOr(tf.less(sv, lo), tf.greater(sv, hi)));
        const dx = tf.mul(d, tf.cast(inside, 'float32'));
        // round(v) - v inside (c == round(v) there), lo below, hi above.
        const local = tf.mul(d, tf.where(inside, tf.sub(sc, sv), sc));
        const ds = tf.mul(reduce ? tf.sum(local, reduce, true) : tf.sum(local), gScale);
        return [dx, ds];
      },
    };
  });
  return (f as unknown as (a: Tensor, b: Tensor) => Tensor)(x, s);
}
