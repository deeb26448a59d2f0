// A minimal zip reader, enough for what numpy's np.savez / np.savez_compressed
// write (Python's zipfile: stored or deflated members, zip64 extras). Sizes
// and offsets come from the central directory, because numpy's local headers
// carry 0xFFFFFFFF placeholders (it always forces zip64).
import { crc32, inflateRawSync } from 'node:zlib';
import { fileError, type InputError } from '../util/errors.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

function corrupt(path: string, why: string): InputError {
  return fileError(path, `corrupt zip archive (${why})`);
}

function u64(dv: DataView, off: number, path: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, 'a 64-bit size or offset is out of range');
  return Number(v);
}

/** Reads the central directory: one entry per member, in archive order. */
export function listZipEntries(bytes: Uint8Array, path: string): ZipEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record sits at the very end, followed only by a comment of <= 64 KiB.
  let eocd = -1;
  for (let p = bytes.length - 22; p >= 0 && p >= bytes.length - 22 - MAX16; p--) {
    if (dv.getUint32(p, true) === SIG_EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw fileError(path, 'not a zip archive, or a truncated one (no end-of-central-directory record); .npz files are written by np.savez');
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) throw corrupt(path, 'multi-disk archives are not supported');
  // Zip64: a locator just before the end record points at the 64-bit end record.
  const loc = eocd - 20;
  if (loc >= 0 && dv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    const z = u64(dv, loc + 8, path);
    if (z + 56 > bytes.length || dv.getUint32(z, true) !== SIG_ZIP64_EOCD) throw corrupt(path, 'bad zip64 end record');
    count = u64(dv, z + 32, path);
    cdSize = u64(dv, z + 40, path);
    cdOffset = u64(dv, z + 48, path);
  }
  if (cdOffset + cdSize > bytes.length) throw corrupt(path, 'central directory lies outside the file; truncated?');

  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== SIG_CENTRAL) throw corrupt(path, `bad central directory entry ${i}`);
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localHeaderOffset = dv.getUint32(p + 42, true);
    const nameStart = p + 46;
    const extraStart = nameStart + nameLen;
    const next = extraStart + extraLen + commentLen;
    if (next > bytes.length) throw corrupt(path, `central directory entry ${i} runs past the end`);
    // Bit 11: UTF-8 name; otherwise CP437, which equals latin1 for the ASCII names numpy writes.
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + nameStart, nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    if (flags & 1) throw fileError(path, `member '${name}' is encrypted, which is not supported`);
    // The zip64 extra field holds, in this order, only the values whose 32-bit field is saturated.
    for (let e = extraStart; e + 4 <= extraStart + extraLen; ) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw corrupt(path, `short zip64 extra field in '${name}'`);
          const v = u64(dv, q, path);
          q += 8;
          return v;
        };
        if (size === MAX32) size = take();
        if (compressedSize === MAX32) compressedSize = take();
        if (localHeaderOffset === MAX32) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    entries.push({ name, method, crc32: crc, compressedSize, size, localHeaderOffset });
    p = next;
  }
  return entries;
}

/** The uncompressed bytes of one member, checked against its CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, path: string): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = entry.localHeaderOffset;
  if (h + 30 > bytes.length || dv.getUint32(h, true) !== SIG_LOCAL) throw corrupt(path, `bad local header for '${entry.name}'`);
  const start = h + 30 + dv.getUint16(h + 26, true) + dv.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw corrupt(path, `member '${entry.name}' runs past the end of the file; truncated?`);
  const raw = bytes.subarray(start, end);
  let out: Uint8Array;
  if (entry.method === 0) out = raw;
  else if (entry.method === 8) {
    try {
      // The cap stops a lying size field from inflating without bound.
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (e) {
      throw corrupt(path, `cannot inflate '${entry.name}': ${(e as Error).message}`);
    }
  } else throw fileError(path, `member '${entry.name}' uses zip compression method ${entry.method}; only stored and deflate (np.savez, np.savez_compressed) are supported`);
  if (out.length !== entry.size) throw corrupt(path, `'${entry.name}' holds ${out.length} bytes, the directory says ${entry.size}`);
  if (crc32(out) >>> 0 !== entry.crc32) throw corrupt(path, `CRC mismatch in '${entry.name}'`);
  return out;
}
