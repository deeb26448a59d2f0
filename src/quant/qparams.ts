// Scale / zero point from a real range, and ONNX QuantizeLinear /
// DequantizeLinear on typed arrays. The formulas are ONNX Runtime's
// (onnxruntime/python/tools/quantization/quant_utils.py: get_qmin_qmax_for_qType,
// compute_scale_zp, quantize_data) so that a model written by qtool holds the
// same numbers ORT's own quantizer would write.

/** The quantized integer types: uint8 (asymmetric activations, fast on x86) and int8. */
export const QUANT_TYPES = ['uint8', 'int8'] as const;
export type QuantType = (typeof QUANT_TYPES)[number];
export type QuantArray = Uint8Array | Int8Array;

export interface QParams {
  /** A float32 value: what the model stores. */
  scale: number;
  zeroPoint: number;
}

export interface QRange {
  qmin: number;
  qmax: number;
}

/** The float32 smallest normal: ORT treats a smaller scale as a zero range. */
export const FLOAT32_TINY = 2 ** -126;

/**
 * Scale given to all-zero weight tensors / channels by the weight quantizers.
 * Not 1 (ORT's zero-range scale) and never 0 or NaN: small next to any real
 * int8 weight scale, yet large enough that a bias quantized with
 * input_scale * weight_scale still fits int32 for ordinary bias values.
 */
export const ZERO_RANGE_WEIGHT_SCALE = 2 ** -16;

/** Values QuantizeLinear saturates to: the whole integer type. */
export function typeRange(type: QuantType): QRange {
  return type === 'int8' ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
}

/**
 * The integer range the scale is computed for (ORT's get_qmin_qmax_for_qType):
 * symmetric int8 uses the restricted [-127, 127] so that the range is
 * symmetric around zero point 0; uint8 always uses [0, 255].
 */
export function qRange(type: QuantType, symmetric: boolean): QRange {
  if (type === 'int8') return symmetric ? { qmin: -127, qmax: 127 } : { qmin: -128, qmax: 127 };
  return { qmin: 0, qmax: 255 };
}

/** Round half to even, like numpy.rint / std::nearbyint in ONNX and ORT. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // rounds .5 towards +Infinity
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * ORT's compute_scale_zp. The range is widened to contain 0 (so that 0 is
 * exact); rmin/rmax are float32 values and their difference is taken in
 * float32, as numpy does on ORT's float32 arrays; the zero point is computed
 * from the float64 scale and the scale is then stored as float32. A scale
 * below the float32 smallest normal means "zero range": scale 1, zero point 0.
 */
export function computeScaleZeroPoint(rmin: number, rmax: number, qmin: number, qmax: number, symmetric: boolean): QParams {
  const p = scaleZeroPoint(rmin, rmax, qmin, qmax, symmetric);
  return p ?? { scale: 1, zeroPoint: 0 };
}

/** compute_scale_zp without the zero-range fallback: null for a zero range. */
function scaleZeroPoint(rmin: number, rmax: number, qmin: number, qmax: number, symmetric: boolean): QParams | null {
  if (!Number.isFinite(rmin) || !Number.isFinite(rmax)) throw new RangeError(`range [${rmin}, ${rmax}] is not finite`);
  if (qmin > 0 || qmax < 0 || qmin >= qmax) throw new RangeError(`integer range [${qmin}, ${qmax}] must contain 0`);
  let lo = Math.min(Math.fround(rmin), 0);
  let hi = Math.max(Math.fround(rmax), 0);
  if (symmetric) {
    const absmax = Math.max(-lo, hi);
    lo = -absmax;
    hi = absmax;
  }
  const scale = Math.fround(hi - lo) / (qmax - qmin);
  if (!(scale >= FLOAT32_TINY)) return null;
  // Symmetric: ORT uses round((qmax + qmin) / 2) so that every channel gets
  // the same zero point (0 for int8, 128 for uint8), independent of scale.
  const zp = symmetric ? roundHalfEven((qmax + qmin) / 2) : roundHalfEven(qmin - lo / scale);
  return { scale: Math.fround(scale), zeroPoint: Math.min(qmax, Math.max(qmin, zp)) + 0 };
}

/** Scale and zero point for a calibrated range, ORT's way. */
export function qparamsFromRange(min: number, max: number, opts: { type: QuantType; symmetric: boolean }): QParams {
  const { qmin, qmax } = qRange(opts.type, opts.symmetric);
  return computeScaleZeroPoint(min, max, qmin, qmax, opts.symmetric);
}

