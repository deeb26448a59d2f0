// The .npy format (numpy.lib.format): magic, version, a Python-dict header,
// then the raw C-order data. Only simple little-endian numeric dtypes are read;
// everything else gets a one-line error that names the file and the fix.
import { fileError } from '../util/errors.js';
import { readInputFile, writeFileAtomic } from '../util/files.js';
import { sizeOf, type TypedArray } from '../onnx/tensor.js';
import { parsePyLiteral, type PyValue } from './pyliteral.js';

export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint16' | 'uint8' | 'bool';

/** An n-dimensional array in C order; `data` is its own aligned buffer. */
export interface NdArray {
  dtype: NpyDtype;
  shape: number[];
  /** bool is stored as Uint8Array (0/1), int64 as BigInt64Array. */
  data: TypedArray;
}

interface DtypeInfo {
  dtype: NpyDtype;
  /** numpy's descr, as np.save writes it. */
  descr: string;
  bytes: number;
  make: (n: number) => TypedArray;
}

const DTYPES: DtypeInfo[] = [
  { dtype: 'float32', descr: '<f4', bytes: 4, make: (n) => new Float32Array(n) },
  { dtype: 'float64', descr: '<f8', bytes: 8, make: (n) => new Float64Array(n) },
  { dtype: 'int64', descr: '<i8', bytes: 8, make: (n) => new BigInt64Array(n) },
  { dtype: 'int32', descr: '<i4', bytes: 4, make: (n) => new Int32Array(n) },
  { dtype: 'int16', descr: '<i2', bytes: 2, make: (n) => new Int16Array(n) },
  { dtype: 'int8', descr: '|i1', bytes: 1, make: (n) => new Int8Array(n) },
  { dtype: 'uint16', descr: '<u2', bytes: 2, make: (n) => new Uint16Array(n) },
  { dtype: 'uint8', descr: '|u1', bytes: 1, make: (n) => new Uint8Array(n) },
  { dtype: 'bool', descr: '|b1', bytes: 1, make: (n) => new Uint8Array(n) },
];
const BY_CODE = new Map(DTYPES.map((d) => [d.descr.slice(1), d]));
const BY_DTYPE = new Map(DTYPES.map((d) => [d.dtype, d]));
export const SUPPORTED_DTYPES: readonly NpyDtype[] = DTYPES.map((d) => d.dtype);

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
// numpy pads headers so the data starts on a 64-byte boundary, and leaves room
// for axis 0 to grow in place; encodeNpy copies both so its bytes equal np.save's.
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

// Data bytes are copied straight into typed arrays, which use the host's order.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// numpy kind letters, so an unsupported dtype is named the way users know it.
const KIND_NAMES: Record<string, string> = {
  f: 'float', i: 'int', u: 'uint', c: 'complex', b: 'bool', O: 'object', U: 'unicode string',
  S: 'byte string', a: 'byte string', V: 'void/raw', M: 'datetime64', m: 'timedelta64',
};

function supportedList(): string {
  return SUPPORTED_DTYPES.join(', ');
}

function describeDescr(descr: string): string {
  const m = /^[<>|=]?([a-zA-Z])(\d*)/.exec(descr);
  if (!m) return `'${descr}'`;
  const [, kind, size] = m;
  const name = KIND_NAMES[kind!];
  if (!name) return `'${descr}'`;
  const sized = (kind === 'f' || kind === 'i' || kind === 'u' || kind === 'c') && size ? `${name}${Number(size) * 8}` : name;
  return `'${descr}' (${sized})`;
}

