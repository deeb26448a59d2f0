// Converting a data array to a model input's element type. Only conversions
// that keep every value exact are made: a silent rounding here would change
// calibration ranges and accuracy numbers without anyone noticing.
import { fileError } from '../util/errors.js';
import type { ElemType, TypedArray } from '../onnx/tensor.js';
import type { NdArray, NpyDtype } from './npy.js';

/** Source dtypes each target accepts. Integers into floats are range-checked below. */
const ACCEPTS: Partial<Record<ElemType, readonly NpyDtype[]>> = {
  float32: ['float32', 'float64', 'uint8', 'int8', 'int16', 'uint16', 'int32', 'int64'],
  float64: ['float64', 'float32', 'uint8', 'int8', 'int16', 'uint16', 'int32', 'int64'],
  int64: ['int64', 'int32', 'int16', 'int8', 'uint16', 'uint8'],
  int32: ['int32', 'int16', 'int8', 'uint16', 'uint8', 'int64'],
};

/** The integers each target holds exactly: floats up to their mantissa width. */
const EXACT_RANGE: Partial<Record<ElemType, [number, number, string]>> = {
  float32: [-(2 ** 24), 2 ** 24, '|v| > 2^24'],
  float64: [-(2 ** 53), 2 ** 53, '|v| > 2^53'],
  int32: [-(2 ** 31), 2 ** 31 - 1, 'outside the int32 range'],
};

const MAKE: Partial<Record<ElemType, (n: number) => TypedArray>> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int64: (n) => new BigInt64Array(n),
  int32: (n) => new Int32Array(n),
};

/**
 * Returns `arr` as `target` (the same object when nothing changes), or throws
 * an InputError naming both types. `target` 'unknown' keeps the data as it is.
 */
export function convertForInput(arr: NdArray, target: ElemType | 'unknown', path: string, input: string): NdArray {
  if (target === 'unknown' || arr.dtype === target) return arr;
  const accepted = ACCEPTS[target];
  if (!accepted?.includes(arr.dtype)) {
    const hint = accepted ? `; save it as ${target}` : `; qtool feeds ${target} inputs only with ${target} data`;
    throw fileError(path, `input '${input}' is ${target}, the data is ${arr.dtype}${hint}`);
  }
  const src = arr.data;
  const n = src.length;
  const out = MAKE[target]!(n);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) out[i] = BigInt(src[i] as number);
  } else if (arr.dtype === 'int64' || (arr.dtype === 'int32' && target === 'float32')) {
    // Wide integers fit only within the target's exact range; check each value.
    const [lo, hi, why] = EXACT_RANGE[target]!;
    for (let i = 0; i < n; i++) {
      const v = Number(src[i]!);
      if (!(v >= lo && v <= hi)) {
        throw fileError(path, `input '${input}' is ${target}, and the ${arr.dtype} data holds ${src[i]} at index ${i}, which ${target} cannot hold exactly (${why})`);
      }
      out[i] = v;
    }
  } else if (arr.dtype === 'float64' && target === 'float32') {
    // Out-of-range values would turn into Inf; NaN and Inf themselves are reported later.
    for (let i = 0; i < n; i++) {
      const v = src[i] as number;
      const f = Math.fround(v);
      if (!Number.isFinite(f) && Number.isFinite(v)) throw fileError(path, `input '${input}' is float32, and the float64 data holds ${v} at index ${i}, outside the float32 range`);
      out[i] = f;
    }
  } else {
    // Every remaining pair (small ints, float32 -> float64) is exact by construction.
    (out as Float32Array | Float64Array | Int32Array).set(src as Float32Array);
  }
  return { dtype: target as NpyDtype, shape: arr.shape, data: out };
}

/** Throws if float data holds NaN or Inf: they would poison ranges and histograms. */
export function checkFinite(arr: NdArray, path: string, input: string): void {
  const d = arr.data;
  if (!(d instanceof Float32Array || d instanceof Float64Array)) return;
  let nan = 0;
  let inf = 0;
  let first = -1;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v - v !== 0) {
      // v - v is NaN exactly for NaN and +-Inf: one test in the common case.
      if (Number.isNaN(v)) nan++;
      else inf++;
      if (first < 0) first = i;
    }
  }
  if (nan + inf === 0) return;
  const parts = [nan ? `${nan} NaN` : '', inf ? `${inf} Inf` : ''].filter(Boolean).join(' and ');
  const perSample = arr.shape.length > 0 && arr.shape[0]! > 0 ? d.length / arr.shape[0]! : d.length;
  const sample = perSample > 0 ? Math.floor(first / perSample) : 0;
  throw fileError(path, `input '${input}' holds ${parts} value${nan + inf === 1 ? '' : 's'} (first in sample ${sample})`);
}
