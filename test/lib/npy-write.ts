// Writing .npy files, for test data (headNpy: the first samples of a sample
// data set) and the benchmarks' generated inputs; qtool itself only reads them
// (src/data/npy.ts). encodeNpy's bytes equal np.save's, which the data tests
// check against numpy-written fixtures.
import { sizeOf, type TypedArray } from '../../src/onnx/tensor.js';
import { readNpy, type NdArray, type NpyDtype } from '../../src/data/npy.js';
import { writeFileAtomic } from '../../src/util/files.js';

/** numpy's descr as np.save writes it, and the typed array that holds the data. */
const DTYPES: Record<NpyDtype, { descr: string; array: new (n: number) => TypedArray }> = {
  float32: { descr: '<f4', array: Float32Array },
  float64: { descr: '<f8', array: Float64Array },
  int64: { descr: '<i8', array: BigInt64Array },
  int32: { descr: '<i4', array: Int32Array },
  int16: { descr: '<i2', array: Int16Array },
  int8: { descr: '|i1', array: Int8Array },
  uint16: { descr: '<u2', array: Uint16Array },
  uint8: { descr: '|u1', array: Uint8Array },
  bool: { descr: '|b1', array: Uint8Array },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
// numpy pads headers so the data starts on a 64-byte boundary, and leaves room
// for axis 0 to grow in place; encodeNpy copies both so its bytes equal np.save's.
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

function pythonTuple(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The .npy bytes np.save would write for this array (format 1.0, or 2.0 for huge headers). */
export function encodeNpy(arr: NdArray): Uint8Array {
  const info = DTYPES[arr.dtype];
  if (!info) throw new Error(`encodeNpy: unsupported dtype ${arr.dtype}`);
  if (!(arr.data instanceof info.array)) throw new Error(`encodeNpy: ${arr.dtype} data in a ${arr.data.constructor.name}`);
  if (arr.data.length !== sizeOf(arr.shape)) throw new Error(`encodeNpy: ${arr.data.length} values for shape [${arr.shape.join(',')}]`);
  let header = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${pythonTuple(arr.shape)}, }`;
  if (arr.shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(arr.shape[0]).length));
  const hlen = header.length + 1; // + the final newline
  let lenBytes = 2;
  let padlen = ARRAY_ALIGN - ((6 + 2 + lenBytes + hlen) % ARRAY_ALIGN);
  if (hlen + padlen > 0xffff) {
    lenBytes = 4;
    padlen = ARRAY_ALIGN - ((6 + 2 + lenBytes + hlen) % ARRAY_ALIGN);
  }
  const prefixLen = 8 + lenBytes;
  const headerTotal = hlen + padlen;
  const out = new Uint8Array(prefixLen + headerTotal + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = lenBytes === 2 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (lenBytes === 2) dv.setUint16(8, headerTotal, true);
  else dv.setUint32(8, headerTotal, true);
  out.set(Buffer.from(header + ' '.repeat(padlen) + '\n', 'latin1'), prefixLen);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), prefixLen + headerTotal);
  return out;
}

/** Writes the array atomically, so an interrupted run leaves no half file. */
export function writeNpy(path: string, arr: NdArray): void {
  writeFileAtomic(path, encodeNpy(arr));
}

/** First `n` samples of an .npy, written to `dst`. */
export function headNpy(src: string, dst: string, n: number): string {
  const a = readNpy(src);
  const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
  writeNpy(dst, { dtype: a.dtype, shape: [n, ...a.shape.slice(1)], data: a.data.slice(0, n * per) });
  return dst;
}
