// A model's outputs over a dataset: run it once in batches and keep every
// graph output per sample (what the accuracy metrics score) and the batch times.
import { createSession, type SessionOptions } from './session.js';
import { runBatches } from './run.js';
import type { Dataset } from '../data/dataset.js';
import type { ProgressFactory } from '../util/progress.js';
import { InputError } from '../util/errors.js';

/** One graph output over the samples, batch on axis 0. */
export interface OutputValues {
  name: string;
  /** [count, ...dims] row-major, as float32. */
  values: Float32Array;
  /** The shape of one sample's part: [C] for [N, C], [T, C] for [N, T, C], [1, H, W] for [N, 1, H, W]. */
  dims: number[];
  /** Values per sample (the product of dims). */
  cols: number;
}

export interface ModelOutputs {
  /** The graph outputs in the model's order. */
  outputs: OutputValues[];
  /** The first output's values and values per sample (what a classifier's scores are). */
  values: Float32Array;
  cols: number;
  count: number;
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

const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export async function collectOutputs(bytes: Uint8Array, label: string, ds: Dataset, opts: CollectOptions): Promise<ModelOutputs> {
  const session = await createSession(bytes, label, opts.session);
  try {
    const count = Math.min(ds.count, opts.limit ?? ds.count);
    const names = [...session.outputNames];
    let outputs: OutputValues[] | undefined;
    const batchMs: number[] = [];
    const bar = opts.progress?.(opts.progressLabel ?? label, count);
    await runBatches(session, ds, {
      batchSize: opts.batchSize,
      limit: count,
      label,
      outputNames: names,
      onBatch: ({ start, size, outputs: got, ms }) => {
        outputs ??= names.map((name) => {
          const dims = got[name].dims.slice(1).map(Number);
          const cols = dims.reduce((a, b) => a * b, 1);
          return { name, dims, cols, values: new Float32Array(count * cols) };
        });
        for (const o of outputs) {
          const t = got[o.name];
          // Every output is scored per sample: its first axis must be the batch, and the rest must not change between batches.
          if (t.dims[0] !== size || !sameDims(t.dims.slice(1).map(Number), o.dims)) {
            throw new InputError(`${label}: output '${o.name}' has shape [${t.dims.join(', ')}] for a batch of ${size} samples ` +
              `(expected [${[size, ...o.dims].join(', ')}]: batch on axis 0, the same shape for every sample)`);
          }
          const src = t.data as ArrayLike<number>;
          o.values.set(src instanceof Float32Array ? src : Float32Array.from(src, Number), start * o.cols);
        }
        batchMs.push(ms);
        bar?.tick(size);
      },
    });
    bar?.stop();
    const all = outputs ?? names.map((name) => ({ name, dims: [], cols: 0, values: new Float32Array(0) }));
    return { outputs: all, values: all[0]?.values ?? new Float32Array(0), cols: all[0]?.cols ?? 0, count, batchMs };
  } finally {
    await session.release();
  }
}
