// `qtool eval`: accuracy of a model on labelled data, and/or how closely it
// follows a reference (FP32) model on the same inputs.
import { loadModel, type LoadedModel } from '../onnx/model.js';
import { graphInputs, type ValueSpec } from '../onnx/graph.js';
import { dimsText, loadDataset } from '../data/dataset.js';
import { checkLabelRange, loadLabels } from '../data/labels.js';
import { fileError } from '../util/errors.js';
import { reportHeaderFor } from '../report/io.js';
import type { EvalReport } from '../report/schemas/eval.js';
import { collectOutputs, scoreOutputs } from './evaluate.js';

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

export async function evalModel(inputs: EvalInputs, opts: EvalOptions): Promise<EvalReport> {
  const model = loadModel(inputs.model);
  const ds = loadDataset(inputs.data, graphInputs(model.model.graph!));
  const reference = inputs.reference ? loadReference(inputs.reference, model) : undefined;
  // Count checks before any forward pass; the class range once outputs are known.
  const labels = inputs.labels ? loadLabels(inputs.labels, ds.count, ds.path) : undefined;
  const out = await collectOutputs(model.bytes, model.path, ds, { batchSize: opts.batchSize, progress: 'eval' });
  if (labels) checkLabelRange(labels, out.cols, inputs.labels!);
  const refOut = reference
    ? await collectOutputs(reference.bytes, reference.path, ds, { batchSize: opts.batchSize, progress: 'eval reference' })
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
