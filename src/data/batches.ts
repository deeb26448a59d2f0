// Slicing a dataset into batches. A batch of samples on axis 0 of a C-order
// array is one contiguous range: a view of an in-memory (.npz) array, or one
// read from a .npy file (see DatasetInput.rows).
import { InputError } from '../util/errors.js';
import type { ElemType, TypedArray } from '../onnx/tensor.js';
import type { Dataset } from './dataset.js';

/** What onnxruntime needs for one input: element type, dims and the values. */
export interface Feed {
  type: ElemType;
  dims: number[];
  /**
   * The batch's values. For an input held in memory (.npz) a view (subarray)
   * of the dataset's array: do not write to it. For an input streamed from
   * disk (.npy) a fresh array read for this call, which the caller owns.
   */
  data: TypedArray;
}

export interface BatchRange {
  start: number;
  size: number;
}

/**
 * Input name -> feed for samples [start, start + size): views for in-memory
 * inputs (no copy), freshly read arrays for inputs streamed from disk.
 */
export function batchFeeds(ds: Dataset, start: number, size: number): Record<string, Feed> {
  if (!Number.isInteger(start) || !Number.isInteger(size) || start < 0 || size <= 0 || start + size > ds.count) {
    throw new RangeError(`batchFeeds: samples [${start}, ${start + size}) outside 0..${ds.count}`);
  }
  if (ds.fixedBatch !== undefined && size !== ds.fixedBatch) {
    throw new RangeError(`batchFeeds: the model needs batches of exactly ${ds.fixedBatch}, asked for ${size}`);
  }
  const feeds: Record<string, Feed> = {};
  for (const input of ds.inputs) {
    feeds[input.spec.name] = { type: input.type, dims: [size, ...input.shape.slice(1)], data: input.rows(start, size) };
  }
  return feeds;
}

/**
 * Batches covering samples 0..count-1 in order; the last may be smaller.
 * A model with a fixed batch size (Dataset.fixedBatch) overrides batchSize.
 */
export function batchRanges(count: number, batchSize: number, fixedBatch?: number): BatchRange[] {
  const size = fixedBatch ?? batchSize;
  if (!Number.isInteger(size) || size <= 0) throw new InputError(`batch size must be a positive integer, got ${batchSize}`);
  if (fixedBatch !== undefined && count % fixedBatch !== 0) {
    throw new RangeError(`batchRanges: ${count} samples do not split into fixed batches of ${fixedBatch}`);
  }
  const out: BatchRange[] = [];
  for (let start = 0; start < count; start += size) out.push({ start, size: Math.min(size, count - start) });
  return out;
}