function checkParams(scale: number, zeroPoint: number, type: QuantType): void {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`scale must be positive and finite, got ${scale}`);
  const { qmin, qmax } = typeRange(type);
  if (!Number.isInteger(zeroPoint) || zeroPoint < qmin || zeroPoint > qmax) {
    throw new RangeError(`zero point ${zeroPoint} is not a ${type} value`);
  }
}

function makeQuantArray(type: QuantType, n: number): QuantArray {
  return type === 'int8' ? new Int8Array(n) : new Uint8Array(n);
}

/** Element type of an existing quantized array. */
export function quantTypeOf(q: QuantArray): QuantType {
  return q instanceof Int8Array ? 'int8' : 'uint8';
}

/**
 * ONNX QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point).
 * x / scale is a float32 division (fround of the exact quotient of two float32
 * values is the float32 quotient), rounded after, as the reference and ORT do.
 * NaN maps to the zero point (it would otherwise become an arbitrary 0).
 */
export function quantizeLinear(x: Float32Array, scale: number, zeroPoint: number, type: 'uint8', out?: Uint8Array): Uint8Array;
export function quantizeLinear(x: Float32Array, scale: number, zeroPoint: number, type: 'int8', out?: Int8Array): Int8Array;
export function quantizeLinear(x: Float32Array, scale: number, zeroPoint: number, type: QuantType, out?: QuantArray): QuantArray;
export function quantizeLinear(x: Float32Array, scale: number, zeroPoint: number, type: QuantType, out?: QuantArray): QuantArray {
  checkParams(scale, zeroPoint, type);
  const y = out ?? makeQuantArray(type, x.length);
  if (y.length !== x.length) throw new RangeError(`out holds ${y.length} values, x ${x.length}`);
  const { qmin, qmax } = typeRange(type);
  const s = Math.fround(scale);
  quantizeRun(x, y, 0, x.length, s, zeroPoint, qmin, qmax);
  return y;
}

