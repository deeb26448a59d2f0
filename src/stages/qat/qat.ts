// `qtool qat-finetune`: quantization-aware fine-tuning of the recipe calibrate
// made (optionally with partial's float layers kept in float), then the INT8
// QDQ export, checked in onnxruntime against the trained tfjs fake-quant
// model (parity). A checkpoint after every epoch (src/qat/checkpoint.ts)
// lets --resume continue an interrupted run.
import { join } from 'node:path';
import { encodeModel } from '../../onnx/model.js';
import { batchFeeds } from '../../data/batches.js';
import type { DataSourceOptions, Dataset } from '../../data/dataset.js';
import { checkLabelRange } from '../../data/labels.js';
import { loadTf } from '../../qat/tf.js';
import { tensorsFromFeeds } from '../../qat/executor.js';
import { QatGraph } from '../../qat/qat-graph.js';
import { exportQatModel, trainQat, type TrainResult } from '../../qat/train.js';
import { CHECKPOINT_FILE, checkpointToResume, qatFingerprint, writeCheckpoint, type Checkpoint } from '../../qat/checkpoint.js';
import type { QatEpoch, QatFingerprint } from '../../qat/checkpoint-schema.js';
import { buildRecipeBytes, recipeMetadata } from '../../quant/recipe.js';
import { OutputScorer } from '../../metrics/output-scorer.js';
import { CommandScorer, type MetricCommand } from '../../metrics/command-scorer.js';
import { atMost } from '../../metrics/metric.js';
import { writeReport } from '../../report/io.js';
import { progressBar } from '../../report/progress.js';
import { qatReportSchema, type QatReport } from '../../report/schemas/qat.js';
import { calibrationDecisions } from '../../report/schemas/calibration.js';
import { fileError, InputError } from '../../util/errors.js';
import type { Optimizer } from '../../config/options/qat.js';
import { withOutput } from '../../report/commit.js';
import { writeModelArtifact } from '../../report/write-model.js';
import { qatReport, type Parity } from './report.js';
import { qatSetup, type QatSetup } from './setup.js';

export interface QatInputs {
  model: string;
  calibration: string;
  partial?: string;
  train: string;
  trainLabels?: string;
  distill?: boolean;
  eval?: string;
  labels?: string;
  /** How to read an image folder or a text file (preprocessing, tokenizer). */
  source?: DataSourceOptions;
}

export interface QatOptions {
  epochs: number;
  baseLr?: number;
  lr?: number;
  optimizer: Optimizer;
  batchSize: number;
  learnRanges: boolean;
  /** The user's metric: scored on the calibrated model before training and on the export; the budget is in it. */
  metricCommand?: MetricCommand;
  outDir: string;
  /** Accuracy budget, points: the exported INT8 model in onnxruntime may drop at most this much from FP32 (report.budget). */
  maxDrop?: number;
  /**
   * Continue from OUT/qat.checkpoint, which a run with the same inputs and
   * options wrote (true: it must exist and match, else exit 2; 'auto': when
   * one exists and matches, else start over, as qtool run does).
   */
  resume?: boolean | 'auto';
  /** Aborted: training stops after the current step with QatInterruptedError; the last checkpoint stays. */
  signal?: AbortSignal;
  /** Told what happens as it happens (the CLI prints it on stderr). */
  onEvent?: (e: QatEvent) => void;
}

/** What qat-finetune tells as it goes. */
export type QatEvent =
  | { kind: 'backend'; backend: string; native: boolean; fused: boolean; fallbackReason: string | null }
  | { kind: 'epoch'; epoch: number; epochs: number; loss: number; accuracy: number | null; metric: string; seconds: number }
  | { kind: 'not-resuming'; reason: string };

/** Training was stopped (QatOptions.signal); the message says where the checkpoint is and how to resume. */
export class QatInterruptedError extends Error {
  readonly exitCode = 130;
  constructor(message: string) {
    super(message);
    this.name = 'QatInterruptedError';
  }
}

/** Largest allowed |tfjs - onnxruntime| accuracy gap, points. */
export const MAX_PARITY_GAP = 0.3;

/**
 * Predicted classes of the first `count` samples from the tfjs graph (fake quant on or off as set): the argmax
 * over the last axis of the first output, `positions` per sample (1 for [N, C], T for [N, T, C]).
 */
function tfPredictions(qg: QatGraph, ds: Dataset, count: number, batch: number, positions: number): Int32Array {
  const { tf } = qg;
  const preds = new Int32Array(count * positions);
  for (let s = 0; s < count; s += batch) {
    const size = Math.min(batch, count - s);
    const p = tf.tidy(() => tf.argMax(qg.logits(tensorsFromFeeds(tf, batchFeeds(ds, s, size))), -1).dataSync());
    preds.set(p, s * positions);
  }
  return preds;
}

