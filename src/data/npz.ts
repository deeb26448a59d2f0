// .npz archives (np.savez / np.savez_compressed): a zip of `<name>.npy` members.
import { fileError } from '../util/errors.js';
import { readInputFile } from '../util/files.js';
import { parseNpy, type NdArray } from './npy.js';
import { listZipEntries, readZipEntry } from './zip.js';

/** Array name (the keyword given to np.savez) -> array, in archive order. */
export function readNpz(path: string): Map<string, NdArray> {
  const bytes = readInputFile(path);
  const out = new Map<string, NdArray>();
  for (const entry of listZipEntries(bytes, path)) {
    if (entry.name.endsWith('/')) continue; // a directory record, not data
    if (!entry.name.endsWith('.npy')) {
      throw fileError(path, `member '${entry.name}' is not an .npy array; an .npz should hold only arrays saved by np.savez`);
    }
    const name = entry.name.slice(0, -'.npy'.length);
    if (out.has(name)) throw fileError(path, `holds two arrays named '${name}'`);
    // Errors inside a member name both the archive and the array.
    out.set(name, parseNpy(readZipEntry(bytes, entry, path), `${path}: array '${name}'`));
  }
  return out;
}
