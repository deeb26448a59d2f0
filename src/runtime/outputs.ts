// A model's outputs over a dataset: run it once in batches and keep its first
// output per sample (what every accuracy metric scores) and the batch times.
import { createSession, type SessionOptions } from './session.js';
import { runBatches } from './run.js';
import type { Dataset } from '../data/dataset.js';
import type { ProgressFactory } from '../util/progress.js';

export interface ModelOutputs {
  /** First graph output, [count, cols] row-major, as float32. */
  values: Float32Array;
  count: number;
  cols: number;
  /** session.run wall time per batch, ms. */
  batchMs: number[];
}

export interface CollectOptions {
  batchSize: number;
  limit?: number;
  /** A progress display, under `progressLabel`; none when omitted. */
  progress?: ProgressFactory;
  progressLabel?: string;
  session?: SessionOptions;
}

export async function collectOutputs(bytes: Uint8Array, label: string, ds: Dataset, opts: CollectOptions): Promise<ModelOutputs> {
  const session = await createSession(bytes, label, opts.session);
  try {
    const count = Math.min(ds.count, opts.limit ?? ds.count);
    const outName = session.outputNames[0];
    let values: Float32Array | undefined;
    let cols = 0;
    const batchMs: number[] = [];
    const bar = opts.progress?.(opts.progressLabel ?? label, count);
    await runBatches(session, ds, {
      batchSize: opts.batchSize,
      limit: count,
      label,
      outputNames: [outName],
      onBatch: ({ start, size, outputs, ms }) => {
        const t = outputs[outName];
        if (!values) {
          cols = size ? t.data.length / size : 0;
          values = new Float32Array(count * cols);
        }
        const src = t.data as ArrayLike<number>;
        values.set(src instanceof Float32Array ? src : Float32Array.from(src), start * cols);
        batchMs.push(ms);
        bar?.tick(size);
      },
    });
    bar?.stop();
    return { values: values ?? new Float32Array(0), count, cols, batchMs };
  } finally {
    await session.release();
  }
}
