// ONNX TensorProto <-> typed arrays. Only raw little-endian storage is written;
// every storage form the spec allows is read, except external data.
import Long from 'long';
import { onnx } from './proto/onnx.js';

export const DataType = onnx.TensorProto.DataType;

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export type ElemType =
  | 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16'
  | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

interface ElemInfo {
  name: ElemType;
  bytes: number;
  make: (n: number) => TypedArray;
  view: (buf: ArrayBuffer, byteOffset: number, n: number) => TypedArray;
}

const INFO: Record<number, ElemInfo> = {
  [DataType.FLOAT]: { name: 'float32', bytes: 4, make: (n) => new Float32Array(n), view: (b, o, n) => new Float32Array(b, o, n) },
  [DataType.DOUBLE]: { name: 'float64', bytes: 8, make: (n) => new Float64Array(n), view: (b, o, n) => new Float64Array(b, o, n) },
  // float16 stays as raw 16-bit patterns: nothing here does arithmetic on it.
  [DataType.FLOAT16]: { name: 'float16', bytes: 2, make: (n) => new Uint16Array(n), view: (b, o, n) => new Uint16Array(b, o, n) },
  [DataType.INT8]: { name: 'int8', bytes: 1, make: (n) => new Int8Array(n), view: (b, o, n) => new Int8Array(b, o, n) },
  [DataType.UINT8]: { name: 'uint8', bytes: 1, make: (n) => new Uint8Array(n), view: (b, o, n) => new Uint8Array(b, o, n) },
  [DataType.BOOL]: { name: 'bool', bytes: 1, make: (n) => new Uint8Array(n), view: (b, o, n) => new Uint8Array(b, o, n) },
  [DataType.INT16]: { name: 'int16', bytes: 2, make: (n) => new Int16Array(n), view: (b, o, n) => new Int16Array(b, o, n) },
  [DataType.UINT16]: { name: 'uint16', bytes: 2, make: (n) => new Uint16Array(n), view: (b, o, n) => new Uint16Array(b, o, n) },
  [DataType.INT32]: { name: 'int32', bytes: 4, make: (n) => new Int32Array(n), view: (b, o, n) => new Int32Array(b, o, n) },
  [DataType.UINT32]: { name: 'uint32', bytes: 4, make: (n) => new Uint32Array(n), view: (b, o, n) => new Uint32Array(b, o, n) },
  [DataType.INT64]: { name: 'int64', bytes: 8, make: (n) => new BigInt64Array(n), view: (b, o, n) => new BigInt64Array(b, o, n) },
  [DataType.UINT64]: { name: 'uint64', bytes: 8, make: (n) => new BigUint64Array(n), view: (b, o, n) => new BigUint64Array(b, o, n) },
};

export function elemTypeName(dataType: number): ElemType | undefined {
  return INFO[dataType]?.name;
}

/** Bytes per element of an ONNX data type; undefined for types without a fixed size (strings) or unknown ones. */
export function elemBytes(dataType: number): number | undefined {
  return INFO[dataType]?.bytes;
}

export function dataTypeOf(name: ElemType): number {
  for (const [code, info] of Object.entries(INFO)) if (info.name === name) return Number(code);
  throw new Error(`unknown element type ${name}`);
}

/** int64 fields decode as Long (exact) or number; this gives a JS number. */
export function toNumber(v: number | Long | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : Long.fromValue(v).toNumber();
}

export function dimsOf(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number | Long));
}

export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export interface DecodedTensor {
  type: ElemType;
  dims: number[];
  data: TypedArray;
}

/** Reads the values of a TensorProto into a fresh typed array. */
export function tensorToArray(t: onnx.ITensorProto): DecodedTensor {
  const info = INFO[t.data_type ?? 0];
  if (!info) throw new Error(`tensor '${t.name}': unsupported data type ${t.data_type}`);
  if (t.data_location === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new Error(`tensor '${t.name}': external data is not supported; save the model with all tensors inside it`);
  }
  const dims = dimsOf(t);
  const n = sizeOf(dims);
  const out = info.make(n);
  if (t.raw_data && t.raw_data.length > 0) {
    if (t.raw_data.length !== n * info.bytes) {
      throw new Error(`tensor '${t.name}': raw_data holds ${t.raw_data.length} bytes, dims need ${n * info.bytes}`);
    }
    // Copy through bytes: raw_data is rarely aligned for a typed-array view.
    new Uint8Array(out.buffer).set(t.raw_data);
    return { type: info.name, dims, data: out };
  }
  const src: ArrayLike<number | Long> | undefined =
    info.name === 'float32' ? t.float_data ?? undefined
    : info.name === 'float64' ? t.double_data ?? undefined
    : info.name === 'int64' ? (t.int64_data as (number | Long)[]) ?? undefined
    : info.name === 'uint64' || info.name === 'uint32' ? (t.uint64_data as (number | Long)[]) ?? undefined
    : t.int32_data ?? undefined;
  const len = src?.length ?? 0;
  if (len !== n) throw new Error(`tensor '${t.name}': holds ${len} values, dims need ${n}`);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = BigInt(Long.fromValue(src![i] as Long | number).toString());
  } else {
    for (let i = 0; i < n; i++) out[i] = toNumber(src![i]);
  }
  return { type: info.name, dims, data: out };
}

/**
 * The value of a one-element initializer (a Clip bound, a GELU constant), or
 * undefined when `name` is not an initializer or holds more than one value.
 */
export function scalarOf(name: string | undefined, inits: ReadonlyMap<string, onnx.ITensorProto>): number | undefined {
  const t = name ? inits.get(name) : undefined;
  if (!t) return undefined;
  const d = tensorToArray(t).data;
  return d.length === 1 ? Number(d[0]) : undefined;
}

/** A TensorProto holding `data` as raw little-endian bytes. */
export function makeTensor(name: string, type: ElemType, dims: readonly number[], data: TypedArray): onnx.TensorProto {
  if (data.length !== sizeOf(dims)) throw new Error(`makeTensor ${name}: ${data.length} values for dims [${dims}]`);
  return onnx.TensorProto.create({
    name,
    data_type: dataTypeOf(type),
    dims: [...dims],
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
  });
}

