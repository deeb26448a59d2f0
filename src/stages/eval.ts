// `qtool eval`: accuracy of a model on labelled data, and/or how closely it
// follows a reference (FP32) model on the same inputs.
import { loadModel, type LoadedModel } from '../onnx/model.js';
import { graphInputs, type ValueSpec } from '../onnx/graph.js';
import { dimsText, loadDataset } from '../data/dataset.js';
import { checkLabelRange, loadLabels } from '../data/labels.js';
import { fileError } from '../util/errors.js';
import { reportHeaderFor } from '../report/io.js';
import type { EvalReport } from '../report/schemas/eval.js';
import { collectOutputs, type ModelOutputs } from '../runtime/outputs.js';
import { median } from '../runtime/run.js';
import { argmaxRows, matchPercent, sqnrDb } from '../metrics/classification.js';
import { progressBar } from '../report/progress.js';

export interface EvalInputs {
  model: string;
  data: string;
  labels?: string;
  reference?: string;
}

export interface EvalOptions {
  batchSize: number;
}

/** The reference must take the same inputs as the model: names, ranks and fixed dims. */
export function loadReference(path: string, model: LoadedModel): LoadedModel {
  const ref = loadModel(path);
  const mine = graphInputs(model.model.graph!);
  const theirs = graphInputs(ref.model.graph!);
  const names = (l: ValueSpec[]) => l.map((i) => i.name).join(', ');
  if (names(mine) !== names(theirs)) throw fileError(path, `reference model inputs (${names(theirs)}) differ from the model's (${names(mine)})`);
  theirs.forEach((r, k) => {
    const m = mine[k];
    const fits = !r.dims || !m.dims || (r.dims.length === m.dims.length &&
      r.dims.every((d, i) => typeof d !== 'number' || typeof m.dims![i] !== 'number' || d === m.dims![i] || i === 0));
    if (!fits) throw fileError(path, `reference model input '${r.name}' has shape ${dimsText(r.dims)}, the model's is ${dimsText(m.dims)}`);
  });
  return ref;
}

interface Scores {
  /** Top-1 accuracy against labels, percent. */
  top1?: number;
  /** Top-1 agreement with the reference model, percent. */
  agreement?: number;
  /** Output SQNR against the reference, dB; null when identical. */
  sqnrDb?: number | null;
  medianBatchMs: number;
}

function scoreOutputs(out: ModelOutputs, against: { labels?: Int32Array; reference?: ModelOutputs }): Scores {
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

export async function evalModel(inputs: EvalInputs, opts: EvalOptions): Promise<EvalReport> {
  const model = loadModel(inputs.model);
  const ds = loadDataset(inputs.data, graphInputs(model.model.graph!));
  const reference = inputs.reference ? loadReference(inputs.reference, model) : undefined;
  // Count checks before any forward pass; the class range once outputs are known.
  const labels = inputs.labels ? loadLabels(inputs.labels, ds.count, ds.path) : undefined;
  const out = await collectOutputs(model.bytes, model.path, ds, { batchSize: opts.batchSize, progress: progressBar, progressLabel: 'eval' });
  if (labels) checkLabelRange(labels, out.cols, inputs.labels!);
  const refOut = reference
    ? await collectOutputs(reference.bytes, reference.path, ds, { batchSize: opts.batchSize, progress: progressBar, progressLabel: 'eval reference' })
    : undefined;
  const s = scoreOutputs(out, { labels, reference: refOut });
  return {
    schema: 'qtool/eval@1',
    ...reportHeaderFor(model, { ...opts }),
    data: { path: ds.path, samples: ds.count },
    labels: inputs.labels ?? null,
    reference: reference ? { path: reference.path, sha256: reference.sha256 } : null,
    top1: s.top1 ?? null,
    agreement: s.agreement ?? null,
    sqnrDb: s.sqnrDb ?? null,
    batchSize: opts.batchSize,
    medianBatchMs: s.medianBatchMs,
    referenceMedianBatchMs: refOut ? scoreOutputs(refOut, {}).medianBatchMs : null,
  };
}
