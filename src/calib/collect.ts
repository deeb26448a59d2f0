// The calibration pass: one forward pass of the FP32 model over the data with
// the tensors to quantize exposed as outputs, folding each batch into
// per-tensor histograms. Memory is tensors x bins, whatever the data size.
import { encodeModel, type Model } from '../onnx/model.js';
import { exposeTensors } from '../onnx/rewrite.js';
import { createSession } from '../runtime/session.js';
import { runBatches } from '../runtime/run.js';
import { progressBar } from '../report/progress.js';
import type { Dataset } from '../data/dataset.js';
import { TensorHistogram } from './histogram.js';

export interface CollectResult {
  histograms: Map<string, TensorHistogram>;
  /** Seconds in session.run vs in histogram updates. */
  forwardSeconds: number;
  statsSeconds: number;
}

export async function collectHistograms(
  model: Model, label: string, ds: Dataset, tensors: readonly string[], opts: { batchSize: number; progress?: boolean },
): Promise<CollectResult> {
  const session = await createSession(encodeModel(exposeTensors(model, tensors)), label);
  const histograms = new Map(tensors.map((t) => [t, new TensorHistogram()]));
  const bar = opts.progress === false ? undefined : progressBar('calibrate', ds.count);
  let forwardMs = 0;
  let statsMs = 0;
  try {
    await runBatches(session, ds, {
      batchSize: opts.batchSize,
      outputNames: [...tensors],
      label,
      onBatch: ({ size, outputs, ms }) => {
        const t0 = performance.now();
        for (const t of tensors) histograms.get(t)!.update(outputs[t].data as Float32Array);
        statsMs += performance.now() - t0;
        forwardMs += ms;
        bar?.tick(size);
      },
    });
  } finally {
    bar?.stop();
    await session.release();
  }
  return { histograms, forwardSeconds: forwardMs / 1000, statsSeconds: statsMs / 1000 };
}
