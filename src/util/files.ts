import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileError } from './errors.js';

/** Reads a whole file, turning "missing" and "is a directory" into one-line input errors. */
export function readInputFile(path: string): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw fileError(path, 'no such file');
  }
  if (st.isDirectory()) throw fileError(path, 'is a directory, expected a file');
  return readFileSync(path);
}

/**
 * Writes a file so that readers never see half of it: the bytes go to a
 * temporary file in the same folder, which is then renamed over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of a file, read in chunks (data sets can be large). */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.alloc(4 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