/** Resolves a header descr to a supported dtype, or explains why not. */
function resolveDtype(descr: PyValue, path: string): DtypeInfo {
  if (typeof descr !== 'string') {
    throw fileError(path, `unsupported dtype: structured (record) arrays are not supported; supported dtypes: ${supportedList()}`);
  }
  const m = /^([<>|=])([a-zA-Z]\d+)$/.exec(descr);
  const info = m ? BY_CODE.get(m[2]!) : undefined;
  if (!m || !info) throw fileError(path, `unsupported dtype ${describeDescr(descr)}; supported dtypes: ${supportedList()}`);
  // Byte order means nothing for one-byte types, whatever character numpy used.
  if (m[1] === '>' && info.bytes > 1) {
    throw fileError(path, `big-endian arrays are not supported; save with arr.astype(arr.dtype.newbyteorder('<'))`);
  }
  return info;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Decodes .npy bytes into an NdArray with its own aligned copy of the data.
 * `path` names the source in errors (for an npz member, e.g. "a.npz: array 'x'").
 */
export function parseNpy(bytes: Uint8Array, path: string): NdArray {
  if (!HOST_LITTLE_ENDIAN) throw new Error('qtool reads .npy data only on little-endian hosts');
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw fileError(path, 'not an .npy file (bad magic; expected a file written by numpy.save)');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) {
    throw fileError(path, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  // Version 1.0 has a 2-byte header length; 2.0 and 3.0 have 4 bytes, and 3.0 is UTF-8.
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw fileError(path, 'truncated .npy header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = lenBytes === 2 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const headerStart = 8 + lenBytes;
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    throw fileError(path, `truncated .npy header: it says ${headerLen} bytes, the file has ${bytes.length - headerStart} after the length field`);
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const header = parseHeader(text, path);
  const info = resolveDtype(header.descr, path);
  // A Fortran-order array of rank <= 1 has the same layout as C order.
  if (header.fortranOrder && header.shape.length > 1) {
    throw fileError(path, 'Fortran-order arrays are not supported; save with np.ascontiguousarray');
  }
  const n = sizeOf(header.shape);
  const need = n * info.bytes;
  const have = bytes.length - dataStart;
  if (have < need) {
    throw fileError(path, `truncated data: shape ${shapeText(header.shape)} of ${info.dtype} needs ${need} bytes, the file holds ${have}`);
  }
  if (have > need) {
    // numpy would ignore these, but they usually mean a stale header after an append.
    throw fileError(path, `${have - need} unexpected bytes after the data: shape ${shapeText(header.shape)} of ${info.dtype} needs ${need} bytes, the file holds ${have}`);
  }
  // Copy: the payload offset inside the file buffer is not aligned for the element type.
  const data = info.make(n);
  new Uint8Array(data.buffer, data.byteOffset, need).set(bytes.subarray(dataStart, dataStart + need));
  return { dtype: info.dtype, shape: header.shape, data };
}

interface Header {
  descr: PyValue;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeader(text: string, path: string): Header {
  let v: PyValue;
  try {
    v = parsePyLiteral(text);
  } catch (e) {
    throw fileError(path, `bad .npy header (${(e as Error).message}): ${JSON.stringify(text.trim().slice(0, 80))}`);
  }
  const bad = (why: string): never => {
    throw fileError(path, `bad .npy header: ${why}`);
  };
  if (!(v instanceof Map)) return bad('not a dictionary');
  for (const k of ['descr', 'fortran_order', 'shape']) if (!v.has(k)) bad(`no '${k}' entry`);
  const fortranOrder = v.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') bad('fortran_order is not True or False');
  const shape = v.get('shape');
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && d >= 0)) {
    bad(`shape is not a tuple of non-negative integers`);
  }
  return { descr: v.get('descr')!, fortranOrder: fortranOrder as boolean, shape: shape as number[] };
}

export function readNpy(path: string): NdArray {
  return parseNpy(readInputFile(path), path);
}

function pythonTuple(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

const ARRAY_TYPES: Record<NpyDtype, new (n: number) => TypedArray> = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array,
  int8: Int8Array, uint16: Uint16Array, uint8: Uint8Array, bool: Uint8Array,
};

/** The .npy bytes np.save would write for this array (format 1.0, or 2.0 for huge headers). */
export function encodeNpy(arr: NdArray): Uint8Array {
  const info = BY_DTYPE.get(arr.dtype);
  if (!info) throw new Error(`encodeNpy: unsupported dtype ${arr.dtype}`);
  if (!(arr.data instanceof ARRAY_TYPES[arr.dtype])) throw new Error(`encodeNpy: ${arr.dtype} data in a ${arr.data.constructor.name}`);
  if (arr.data.length !== sizeOf(arr.shape)) throw new Error(`encodeNpy: ${arr.data.length} values for shape ${shapeText(arr.shape)}`);
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
