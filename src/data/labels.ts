// Labels: integer class ids, one per sample, in a .npy of shape (N,) or (N, 1).
import { fileError } from '../util/errors.js';
import { readNpy } from './npy.js';
import type { Dataset } from './dataset.js';

const INTEGER_DTYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint16', 'uint8']);

/**
 * Reads class ids for `expectedCount` samples. `dataPath` (the data file the
 * labels go with) only makes the count-mismatch message clearer.
 */
export function loadLabels(path: string, expectedCount: number, dataPath?: string): Int32Array {
  const arr = readNpy(path);
  if (!INTEGER_DTYPES.has(arr.dtype)) {
    throw fileError(path, `labels must be integer class ids, got ${arr.dtype} values; save them with .astype(np.int64)`);
  }
  const [n, cols] = arr.shape;
  // (N, 1) is what a column slice or a Keras-style label array looks like.
  if (arr.shape.length === 0 || arr.shape.length > 2 || (arr.shape.length === 2 && cols !== 1)) {
    throw fileError(path, `labels must have shape (N,) or (N, 1), got [${arr.shape.join(',')}]`);
  }
  if (n !== expectedCount) {
    throw fileError(path, `${n} labels for ${expectedCount} samples${dataPath ? ` in ${dataPath}` : ''}`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(arr.data[i]!);
    if (v < 0) throw fileError(path, `negative label ${v} at index ${i}; labels are class ids 0..C-1`);
    if (v > 0x7fffffff) throw fileError(path, `label ${arr.data[i]} at index ${i} is too large to be a class id`);
    out[i] = v;
  }
  return out;
}

/** Throws if a label is not a class the model can predict (0..numClasses-1). */
export function checkLabelRange(labels: Int32Array, numClasses: number, path: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v < 0 || v >= numClasses) throw fileError(path, `label ${v} at index ${i} is outside the model's ${numClasses} classes`);
  }
}

/**
 * The labels of `ds`: the labels file's when one is given, else the dataset's
 * own (an image folder's class subfolders), with the path that names them.
 */
export function labelsFor(ds: Dataset, path?: string): { labels?: Int32Array; path?: string } {
  if (path) return { labels: loadLabels(path, ds.count, ds.path), path };
  if (ds.labels) return { labels: ds.labels.values, path: ds.labels.source };
  return {};
}
