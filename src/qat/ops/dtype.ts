// ONNX element types on tfjs' three dtypes. tfjs holds float32, int32 and bool
// only, so:
//   float32                                     -> float32
//   int8, uint8, int16, uint16, int32           -> int32 (exact)
//   int64                                       -> int32, values clamped to
//        [-2^31, 2^31-1] (INT64_MAX Slice ends and the like keep their meaning:
//        "past the end"; real shapes, axes and indices are far smaller)
//   bool                                        -> bool
//   float64, float16, bfloat16, uint32, uint64, string -> not supported
// Integer arithmetic runs in int32: uint8/int8 results that would wrap in ONNX
// are not wrapped (nothing in a QAT graph relies on wrapping).
import type { DataType as TfDtype, Tensor } from '@tensorflow/tfjs';
import type { onnx } from '../../onnx/proto/onnx.js';
import { elemTypeName, tensorToArray, type DecodedTensor, type ElemType } from '../../onnx/tensor.js';
import type { Tf } from '../tf.js';

export type TfDtypeName = Extract<TfDtype, 'float32' | 'int32' | 'bool'>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The tfjs dtype holding an ONNX element type, or undefined when tfjs cannot hold it. */
export function tfDtypeOf(type: ElemType | 'unknown' | undefined): TfDtypeName | undefined {
  switch (type) {
    case 'float32': return 'float32';
    case 'int8': case 'uint8': case 'int16': case 'uint16': case 'int32': case 'int64': return 'int32';
    case 'bool': return 'bool';
    default: return undefined;
  }
}

/** Same, from an ONNX TensorProto.DataType code. */
export function tfDtypeOfCode(code: number): TfDtypeName | undefined {
  return tfDtypeOf(elemTypeName(code));
}

/** Clamps an integer to the int32 range (int64 values such as INT64_MAX). */
export function clampInt32(v: number): number {
  return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v;
}

/** Typed-array values converted for tfjs: Float32Array, Int32Array or Uint8Array (bool). */
export function tfValues(d: DecodedTensor, what: string): { dtype: TfDtypeName; values: Float32Array | Int32Array | Uint8Array } {
  const dtype = tfDtypeOf(d.type);
  if (!dtype) throw new Error(`${what}: element type ${d.type} has no TensorFlow.js equivalent (float32, int8..int64 and bool are supported)`);
  if (dtype === 'float32') return { dtype, values: d.data as Float32Array };
  if (dtype === 'bool') return { dtype, values: Uint8Array.from(d.data as Uint8Array, (v) => (v ? 1 : 0)) };
  const out = new Int32Array(d.data.length);
  if (d.data instanceof BigInt64Array) {
    for (let i = 0; i < out.length; i++) {
      const v = d.data[i]!;
      out[i] = v > 2147483647n ? INT32_MAX : v < -2147483648n ? INT32_MIN : Number(v);
    }
  } else {
    out.set(d.data as ArrayLike<number>);
  }
  return { dtype, values: out };
}

/** A tfjs tensor holding a TensorProto's values (see the type mapping above). */
export function tensorFromProto(tf: Tf, t: onnx.ITensorProto): Tensor {
  const d = tensorToArray(t);
  const { dtype, values } = tfValues(d, `tensor '${t.name ?? ''}'`);
  return tf.tensor(values, d.dims, dtype);
}
