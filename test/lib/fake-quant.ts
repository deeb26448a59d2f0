// Fake quantization: dequantize(quantize(x)) in float32, without building the
// integer tensor. The tests' float reference for what a QDQ pair does to a
// tensor (calibrator errors, the tfjs fake-quant ops).
import { axisLayout, roundHalfEven, typeRange, type QuantType } from '../../src/quant/qparams.js';

function checkScale(scale: number, zeroPoint: number, type: QuantType): void {
  const { qmin, qmax } = typeRange(type);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`scale must be positive and finite, got ${scale}`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < qmin || zeroPoint > qmax) throw new RangeError(`zero point ${zeroPoint} is not a ${type} value`);
}

/** Same arithmetic as quantizeLinear then dequantizeLinear, value by value. */
function fakeQuantRun(x: Float32Array, y: Float32Array, start: number, end: number, scale: number, zp: number, qmin: number, qmax: number): void {
  const s = Math.fround(scale);
  for (let i = start; i < end; i++) {
    const v = x[i];
    if (v !== v) { y[i] = 0; continue; } // quantizeLinear maps NaN to the zero point
    let q = roundHalfEven(Math.fround(v / s)) + zp;
    q = q < qmin ? qmin : q > qmax ? qmax : q;
    y[i] = (q - zp) * s;
  }
}

/** dequantize(quantize(x)); writes into `out`, which defaults to x itself (in place). */
export function fakeQuant(x: Float32Array, scale: number, zeroPoint: number, type: QuantType, out: Float32Array = x): Float32Array {
  checkScale(scale, zeroPoint, type);
  if (out.length !== x.length) throw new RangeError(`out holds ${out.length} values, x ${x.length}`);
  const { qmin, qmax } = typeRange(type);
  fakeQuantRun(x, out, 0, x.length, scale, zeroPoint, qmin, qmax);
  return out;
}

/** Per-axis fake quantization (one scale / zero point per channel along `axis`). */
export function fakeQuantPerAxis(
  x: Float32Array, dims: readonly number[], axis: number,
  scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, type: QuantType, out: Float32Array = x,
): Float32Array {
  const { outer, channels, inner } = axisLayout(dims, axis, x.length);
  if (scales.length !== channels || zeroPoints.length !== channels) {
    throw new RangeError(`per-axis fake quantization of ${channels} channels got ${scales.length} scales and ${zeroPoints.length} zero points`);
  }
  for (let c = 0; c < channels; c++) checkScale(scales[c], zeroPoints[c], type);
  if (out.length !== x.length) throw new RangeError(`out holds ${out.length} values, x ${x.length}`);
  const { qmin, qmax } = typeRange(type);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++, i += inner) fakeQuantRun(x, out, i, i + inner, scales[c], zeroPoints[c], qmin, qmax);
  }
  return out;
}
