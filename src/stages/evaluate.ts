// Evaluation shared by every stage: run a model over a dataset once, keep its
// first output per sample, and score it against labels and/or a reference.
import { argmaxRows, matchPercent, sqnrDb } from '../metrics/classification.js';
import { createSession, type SessionOptions } from '../runtime/session.js';
import { median, runBatches } from '../runtime/run.js';
import { progressBar } from '../util/progress.js';
import type { Dataset } from '../data/dataset.js';

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
  /** Label for the progress bar; none when omitted. */
  progress?: string;
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
    const bar = opts.progress ? progressBar(opts.progress, count) : undefined;
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

export interface Scores {
  /** Top-1 accuracy against labels, percent. */
  top1?: number;
  /** Top-1 agreement with the reference model, percent. */
  agreement?: number;
  /** Output SQNR against the reference, dB; null when identical. */
  sqnrDb?: number | null;
  medianBatchMs: number;
}

export function scoreOutputs(out: ModelOutputs, against: { labels?: Int32Array; reference?: ModelOutputs }): Scores {
  const preds = argmaxRows(out.values, out.count, out.cols);
  const s: Scores = { medianBatchMs: median(out.batchMs) };
  if (against.labels) s.top1 = matchPercent(preds, against.labels.subarray(0, out.count));
  if (against.reference) {
    const ref = against.reference;
    if (ref.cols !== out.cols) throw new Error(`reference output has ${ref.cols} values per sample, model has ${out.cols}`);
    s.agreement = matchPercent(preds, argmaxRows(ref.values, ref.count, ref.cols).subarray(0, out.count));
    s.sqnrDb = sqnrDb(ref.values.subarray(0, out.values.length), out.values);
  }
  return s;
}