function quantizeRun(x: Float32Array, y: QuantArray, start: number, end: number, s: number, zp: number, qmin: number, qmax: number): void {
  for (let i = start; i < end; i++) {
    const v = x[i];
    if (v !== v) { y[i] = zp; continue; }
    const q = roundHalfEven(Math.fround(v / s)) + zp;
    y[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
}

/** ONNX DequantizeLinear: y = (x - zero_point) * scale, in float32. */
export function dequantizeLinear(q: QuantArray, scale: number, zeroPoint: number, out?: Float32Array): Float32Array {
  checkParams(scale, zeroPoint, quantTypeOf(q));
  const y = out ?? new Float32Array(q.length);
  if (y.length !== q.length) throw new RangeError(`out holds ${y.length} values, q ${q.length}`);
  const s = Math.fround(scale);
  // (q - zp) is a small integer, so the double product is exact and the
  // Float32Array store rounds it once: the float32 product.
  for (let i = 0; i < q.length; i++) y[i] = (q[i] - zeroPoint) * s;
  return y;
}

/** Sizes around `axis`: outer blocks, channels, contiguous inner elements. */
export function axisLayout(dims: readonly number[], axis: number, length: number): { outer: number; channels: number; inner: number } {
  const rank = dims.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis ${axis} is out of range for rank ${rank}`);
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= dims[i];
  for (let i = a + 1; i < rank; i++) inner *= dims[i];
  const channels = dims[a];
  if (outer * channels * inner !== length) throw new RangeError(`dims [${dims}] need ${outer * channels * inner} values, got ${length}`);
  return { outer, channels, inner };
}

function checkPerAxis(channels: number, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, type: QuantType): void {
  if (scales.length !== channels || zeroPoints.length !== channels) {
    throw new RangeError(`per-axis quantization of ${channels} channels got ${scales.length} scales and ${zeroPoints.length} zero points`);
  }
  for (let c = 0; c < channels; c++) checkParams(scales[c], zeroPoints[c], type);
}

/** QuantizeLinear with 1-D scale / zero point along `axis` (opset 13). */
export function quantizeLinearPerAxis(x: Float32Array, dims: readonly number[], axis: number, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, type: 'uint8', out?: Uint8Array): Uint8Array;
export function quantizeLinearPerAxis(x: Float32Array, dims: readonly number[], axis: number, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, type: 'int8', out?: Int8Array): Int8Array;
export function quantizeLinearPerAxis(x: Float32Array, dims: readonly number[], axis: number, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, type: QuantType, out?: QuantArray): QuantArray;
export function quantizeLinearPerAxis(x: Float32Array, dims: readonly number[], axis: number, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, type: QuantType, out?: QuantArray): QuantArray {
  const { outer, channels, inner } = axisLayout(dims, axis, x.length);
  checkPerAxis(channels, scales, zeroPoints, type);
  const y = out ?? makeQuantArray(type, x.length);
  if (y.length !== x.length) throw new RangeError(`out holds ${y.length} values, x ${x.length}`);
  const { qmin, qmax } = typeRange(type);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++, i += inner) {
      quantizeRun(x, y, i, i + inner, Math.fround(scales[c]), zeroPoints[c], qmin, qmax);
    }
  }
  return y;
}

/** DequantizeLinear with 1-D scale / zero point along `axis`. */
export function dequantizeLinearPerAxis(q: QuantArray, dims: readonly number[], axis: number, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, out?: Float32Array): Float32Array {
  const { outer, channels, inner } = axisLayout(dims, axis, q.length);
  checkPerAxis(channels, scales, zeroPoints, quantTypeOf(q));
  const y = out ?? new Float32Array(q.length);
  if (y.length !== q.length) throw new RangeError(`out holds ${y.length} values, q ${q.length}`);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = Math.fround(scales[c]);
      const zp = zeroPoints[c];
      for (const end = i + inner; i < end; i++) y[i] = (q[i] - zp) * s;
    }
  }
  return y;
}

export interface WeightQuantPerTensor<A extends QuantArray> {
  q: A;
  scale: number;
  zeroPoint: number;
}

export interface WeightQuantPerChannel<A extends QuantArray> {
  q: A;
  scales: Float32Array;
  zeroPoints: A;
}

/** ORT's weight qparams, except that a zero range gets ZERO_RANGE_WEIGHT_SCALE. */
function weightParams(lo: number, hi: number, type: QuantType, symmetric: boolean): QParams {
  const { qmin, qmax } = qRange(type, symmetric);
  // Same zero point as the non-degenerate channels (ORT's per-channel kernels
  // want one zero point for all channels); the values all quantize to it.
  return scaleZeroPoint(lo, hi, qmin, qmax, symmetric)
    ?? { scale: ZERO_RANGE_WEIGHT_SCALE, zeroPoint: symmetric ? roundHalfEven((qmax + qmin) / 2) : 0 };
}

/** Per-tensor weight quantization (ORT's quantize_data): int8 symmetric by default. */
export function quantizeWeightPerTensor(data: Float32Array, type?: 'int8', symmetric?: boolean): WeightQuantPerTensor<Int8Array>;
export function quantizeWeightPerTensor(data: Float32Array, type: 'uint8', symmetric?: boolean): WeightQuantPerTensor<Uint8Array>;
export function quantizeWeightPerTensor(data: Float32Array, type?: QuantType, symmetric?: boolean): WeightQuantPerTensor<QuantArray>;
export function quantizeWeightPerTensor(data: Float32Array, type: QuantType = 'int8', symmetric = true): WeightQuantPerTensor<QuantArray> {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  const { scale, zeroPoint } = weightParams(lo, hi, type, symmetric);
  return { q: quantizeLinear(data, scale, zeroPoint, type), scale, zeroPoint };
}

/**
 * Symmetric per-channel weight quantization along `axis` (the output-channel
 * axis): one scale per channel from that channel's absmax, zero point 0 for
 * int8 (128 for uint8). An all-zero channel gets ZERO_RANGE_WEIGHT_SCALE.
 */
export function quantizeWeightPerChannel(data: Float32Array, dims: readonly number[], axis: number, type?: 'int8'): WeightQuantPerChannel<Int8Array>;
export function quantizeWeightPerChannel(data: Float32Array, dims: readonly number[], axis: number, type: 'uint8'): WeightQuantPerChannel<Uint8Array>;
export function quantizeWeightPerChannel(data: Float32Array, dims: readonly number[], axis: number, type?: QuantType): WeightQuantPerChannel<QuantArray>;
export function quantizeWeightPerChannel(data: Float32Array, dims: readonly number[], axis: number, type: QuantType = 'int8'): WeightQuantPerChannel<QuantArray> {
  const { outer, channels, inner } = axisLayout(dims, axis, data.length);
  const absmax = new Float64Array(channels);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let m = absmax[c];
      for (const end = i + inner; i < end; i++) {
        const a = Math.abs(data[i]);
        if (a > m) m = a;
      }
      absmax[c] = m;
    }
  }
  const scales = new Float32Array(channels);
  const zeroPoints = makeQuantArray(type, channels);
  for (let c = 0; c < channels; c++) {
    const p = weightParams(-absmax[c], absmax[c], type, true);
    scales[c] = p.scale;
    zeroPoints[c] = p.zeroPoint;
  }
  const q = quantizeLinearPerAxis(data, dims, axis, scales, zeroPoints, type);
  return { q, scales, zeroPoints };
}
