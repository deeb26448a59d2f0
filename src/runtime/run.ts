// Running a model over a dataset in batches.
import { ort, type Session } from './session.js';
import { batchFeeds, batchRanges } from '../data/batches.js';
import type { Dataset } from '../data/dataset.js';
import { InputError } from '../util/errors.js';

export interface BatchResult {
  start: number;
  size: number;
  outputs: Record<string, ort.Tensor>;
  /** Wall time of session.run for this batch, in milliseconds. */
  ms: number;
}

export interface RunOptions {
  batchSize: number;
  /** Output names to fetch; default: the session's outputs. */
  outputNames?: string[];
  /** Called after every batch, e.g. to advance a progress bar or fold statistics. */
  onBatch: (r: BatchResult) => void | Promise<void>;
  /** Only the first `limit` samples. */
  limit?: number;
  /** Start at this sample (the ones before were run already). */
  offset?: number;
  /** Names the model in errors (usually its path). */
  label: string;
}

export async function runBatches(session: Session, ds: Dataset, opts: RunOptions): Promise<void> {
  const offset = opts.offset ?? 0;
  const count = Math.min(ds.count, opts.limit ?? ds.count);
  for (const range of batchRanges(count - offset, opts.batchSize, ds.fixedBatch)) {
    const { size } = range;
    const start = range.start + offset;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(batchFeeds(ds, start, size))) {
      feeds[name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
    }
    const t0 = performance.now();
    let outputs: Record<string, ort.Tensor>;
    try {
      outputs = await session.run(feeds, opts.outputNames ?? session.outputNames);
    } catch (e) {
      // Shapes and types were checked up front; what remains is the model's own complaint.
      const why = String((e as Error).message ?? e).split('\n')[0];
      throw new InputError(`${opts.label}: onnxruntime failed on samples ${start}..${start + size - 1} of ${ds.path} (${why})`);
    }
    const ms = performance.now() - t0;
    await opts.onBatch({ start, size, outputs, ms });
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
