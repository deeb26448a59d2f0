// The built-in ModelScorer: candidates run in onnxruntime over the evaluation
// data, and every graph output is compared with the FP32 model's (agreement
// of the argmax where the output has a class axis, SQNR everywhere; see
// output-figure.ts). The metric and budget are decided on one primary output
// (the first unless named): top-1 against labels for an [N, C] output, else
// agreement with FP32's predictions, per sample or per position; SQNR for an
// output without classes. The FP32 outputs are computed once and kept.
import type { Dataset } from '../data/dataset.js';
import { collectOutputs, type ModelOutputs, type OutputValues } from '../runtime/outputs.js';
import { median } from '../runtime/run.js';
import type { ProgressFactory } from '../util/progress.js';
import { checkLabelRange } from '../data/labels.js';
import { fileError } from '../util/errors.js';
import { matchPercent } from './classification.js';
import { classificationMetric, dropOf, SQNR, SQNR_CAP_DB, type CandidateScore, type Metric, type ModelScorer } from './metric.js';
import { outputFigure, outputKind, positionsPerSample, predictionsOf, type OutputFigure, type OutputKind } from './output-figure.js';

export interface OutputScorerOptions {
  batchSize: number;
  /** Score on the first `limit` samples only. */
  limit?: number;
  labels?: Int32Array;
  /** Names the labels file in errors (labels out of the model's class range). */
  labelsPath?: string;
  /** The output the metric (and so the budget) is decided on; default the model's first. */
  output?: string;
  progress?: ProgressFactory;
}

export interface OutputScore extends CandidateScore {
  top1: number | null;
  /** The primary output's agreement with FP32 (per sample or per position), percent; null for an output without classes. */
  agreement: number | null;
  /** The primary output's SQNR against FP32, dB; null when identical. */
  sqnrDb: number | null;
  medianBatchMs: number;
  /** The primary output's predicted class at every scored sample (or position); empty without classes. */
  predictions: Int32Array;
  /** Every output against FP32's, in the model's order. */
  outputs: OutputFigure[];
}

/** The output a scorer decides on. */
export interface PrimaryOutput {
  name: string;
  dims: number[];
  kind: OutputKind;
}

export class OutputScorer implements ModelScorer<OutputScore> {
  readonly metric: Metric;
  readonly fp32: number;
  /** FP32 top-1 against the labels (null without labels). */
  readonly fp32Top1: number | null;
  readonly fp32MedianBatchMs: number;
  /** The FP32 pass: session creation plus forward passes, and the forward passes alone. */
  readonly fp32PassSeconds: number;
  readonly fp32ForwardSeconds: number;
  readonly samples: number;
  readonly primary: PrimaryOutput;
  /** The primary output's last axis: the classes, for a classifier. */
  readonly classes: number;
  /** Predictions per sample on the primary output: 1 for [N, C], T for [N, T, C], 0 for a map. */
  readonly positions: number;
  private readonly fp32Predictions: Int32Array;
  /** What predictions are compared with: the labels, or FP32's predictions. */
  private readonly target: Int32Array;

  private constructor(
    private readonly ds: Dataset,
    private readonly reference: ModelOutputs,
    private readonly opts: OutputScorerOptions,
    primary: OutputValues,
    passSeconds: number,
  ) {
    this.samples = reference.count;
    this.primary = { name: primary.name, dims: primary.dims, kind: outputKind(primary.dims) };
    this.classes = primary.dims[primary.dims.length - 1] ?? 1;
    this.positions = positionsPerSample(primary.dims);
    this.metric = this.primary.kind === 'map' ? SQNR : classificationMetric(opts.labels !== undefined);
    this.fp32Predictions = predictionsOf(primary, reference.count);
    this.target = opts.labels ? opts.labels.subarray(0, reference.count) : this.fp32Predictions;
    this.fp32 = this.primary.kind === 'map' ? SQNR_CAP_DB : matchPercent(this.fp32Predictions, this.target);
    this.fp32Top1 = opts.labels ? this.fp32 : null;
    this.fp32MedianBatchMs = median(reference.batchMs);
    this.fp32PassSeconds = passSeconds;
    this.fp32ForwardSeconds = reference.batchMs.reduce((a, b) => a + b, 0) / 1000;
  }

  /**
   * Runs the FP32 model once. Bad input: an `output` the model does not
   * have, labels for an output that is not [N, C], labels outside its classes.
   */
  static async create(fp32: Uint8Array, label: string, ds: Dataset, opts: OutputScorerOptions): Promise<OutputScorer> {
    const t0 = performance.now();
    const reference = await collectOutputs(fp32, label, ds, { ...opts, progressLabel: 'eval fp32' });
    const seconds = (performance.now() - t0) / 1000;
    const names = reference.outputs.map((o) => o.name);
    const primary = opts.output === undefined ? reference.outputs[0] : reference.outputs.find((o) => o.name === opts.output);
    if (!primary) throw fileError(label, `has no output '${opts.output}' (its outputs: ${names.join(', ')})`);
    if (opts.labels) {
      const labelsFile = opts.labelsPath ?? 'labels';
      if (outputKind(primary.dims) !== 'classes') {
        throw fileError(labelsFile, `class labels score an [N, classes] output; output '${primary.name}' is [N, ${primary.dims.join(', ')}] ` +
          '(leave the labels out to score agreement with FP32, or SQNR for a map)');
      }
      if (opts.labelsPath) checkLabelRange(opts.labels, primary.cols, opts.labelsPath);
    }
    return new OutputScorer(ds, reference, opts, primary, seconds);
  }

  async score(bytes: Uint8Array, label: string, progressLabel?: string): Promise<OutputScore> {
    const t0 = performance.now();
    const out = await collectOutputs(bytes, label, this.ds, {
      batchSize: this.opts.batchSize, limit: this.opts.limit, progress: progressLabel ? this.opts.progress : undefined, progressLabel,
    });
    const outputs = this.reference.outputs.map((ref) => {
      const mine = out.outputs.find((o) => o.name === ref.name);
      if (!mine) throw new Error(`${label} has no output '${ref.name}', which the reference model has`);
      return outputFigure(ref, mine, out.count);
    });
    const primary = outputs.find((o) => o.name === this.primary.name)!;
    const predictions = predictionsOf(out.outputs.find((o) => o.name === this.primary.name)!, out.count);
    const value = this.primary.kind === 'map' ? primary.value : this.scorePredictions(predictions);
    return {
      value,
      drop: dropOf(this.metric, this.fp32, value),
      seconds: (performance.now() - t0) / 1000,
      top1: this.opts.labels ? value : null,
      agreement: primary.agreement,
      sqnrDb: primary.sqnrDb,
      medianBatchMs: median(out.batchMs),
      predictions,
      outputs,
    };
  }

  /** The metric for predictions made elsewhere (QAT's tfjs model) on the same samples (or positions). */
  scorePredictions(predictions: Int32Array): number {
    return matchPercent(predictions, this.target);
  }
}
