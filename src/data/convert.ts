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

/** The element type data of dtype `from` has once converted for an input of type `target`. */
export function convertedType(from: NpyDtype, target: ElemType | 'unknown'): NpyDtype {
  return target === 'unknown' ? from : (target as NpyDtype);
}

/** Throws an InputError naming both types unless `from` data can feed a `target` input. */
export function checkConvertible(from: NpyDtype, target: ElemType | 'unknown', path: string, input: string): void {
  if (target === 'unknown' || from === target) return;
  const accepted = ACCEPTS[target];
  if (!accepted?.includes(from)) {
    const hint = accepted ? `; save it as ${target}` : `; qtool feeds ${target} inputs only with ${target} data`;
    throw fileError(path, `input '${input}' is ${target}, the data is ${from}${hint}`);
  }
}

/**
 * `src` (values of dtype `from`) as `target`: `src` itself when nothing
 * changes, else a new array. `offset` is the flat index of src[0] in the whole
 * array, so errors name the value's index in the file.
 */
export function convertValues(src: TypedArray, from: NpyDtype, target: ElemType | 'unknown', path: string, input: string, offset = 0): TypedArray {
  checkConvertible(from, target, path, input);
  if (target === 'unknown' || from === target) return src;
  const n = src.length;
  const out = MAKE[target]!(n);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) out[i] = BigInt(src[i] as number);
  } else if (from === 'int64' || (from === 'int32' && target === 'float32')) {
    // Wide integers fit only within the target's exact range; check each value.
    const [lo, hi, why] = EXACT_RANGE[target]!;
    for (let i = 0; i < n; i++) {
      const v = Number(src[i]!);
      if (!(v >= lo && v <= hi)) {
        throw fileError(path, `input '${input}' is ${target}, and the ${from} data holds ${src[i]} at index ${offset + i}, which ${target} cannot hold exactly (${why})`);
      }
      out[i] = v;
    }
  } else if (from === 'float64' && target === 'float32') {
    // Out-of-range values would turn into Inf; NaN and Inf themselves are reported later.
    for (let i = 0; i < n; i++) {
      const v = src[i] as number;
      const f = Math.fround(v);
      if (!Number.isFinite(f) && Number.isFinite(v)) throw fileError(path, `input '${input}' is float32, and the float64 data holds ${v} at index ${offset + i}, outside the float32 range`);
      out[i] = f;
    }
  } else {
    // Every remaining pair (small ints, float32 -> float64) is exact by construction.
    (out as Float32Array | Float64Array | Int32Array).set(src as Float32Array);
  }
  return out;
}

/**
 * Returns `arr` as `target` (the same object when nothing changes), or throws
 * an InputError naming both types. `target` 'unknown' keeps the data as it is.
 * `offset`: the flat index of arr.data[0] in the whole file, for error messages
 * about a chunk.
 */
export function convertForInput(arr: NdArray, target: ElemType | 'unknown', path: string, input: string, offset = 0): NdArray {
  const data = convertValues(arr.data, arr.dtype, target, path, input, offset);
  return data === arr.data ? arr : { dtype: convertedType(arr.dtype, target), shape: arr.shape, data };
}

/**
 * Counts NaN and Inf over an array seen in one piece or in consecutive chunks,
 * then throws if there were any: they would poison ranges and histograms.
 */
export class NonFiniteCount {
  nan = 0;
  inf = 0;
  /** Flat index of the first NaN/Inf in the whole array, or -1. */
  first = -1;

  /** `offset`: the flat index of d[0] in the whole array. */
  add(d: TypedArray, offset = 0): void {
    if (!(d instanceof Float32Array || d instanceof Float64Array)) return;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v - v !== 0) {
        // v - v is NaN exactly for NaN and +-Inf: one test in the common case.
        if (Number.isNaN(v)) this.nan++;
        else this.inf++;
        if (this.first < 0) this.first = offset + i;
      }
    }
  }

  /** `shape`: the whole array's, samples on axis 0, to name the first bad sample. */
  check(shape: readonly number[], path: string, input: string): void {
    const { nan, inf, first } = this;
    if (nan + inf === 0) return;
    const parts = [nan ? `${nan} NaN` : '', inf ? `${inf} Inf` : ''].filter(Boolean).join(' and ');
    const total = shape.reduce((a, b) => a * b, 1);
    const perSample = shape.length > 0 && shape[0]! > 0 ? total / shape[0]! : total;
    const sample = perSample > 0 ? Math.floor(first / perSample) : 0;
    throw fileError(path, `input '${input}' holds ${parts} value${nan + inf === 1 ? '' : 's'} (first in sample ${sample})`);
  }
}

/** Throws if float data holds NaN or Inf: they would poison ranges and histograms. */
export function checkFinite(arr: NdArray, path: string, input: string): void {
  const count = new NonFiniteCount();
  count.add(arr.data);
  count.check(arr.shape, path, input);
}
