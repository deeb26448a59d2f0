// The .npy format (numpy.lib.format): magic, version, a Python-dict header,
// then the raw C-order data. Only simple little-endian numeric dtypes are read;
// everything else gets a one-line error that names the file and the fix.
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { fileError } from '../util/errors.js';
import { readInputFile } from '../util/files.js';
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

/** Bytes per element of a dtype. */
export function dtypeBytes(dtype: NpyDtype): number {
  return BY_DTYPE.get(dtype)!.bytes;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

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

/** Where an .npy's data lies and what it holds, as its header says (checked against the byte count). */
export interface NpyLayout {
  dtype: NpyDtype;
  shape: number[];
  /** Byte offset of the first data byte. */
  dataOffset: number;
  /** Data bytes: sizeOf(shape) x the element size. */
  dataBytes: number;
}

/**
 * Validates magic, version and header, and that the data bytes are exactly
 * what the header needs. `read(start, end)` returns bytes [start, end) of the
 * source, which holds `total` bytes; only the magic and the header are read.
 */
function decodeLayout(total: number, read: (start: number, end: number) => Uint8Array, path: string): NpyLayout {
  if (!HOST_LITTLE_ENDIAN) throw new Error('qtool reads .npy data only on little-endian hosts');
  const head = read(0, Math.min(total, 12));
  if (total < 10 || MAGIC.some((b, i) => head[i] !== b)) {
    throw fileError(path, 'not an .npy file (bad magic; expected a file written by numpy.save)');
  }
  const major = head[6]!;
  const minor = head[7]!;
  if (major < 1 || major > 3 || minor !== 0) {
    throw fileError(path, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  // Version 1.0 has a 2-byte header length; 2.0 and 3.0 have 4 bytes, and 3.0 is UTF-8.
  const lenBytes = major === 1 ? 2 : 4;
  if (total < 8 + lenBytes) throw fileError(path, 'truncated .npy header');
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headerLen = lenBytes === 2 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const headerStart = 8 + lenBytes;
  const dataStart = headerStart + headerLen;
  if (dataStart > total) {
    throw fileError(path, `truncated .npy header: it says ${headerLen} bytes, the file has ${total - headerStart} after the length field`);
  }
  const hb = read(headerStart, dataStart);
  const text = Buffer.from(hb.buffer, hb.byteOffset, hb.byteLength).toString(major === 3 ? 'utf8' : 'latin1');
  const header = parseHeader(text, path);
  const info = resolveDtype(header.descr, path);
  // A Fortran-order array of rank <= 1 has the same layout as C order.
  if (header.fortranOrder && header.shape.length > 1) {
    throw fileError(path, 'Fortran-order arrays are not supported; save with np.ascontiguousarray');
  }
  const need = sizeOf(header.shape) * info.bytes;
  const have = total - dataStart;
  if (have < need) {
    throw fileError(path, `truncated data: shape ${shapeText(header.shape)} of ${info.dtype} needs ${need} bytes, the file holds ${have}`);
  }
  if (have > need) {
    // numpy would ignore these, but they usually mean a stale header after an append.
    throw fileError(path, `${have - need} unexpected bytes after the data: shape ${shapeText(header.shape)} of ${info.dtype} needs ${need} bytes, the file holds ${have}`);
  }
  return { dtype: info.dtype, shape: header.shape, dataOffset: dataStart, dataBytes: need };
}

/**
 * Decodes .npy bytes into an NdArray with its own aligned copy of the data.
 * `path` names the source in errors (for an npz member, e.g. "a.npz: array 'x'").
 */
export function parseNpy(bytes: Uint8Array, path: string): NdArray {
  const layout = decodeLayout(bytes.length, (start, end) => bytes.subarray(start, end), path);
  // Copy: the payload offset inside the file buffer is not aligned for the element type.
  const data = BY_DTYPE.get(layout.dtype)!.make(sizeOf(layout.shape));
  new Uint8Array(data.buffer, data.byteOffset, layout.dataBytes).set(bytes.subarray(layout.dataOffset, layout.dataOffset + layout.dataBytes));
  return { dtype: layout.dtype, shape: layout.shape, data };
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

/**
 * An .npy file whose header has been checked but whose data stays on disk.
 * Data is read with readNpyRows / readNpyElements, each of which opens the file,
 * checks that it is still the file that was checked (device, inode, size,
 * mtime), reads, and closes it again: nothing is held open between reads, so
 * nobody has to close an NpyFile, and a file replaced under qtool is refused
 * rather than read unchecked. Opening costs a few microseconds per read.
 */
export interface NpyFile extends NpyLayout {
  path: string;
  /** Elements per row along axis 0 (1 for a scalar). */
  rowElems: number;
  /** The file's identity when it was opened. */
  stat: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>;
}

const sameFile = (a: NpyFile['stat'], b: Stats): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

/** Reads exactly `length` bytes at `position` into `into` (readSync may return short counts on big reads). */
function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw fileError(path, `ended early: ${into.length - done} data bytes missing at offset ${position + done}; the file changed on disk while qtool read it`);
    done += n;
  }
}

/**
 * Checks an .npy's header against its size without reading its data: the same
 * errors as readNpy (missing file, bad magic, bad header, unsupported dtype,
 * big-endian, Fortran order, truncated data, trailing bytes).
 */
export function openNpy(path: string): NpyFile {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    throw fileError(path, 'no such file');
  }
  if (st.isDirectory()) throw fileError(path, 'is a directory, expected a file');
  const fd = openSync(path, 'r');
  try {
    const fst = fstatSync(fd);
    const read = (start: number, end: number): Uint8Array => {
      const out = new Uint8Array(end - start);
      readFully(fd, out, start, path);
      return out;
    };
    const layout = decodeLayout(fst.size, read, path);
    const rowElems = layout.shape.length === 0 ? 1 : sizeOf(layout.shape.slice(1));
    return { ...layout, path, rowElems, stat: { dev: fst.dev, ino: fst.ino, size: fst.size, mtimeMs: fst.mtimeMs } };
  } finally {
    closeSync(fd);
  }
}

/**
 * Elements [start, start + count) of the flat C-order data, in a fresh aligned
 * array of the file's dtype, read from disk.
 */
export function readNpyElements(file: NpyFile, start: number, count: number): TypedArray {
  const total = sizeOf(file.shape);
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > total) {
    throw new RangeError(`readNpyElements: elements [${start}, ${start + count}) outside 0..${total} of ${file.path}`);
  }
  const info = BY_DTYPE.get(file.dtype)!;
  const data = info.make(count);
  if (count === 0) return data;
  let fd: number;
  try {
    fd = openSync(file.path, 'r');
  } catch (e) {
    throw fileError(file.path, `cannot be read again (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); was it moved or deleted while qtool ran?`);
  }
  try {
    if (!sameFile(file.stat, fstatSync(fd))) {
      throw fileError(file.path, 'changed on disk since qtool checked it; run again on a file that stays put');
    }
    readFully(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), file.dataOffset + start * info.bytes, file.path);
  } finally {
    closeSync(fd);
  }
  return data;
}

/** Rows [start, start + count) along axis 0, in a fresh aligned array of the file's dtype, read from disk. */
export function readNpyRows(file: NpyFile, start: number, count: number): TypedArray {
  const rows = file.shape[0];
  if (rows === undefined) throw new RangeError(`readNpyRows: ${file.path} holds a scalar, it has no rows`);
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
    throw new RangeError(`readNpyRows: rows [${start}, ${start + count}) outside 0..${rows} of ${file.path}`);
  }
  return readNpyElements(file, start * file.rowElems, count * file.rowElems);
}