function disagreements(a: Int32Array, b: Int32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Starting learning rate: --lr, or 1% of --base-lr (default 0.01). */
const startingLr = (opts: Pick<QatOptions, 'lr' | 'baseLr'>): number => opts.lr ?? (opts.baseLr ?? 0.01) * 0.01;

function fingerprintOf(inputs: QatInputs, opts: QatOptions, s: QatSetup): QatFingerprint {
  const cal = s.calibration;
  return qatFingerprint({
    modelSha256: s.fp32.sha256,
    // What QAT uses: calibration.json also holds command lines and timings, and a re-run that decides the same (as qtool run's) keeps the checkpoint valid.
    recipe: calibrationDecisions(cal),
    floatLayers: inputs.partial ? s.recipe.floatLayers : null,
    files: { train: s.trainDs.path, trainLabels: inputs.trainLabels, eval: inputs.eval, labels: inputs.labels },
    source: { preprocess: inputs.source?.preprocess, tokenizer: inputs.source?.tokenizer, maxLength: inputs.source?.maxLength },
    options: { epochs: opts.epochs, batchSize: opts.batchSize, optimizer: opts.optimizer, lr0: startingLr(opts), learnRanges: opts.learnRanges },
  });
}

interface Training {
  res: TrainResult;
  epochLog: QatEpoch[];
}

/** The training loop with its progress bar, per-epoch accuracy and checkpoints, and Ctrl-C. */
async function train(
  qg: QatGraph, s: QatSetup, scorer: OutputScorer, opts: QatOptions,
  checkpoint: { path: string; fingerprint: QatFingerprint; resumed?: Checkpoint },
): Promise<Training> {
  const { resumed } = checkpoint;
  const totalSteps = opts.epochs * Math.floor(s.trainDs.count / opts.batchSize);
  const doneSteps = resumed?.state.losses.length ?? 0;
  const epochLog: QatEpoch[] = resumed ? resumed.epochLog.slice() : [];
  let lastCheckpoint = resumed?.state.epoch ?? 0;
  const stopRequested = () => opts.signal?.aborted ?? false;
  const interrupted = (where: string) => new QatInterruptedError(lastCheckpoint
    ? `interrupted ${where}; ${checkpoint.path} holds epoch ${lastCheckpoint} of ${opts.epochs}: run the same command${opts.resume === 'auto' ? ' again' : ' with --resume'} to continue`
    : `interrupted ${where}, before the first checkpoint (written after each epoch); nothing was saved`);
  if (stopRequested()) throw interrupted('before training');
  const bar = progressBar('qat', totalSteps - doneSteps, 'steps');
  const tStart = performance.now();
  let res: TrainResult;
  try {
    res = await trainQat(qg, s.trainDs, {
      epochs: opts.epochs, batchSize: opts.batchSize, baseLr: opts.baseLr, lr: opts.lr, optimizer: opts.optimizer,
      labels: s.trainY, resume: resumed?.state, shouldStop: stopRequested,
      onStep: (step, _steps, loss) => {
        const sps = ((step - doneSteps) * opts.batchSize) / Math.max((performance.now() - tStart) / 1000, 1e-9);
        bar.tick(1, `loss ${loss.toFixed(4)}, ${sps.toFixed(0)} samples/s`);
      },
      onEpoch: async (e) => {
        const accuracy = s.evalDs ? scorer.scorePredictions(tfPredictions(qg, s.parity.ds, s.parity.count, s.parity.batch, scorer.positions)) : null;
        epochLog.push({ epoch: e.epoch, loss: e.loss, accuracy, seconds: e.seconds });
        writeCheckpoint(checkpoint.path, { fingerprint: checkpoint.fingerprint, epochLog, state: await e.state() });
        lastCheckpoint = e.epoch;
        opts.onEvent?.({ kind: 'epoch', epoch: e.epoch, epochs: e.epochs, loss: e.loss, accuracy, metric: scorer.metric.label, seconds: e.seconds });
      },
    });
  } catch (e) {
    const msg = (e as Error).message;
    if (/^QAT loss became/.test(msg)) throw new InputError(msg);
    throw e;
  } finally {
    bar.stop();
  }
  if (res.stopped) throw interrupted(`at step ${res.losses.length} of ${res.steps}`);
  if (stopRequested()) throw interrupted('after training, before the export');
  return { res, epochLog };
}

/** The trained fake-quant model in tfjs against its INT8 export in onnxruntime, on the same samples. */
async function exportAndCheck(qg: QatGraph, s: QatSetup, scorer: OutputScorer): Promise<{ exported: Uint8Array; parity: Parity }> {
  const { ds, count, batch } = s.parity;
  const tfPreds = tfPredictions(qg, ds, count, batch, scorer.positions);
  const tfjs = scorer.scorePredictions(tfPreds);
  const floatLayers = s.recipe.floatLayers;
  const exported = encodeModel(exportQatModel(qg, {
    ...recipeMetadata(s.recipe),
    ...(floatLayers.length ? { 'qtool.float_layers': floatLayers.join(',') } : {}),
  }));
  const ort = await scorer.score(exported, 'exported QAT model', 'eval qat int8');
  const gap = Math.abs(tfjs - ort.value);
  return {
    exported,
    parity: {
      data: ds.path, samples: count, metric: scorer.metric.name as Parity['metric'],
      tfjs, onnxruntime: ort.value, gap, maxGap: MAX_PARITY_GAP,
      disagreements: disagreements(tfPreds, ort.predictions),
      ok: atMost(gap, MAX_PARITY_GAP),
      drop: ort.drop,
    },
  };
}

/**
 * OUT/model.qat.onnx and OUT/qat.json, committed as one set at the end
 * (src/report/commit.ts); OUT/qat.checkpoint is replaced after every epoch.
 */
export async function qatFinetune(inputs: QatInputs, opts: QatOptions): Promise<QatReport> {
  return withOutput(opts.outDir, 'qat-finetune', () => qatFinetuneInto(inputs, opts));
}

async function qatFinetuneInto(inputs: QatInputs, opts: QatOptions): Promise<QatReport> {
  const started = performance.now();
  // Every input is read and checked before TensorFlow loads (it logs to stderr).
  const s = qatSetup(inputs, opts);
  const fingerprint = fingerprintOf(inputs, opts, s);
  const checkpointPath = join(opts.outDir, CHECKPOINT_FILE);
  const resumed = checkpointToResume(checkpointPath, fingerprint, opts.resume, (reason) => opts.onEvent?.({ kind: 'not-resuming', reason }));

  // FP32 in onnxruntime: the label range check, FP32 accuracy (or the predictions agreement is measured against).
  const p = s.parity;
  const scorer = await OutputScorer.create(s.fp32.bytes, s.fp32.path, p.ds, { batchSize: p.batch, limit: p.count, labels: p.labels, labelsPath: p.labelsPath, progress: progressBar });
  if (scorer.primary.kind === 'map') {
    throw fileError(s.fp32.path, `output '${scorer.primary.name}' ([N, ${scorer.primary.dims.join(', ')}]) has no class axis; ` +
      'qat-finetune measures accuracy by the argmax of the first output ([N, C] or [N, T, C])');
  }
  if (s.trainY && scorer.primary.kind !== 'classes') {
    throw fileError(s.trainLabelsPath!, `class labels train an [N, classes] output; output '${scorer.primary.name}' is [N, ${scorer.primary.dims.join(', ')}] (use --distill)`);
  }
  if (s.trainY && p.labels !== s.trainY) checkLabelRange(s.trainY, scorer.classes, s.trainLabelsPath!);

  // The user's metric before training (the calibrated QDQ model is what QAT starts from), before TensorFlow loads.
  const command = opts.metricCommand ? await CommandScorer.create(s.fp32.bytes, `${s.fp32.path} (FP32)`, opts.metricCommand, opts.outDir) : undefined;
  const commandBefore = command ? await command.score(buildRecipeBytes(s.recipe), 'the calibrated INT8 model (before QAT)') : undefined;

  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const rt = await loadTf();
  const qg = new QatGraph(s.recipe, rt.tf, { learnScales: opts.learnRanges, learnWeightScales: opts.learnRanges });
  opts.onEvent?.({ kind: 'backend', backend: rt.backend, native: rt.backend !== 'cpu', fused: qg.fused, fallbackReason: rt.fallbackReason ?? null });
  try {
    const before = s.evalDs ? scorer.scorePredictions(tfPredictions(qg, p.ds, p.count, p.batch, scorer.positions)) : undefined;
    const { res, epochLog } = await train(qg, s, scorer, opts, { path: checkpointPath, fingerprint, resumed });
    const { exported, parity } = await exportAndCheck(qg, s, scorer);
    const commandAfter = command ? await command.score(exported, 'the exported QAT model') : undefined;
    const metricCommand = command && commandBefore && commandAfter
      ? { ...command.cost(), before: commandBefore.value, after: commandAfter.value, drop: commandAfter.drop }
      : undefined;
    const report = qatReport({
      metricCommand,
      inputs, opts, setup: s, scorer, before, res, epochLog, parity, resumedFrom: resumed ? resumed.state.epoch : null,
      backend: { name: rt.backend, native: rt.backend !== 'cpu', fallbackReason: rt.fallbackReason ?? null },
      lr0: startingLr(opts), batchNormFolded: qg.batchNormFolded, quantizedLayers: qg.plan.layers.length, checkpoint: checkpointPath, started,
    });
    // Everything is computed before the model and report are written; the two are committed together.
    writeModelArtifact(report.artifacts.model, exported);
    writeReport(report.artifacts.report, qatReportSchema, report);
    return report;
  } finally {
    qg.dispose();
  }
}
