// `qtool eval`: accuracy of a model on labelled data, and/or how closely it
// follows a reference (FP32) model on the same inputs.
import { loadModel, type LoadedModel } from '../onnx/model.js';
import { graphInputs, type ValueSpec } from '../onnx/graph.js';
import { dimsText, loadModelDataset, type DataSourceOptions } from '../data/dataset.js';
import { checkLabelRange, labelsFor } from '../data/labels.js';
import { fileError, InputError } from '../util/errors.js';
import { reportHeaderFor } from '../report/io.js';
import type { EvalReport } from '../report/schemas/eval.js';
import { collectOutputs, type ModelOutputs } from '../runtime/outputs.js';
import { median } from '../runtime/run.js';
import { matchPercent } from '../metrics/classification.js';
import { outputFigure, outputKind, predictionsOf, type OutputFigure } from '../metrics/output-figure.js';
import { progressBar } from '../report/progress.js';

export interface EvalInputs {
  model: string;
  data: string;
  labels?: string;
  reference?: string;
  /** How to read an image folder or a text file (preprocessing, tokenizer). */
  source?: DataSourceOptions;
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
  /** The first output's agreement with the reference (per sample, or per position of [N, T, C]), percent; null for a map. */
  agreement?: number | null;
  /** The first output's SQNR against the reference, dB; null when identical. */
  sqnrDb?: number | null;
  /** Every output against the reference's. */
  outputs: OutputFigure[];
  medianBatchMs: number;
}

function scoreOutputs(out: ModelOutputs, against: { labels?: Int32Array; reference?: ModelOutputs }): Scores {
  const s: Scores = { medianBatchMs: median(out.batchMs), outputs: [] };
  if (against.labels) s.top1 = matchPercent(predictionsOf(out.outputs[0], out.count), against.labels.subarray(0, out.count));
  if (against.reference) {
    const ref = against.reference;
    s.outputs = ref.outputs.map((r) => {
      const mine = out.outputs.find((o) => o.name === r.name);
      if (!mine) throw new InputError(`the model has no output '${r.name}', which the reference has`);
      return outputFigure(r, mine, out.count);
    });
    s.agreement = s.outputs[0].agreement;
    s.sqnrDb = s.outputs[0].sqnrDb;
  }
  return s;
}

export async function evalModel(inputs: EvalInputs, opts: EvalOptions): Promise<EvalReport> {
  const model = loadModel(inputs.model);
  const ds = loadModelDataset(inputs.data, model.model.graph!, inputs.source);
  const reference = inputs.reference ? loadReference(inputs.reference, model) : undefined;
  // Count checks before any forward pass; the class range once outputs are known.
  const { labels, path: labelsPath } = labelsFor(ds, inputs.labels);
  const out = await collectOutputs(model.bytes, model.path, ds, { batchSize: opts.batchSize, progress: progressBar, progressLabel: 'eval' });
  const first = out.outputs[0];
  if (labels && outputKind(first.dims) !== 'classes') {
    throw fileError(labelsPath!, `class labels score an [N, classes] output; the model's first output '${first.name}' is [N, ${first.dims.join(', ')}]`);
  }
  if (labels) checkLabelRange(labels, out.cols, labelsPath!);
  const refOut = reference
    ? await collectOutputs(reference.bytes, reference.path, ds, { batchSize: opts.batchSize, progress: progressBar, progressLabel: 'eval reference' })
    : undefined;
  const s = scoreOutputs(out, { labels, reference: refOut });
  return {
    schema: 'qtool/eval@1',
    ...reportHeaderFor(model, { ...opts }),
    data: { path: ds.path, samples: ds.count },
    labels: labelsPath ?? null,
    reference: reference ? { path: reference.path, sha256: reference.sha256 } : null,
    top1: s.top1 ?? null,
    agreement: s.agreement ?? null,
    sqnrDb: s.sqnrDb ?? null,
    outputs: s.outputs,
    batchSize: opts.batchSize,
    medianBatchMs: s.medianBatchMs,
    referenceMedianBatchMs: refOut ? scoreOutputs(refOut, {}).medianBatchMs : null,
  };
}
