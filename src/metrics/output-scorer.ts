// The built-in ModelScorer: candidates run in onnxruntime over the evaluation
// data; their first output is scored as a classifier's, top-1 against labels
// or, without labels, agreement with the FP32 model's predictions. The FP32
// outputs are computed once and kept, so every candidate also gets its output
// SQNR and agreement against them.
import type { Dataset } from '../data/dataset.js';
import { collectOutputs, type ModelOutputs } from '../runtime/outputs.js';
import { median } from '../runtime/run.js';
import type { ProgressFactory } from '../util/progress.js';
import { checkLabelRange } from '../data/labels.js';
import { argmaxRows, matchPercent, sqnrDb } from './classification.js';
import { classificationMetric, dropOf, type CandidateScore, type Metric, type ModelScorer } from './metric.js';

export interface OutputScorerOptions {
  batchSize: number;
  /** Score on the first `limit` samples only. */
  limit?: number;
  labels?: Int32Array;
  /** Names the labels file in errors (labels out of the model's class range). */
  labelsPath?: string;
  progress?: ProgressFactory;
}

export interface OutputScore extends CandidateScore {
  top1: number | null;
  agreement: number;
  /** null when the outputs equal FP32's. */
  sqnrDb: number | null;
  medianBatchMs: number;
  /** The predicted class of every scored sample. */
  predictions: Int32Array;
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
  /** Values per sample of the first output: the classes, for a classifier. */
  readonly classes: number;
  private readonly fp32Predictions: Int32Array;
  /** What predictions are compared with: the labels, or FP32's predictions. */
  private readonly target: Int32Array;

  private constructor(
    private readonly ds: Dataset,
    private readonly reference: ModelOutputs,
    private readonly opts: OutputScorerOptions,
    passSeconds: number,
  ) {
    this.metric = classificationMetric(opts.labels !== undefined);
    this.samples = reference.count;
    this.classes = reference.cols;
    this.fp32Predictions = argmaxRows(reference.values, reference.count, reference.cols);
    this.target = opts.labels ? opts.labels.subarray(0, reference.count) : this.fp32Predictions;
    this.fp32 = matchPercent(this.fp32Predictions, this.target);
    this.fp32Top1 = opts.labels ? this.fp32 : null;
    this.fp32MedianBatchMs = median(reference.batchMs);
    this.fp32PassSeconds = passSeconds;
    this.fp32ForwardSeconds = reference.batchMs.reduce((a, b) => a + b, 0) / 1000;
  }

  /** Runs the FP32 model once; labels outside its output's class range are bad input. */
  static async create(fp32: Uint8Array, label: string, ds: Dataset, opts: OutputScorerOptions): Promise<OutputScorer> {
    const t0 = performance.now();
    const reference = await collectOutputs(fp32, label, ds, { ...opts, progressLabel: 'eval fp32' });
    const seconds = (performance.now() - t0) / 1000;
    if (opts.labels && opts.labelsPath) checkLabelRange(opts.labels, reference.cols, opts.labelsPath);
    return new OutputScorer(ds, reference, opts, seconds);
  }

  async score(bytes: Uint8Array, label: string, progressLabel?: string): Promise<OutputScore> {
    const t0 = performance.now();
    const out = await collectOutputs(bytes, label, this.ds, {
      batchSize: this.opts.batchSize, limit: this.opts.limit, progress: progressLabel ? this.opts.progress : undefined, progressLabel,
    });
    const ref = this.reference;
    if (ref.cols !== out.cols) throw new Error(`reference output has ${ref.cols} values per sample, model has ${out.cols}`);
    const predictions = argmaxRows(out.values, out.count, out.cols);
    const value = this.scorePredictions(predictions);
    return {
      value,
      drop: dropOf(this.metric, this.fp32, value),
      seconds: (performance.now() - t0) / 1000,
      top1: this.opts.labels ? value : null,
      agreement: matchPercent(predictions, this.fp32Predictions),
      sqnrDb: sqnrDb(ref.values.subarray(0, out.values.length), out.values),
      medianBatchMs: median(out.batchMs),
      predictions,
    };
  }

  /** The metric for predictions made elsewhere (QAT's tfjs model) on the same samples. */
  scorePredictions(predictions: Int32Array): number {
    return matchPercent(predictions, this.target);
  }
}
