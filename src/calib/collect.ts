// The calibration pass: one forward pass of the FP32 model over the data with
// the tensors to quantize exposed as outputs, folding each batch into
// per-tensor histograms. Memory is tensors x bins, whatever the data size.
//
// session.run() works synchronously on the main thread, so the histograms are
// built in a worker thread: while it folds batch k, the main thread runs batch
// k+1. Output buffers are transferred, not copied, and at most two batches are
// in flight so memory stays bounded. On a 2-core machine onnxruntime then gets
// one intra-op thread and the worker the other core (see bench/RESULTS.md).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Model } from '../onnx/model.js';
import { exposeTensorsInBytes } from '../onnx/rewrite.js';
import { createSession } from '../runtime/session.js';
import { runBatches, type BatchResult } from '../runtime/run.js';
import type { ProgressFactory } from '../util/progress.js';
import type { Dataset } from '../data/dataset.js';
import { TensorHistogram } from './histogram.js';
import type { FromWorker, ToWorker } from './histogram-worker.js';

export interface CollectResult {
  histograms: Map<string, TensorHistogram>;
  /** Samples per session.run after the first (the byte budget's cut of the requested batch size). */
  batchSize: number;
  /** Seconds in session.run, and seconds the worker spent on histograms (overlapped). */
  forwardSeconds: number;
  statsSeconds: number;
}

const MAX_IN_FLIGHT = 2;

/**
 * What one batch of exposed tensors may take, in bytes: the batch size is cut
 * to fit, from the bytes one sample exposes (measured on the first sample).
 * With two batches in the worker's queue and one leaving the session, the
 * pass holds at most three times this, whatever the model exposes: a
 * recognizer's 134 tensors at 48x320 are 9.6 MB a sample, so batches of 32
 * held 1 GB each (5 GB peak); BERT-base's hundreds of [seq, 768] tensors more.
 */
export const EXPOSED_BATCH_BYTES = 128 * 2 ** 20;

/** Talks to the histogram worker: send batches, wait for room, collect the result. */
class HistogramWorker {
  private readonly worker = new Worker(new URL('./histogram-worker.js', import.meta.url));
  private inFlight = 0;
  private waiting: (() => void)[] = [];
  private result?: (r: Extract<FromWorker, { kind: 'histograms' }>) => void;
  private failure?: Error;

  constructor() {
    this.worker.on('message', (m: FromWorker) => {
      if (m.kind === 'done') {
        this.inFlight--;
        this.waiting.shift()?.();
      } else if (m.kind === 'histograms') {
        this.result?.(m);
      } else {
        this.fail(new Error(`histogram worker: ${m.message}`));
      }
    });
    this.worker.on('error', (e) => this.fail(e));
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const w of this.waiting.splice(0)) w();
  }

  async send(id: number, tensors: [string, Float32Array][]): Promise<void> {
    while (this.inFlight >= MAX_IN_FLIGHT && !this.failure) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    this.inFlight++;
    const transfer = tensors.map(([, d]) => d.buffer as ArrayBuffer);
    this.worker.postMessage({ kind: 'batch', id, tensors } satisfies ToWorker, transfer);
  }

  async finish(): Promise<{ histograms: Map<string, TensorHistogram>; ms: number }> {
    const r = await new Promise<Extract<FromWorker, { kind: 'histograms' }>>((resolve, reject) => {
      this.result = resolve;
      this.worker.once('error', reject);
      this.worker.postMessage({ kind: 'finish' } satisfies ToWorker);
    });
    if (this.failure) throw this.failure;
    return { histograms: new Map(r.histograms.map(([n, j]) => [n, TensorHistogram.fromJSON(j)])), ms: r.ms };
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** `bytes` must be the encoding of `model` (passed along so it is not serialised again). */
export async function collectHistograms(
  bytes: Uint8Array, model: Model, label: string, ds: Dataset, tensors: readonly string[],
  opts: { batchSize: number; progress?: ProgressFactory; /** Default EXPOSED_BATCH_BYTES; smaller in tests. */ batchBytes?: number },
): Promise<CollectResult> {
  // Leave one core to the worker: ORT's second thread would only compete with it.
  const threads = Math.max(1, availableParallelism() - 1);
  const session = await createSession(exposeTensorsInBytes(bytes, model, tensors), label, { threads });
  const worker = new HistogramWorker();
  const bar = opts.progress?.('calibrate', ds.count);
  let forwardMs = 0;
  let batch = 0;
  const onBatch = async ({ size, outputs, ms }: BatchResult): Promise<void> => {
    forwardMs += ms;
    // Each output owns its buffer (onnxruntime-node copies results out), so it can be transferred.
    await worker.send(batch++, tensors.map((t) => [t, outputs[t].data as Float32Array]));
    bar?.tick(size);
  };
  try {
    const common = { outputNames: [...tensors], label, onBatch };
    let batchSize = opts.batchSize;
    let offset = 0;
    if (ds.fixedBatch === undefined && ds.count > 1 && batchSize > 1) {
      // One sample first, to size the batches by what they expose.
      let perSample = 0;
      await runBatches(session, ds, {
        ...common, batchSize: 1, limit: 1,
        onBatch: async (r) => {
          perSample = tensors.reduce((sum, t) => sum + (r.outputs[t].data as Float32Array).byteLength, 0);
          await onBatch(r);
        },
      });
      batchSize = Math.max(1, Math.min(batchSize, Math.floor((opts.batchBytes ?? EXPOSED_BATCH_BYTES) / Math.max(1, perSample))));
      offset = 1;
    }
    await runBatches(session, ds, { ...common, batchSize, offset });
    const { histograms, ms } = await worker.finish();
    for (const t of tensors) if (!histograms.has(t)) histograms.set(t, new TensorHistogram());
    return { histograms, batchSize, forwardSeconds: forwardMs / 1000, statsSeconds: ms / 1000 };
  } finally {
    bar?.stop();
    await worker.terminate();
    await session.release();
  }
}
