import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileError, systemError } from './errors.js';
import { injectWriteFault } from './faults.js';

/**
 * Files written but not yet committed (src/report/commit.ts): the final path
 * -> the temporary file that holds its new bytes. Reads in this process go to
 * the temporary file, so that a later stage of `qtool run` reads what an
 * earlier one wrote before the run commits it.
 */
const staged = new Map<string, string>();

export function stageFile(finalPath: string, tempPath: string): void {
  staged.set(resolve(finalPath), tempPath);
}

export function unstageFile(finalPath: string): void {
  staged.delete(resolve(finalPath));
}

/** Where the bytes of `path` are for this process: its staged temporary file, or itself. */
export function resolveStaged(path: string): string {
  return staged.get(resolve(path)) ?? path;
}

export function isStaged(path: string): boolean {
  return staged.has(resolve(path));
}

/** Reads a whole file, turning "missing" and "is a directory" into one-line input errors. */
export function readInputFile(path: string): Buffer {
  const at = resolveStaged(path);
  let st;
  try {
    st = statSync(at);
  } catch {
    throw fileError(path, 'no such file');
  }
  if (st.isDirectory()) throw fileError(path, 'is a directory, expected a file');
  try {
    return readFileSync(at);
  } catch (e) {
    throw systemError(path, 'read it', e);
  }
}

/** The name of a temporary file beside `path`; a stale one (from a killed run) matches TEMP_FILE. */
export function tempNameFor(path: string, id = randomBytes(4).toString('hex')): string {
  return `${path}.${id}.tmp`;
}

/** Temporary files qtool writes (tempNameFor): `NAME.<8 hex digits>.tmp`. */
export const TEMP_FILE = /\.[0-9a-f]{8}\.tmp$/;

/** Writes `data` to `path` (created or truncated) and flushes it to the disk. Errors name `label`. */
export function writeFileDurable(path: string, data: string | Uint8Array, label = path): void {
  let fd: number | undefined;
  try {
    injectWriteFault(path, basename(label));
    fd = openSync(path, 'w');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } catch (e) {
    throw systemError(label, 'write it', e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Flushes a folder's entries (renames, new files) to the disk, where the system allows it. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every file system lets a folder be opened or flushed; the renames stand either way.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes a file so that readers never see half of it: the bytes go to a
 * temporary file in the same folder, flushed, which is then renamed over the
 * target. A failure (a full disk, a read-only folder) is one line naming the
 * file, and the target keeps its previous content.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw systemError(dirname(path), 'create the folder', e);
  }
  const tmp = tempNameFor(path);
  try {
    writeFileDurable(tmp, data, path);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw systemError(path, 'write it', e);
  }
  fsyncDir(dirname(path));
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of a file, read in chunks (data sets can be large). */
export function sha256File(path: string): string {
  if (statSync(resolveStaged(path)).isDirectory()) return sha256Folder(path);
  const hash = createHash('sha256');
  const buf = Buffer.alloc(4 << 20);
  const fd = openSync(resolveStaged(path), 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * A folder's fingerprint (an image folder as data): the SHA-256 of its files'
 * paths relative to it and their SHA-256s, in sorted order.
 */
function sha256Folder(dir: string): string {
  const lines: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else lines.push(`${sha256File(join(dir, p))}  ${p}`);
    }
  };
  walk('');
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}
