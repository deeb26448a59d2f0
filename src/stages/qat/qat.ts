// `qtool qat-finetune`: quantization-aware fine-tuning of the model calibrate
// quantized (optionally with partial's float layers kept in float), then the
// INT8 QDQ export, checked in onnxruntime against the trained tfjs
// fake-quant model (parity). A checkpoint after every epoch (see
// src/qat/checkpoint.ts) lets --resume continue an interrupted run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import chalk from 'chalk';
import { loadModel, encodeModel } from '../../onnx/model.js';
import { graphInputs } from '../../onnx/graph.js';
import { loadDataset, type Dataset } from '../../data/dataset.js';
import { batchFeeds } from '../../data/batches.js';
import { loadLabels, checkLabelRange } from '../../data/labels.js';
import { loadTf } from '../../qat/tf.js';
import { tensorsFromFeeds } from '../../qat/executor.js';
import { QatGraph } from '../../qat/qat-graph.js';
import { exportQatModel, trainQat } from '../../qat/train.js';
import { CHECKPOINT_FILE, checkFingerprint, readCheckpoint, writeCheckpoint, type Checkpoint } from '../../qat/checkpoint.js';
import { readReport, reportHeaderFor, writeReport, QTOOL_VERSION } from '../../report/io.js';
import { partialReportSchema } from '../../report/schemas/partial.js';
import { qatReportSchema, type QatEpoch, type QatFingerprint, type QatReport } from '../../report/schemas/qat.js';
import { progressBar } from '../../util/progress.js';
import { fileError, InputError } from '../../util/errors.js';
import { sha256, sha256File, writeFileAtomic } from '../../util/files.js';
import { listOr } from '../../config/options.js';
import { OPTIMIZERS, type Optimizer } from '../../config/options/qat.js';
import { argmaxRows, matchPercent } from '../../metrics/classification.js';
import { loadQuantizedModel, planWithFloatLayers, type QuantizedModel } from '../quantized-model.js';
import { collectOutputs } from '../evaluate.js';

export interface QatInputs {
  model: string;
  calibration: string;
  partial?: string;
  train: string;
  trainLabels?: string;
  distill?: boolean;
  eval?: string;
  labels?: string;
}

export interface QatOptions {
  epochs: number;
  baseLr?: number;
  lr?: number;
  optimizer: Optimizer;
  batchSize: number;
  learnRanges: boolean;
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
}

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
/** Without --eval, parity is measured on the first this many training samples. */
const PARITY_SAMPLES = 1000;
/** At most this many points in the loss / lr curves. */
const CURVE_POINTS = 1000;

function checkOptions(inputs: QatInputs, opts: QatOptions): void {
  if (Boolean(inputs.trainLabels) === Boolean(inputs.distill)) {
    throw new InputError('give exactly one of --train-labels Y and --distill');
  }
  if (opts.baseLr !== undefined && opts.lr !== undefined) throw new InputError('give at most one of --base-lr and --lr');
  const positive = (flag: string, v: number | undefined, integer: boolean) => {
    if (v === undefined) return;
    if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new InputError(`${flag} takes a positive ${integer ? 'whole number' : 'number'}, got ${v}`);
    }
  };
  positive('--epochs', opts.epochs, true);
  positive('--batch-size', opts.batchSize, true);
  positive('--base-lr', opts.baseLr, false);
  positive('--lr', opts.lr, false);
  if (!OPTIMIZERS.includes(opts.optimizer)) throw new InputError(`--optimizer: expected ${listOr(OPTIMIZERS)}, got '${String(opts.optimizer)}'`);
  if (Boolean(inputs.eval) !== Boolean(inputs.labels)) throw new InputError('--eval and --labels go together');
  if (opts.maxDrop !== undefined && (!Number.isFinite(opts.maxDrop) || opts.maxDrop < 0)) {
    throw new InputError(`--max-drop takes accuracy points >= 0, got ${opts.maxDrop}`);
  }
}

/** Predicted classes of the first `count` samples from the tfjs graph (fake quant on or off as set). */
function tfPredictions(qg: QatGraph, ds: Dataset, count: number, batch: number): Int32Array {
  const { tf } = qg;
  const preds = new Int32Array(count);
  for (let s = 0; s < count; s += batch) {
    const size = Math.min(batch, count - s);
    const p = tf.tidy(() => tf.argMax(qg.logits(tensorsFromFeeds(tf, batchFeeds(ds, s, size))), -1).dataSync());
    preds.set(p, s);
  }
  return preds;
}

function disagreements(a: Int32Array, b: Int32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

export async function qatFinetune(inputs: QatInputs, opts: QatOptions): Promise<QatReport> {
  const started = performance.now();
  checkOptions(inputs, opts);
  // Every input is read and checked before TensorFlow loads (it logs to stderr).
  const fp32 = loadModel(inputs.model);
  const full = loadQuantizedModel(fp32, inputs.calibration);
  let floatLayers: string[] = [];
  if (inputs.partial) {
    const p = readReport(inputs.partial, partialReportSchema, fp32.sha256);
    const names = new Set(full.plan.layers.map((l) => l.name));
    const unknown = p.floatLayers.find((l) => !names.has(l));
    if (unknown !== undefined) throw fileError(inputs.partial, `lists float layer '${unknown}', which this model's calibration does not quantize`);
    floatLayers = p.floatLayers;
  }
  const plan = floatLayers.length ? planWithFloatLayers(full, new Set(floatLayers)) : full.plan;
  const q: QuantizedModel = { ...full, plan, qparams: new Map(plan.tensors.map((t) => [t, full.qparams.get(t)!])) };

  const specs = graphInputs(fp32.model.graph!);
  const trainDs = loadDataset(inputs.train, specs);
  const trainY = inputs.trainLabels ? loadLabels(inputs.trainLabels, trainDs.count, trainDs.path) : undefined;
  const evalDs = inputs.eval ? loadDataset(inputs.eval, specs) : undefined;
  const evalY = inputs.labels && evalDs ? loadLabels(inputs.labels, evalDs.count, evalDs.path) : undefined;
  if (trainDs.fixedBatch !== undefined && trainDs.fixedBatch !== opts.batchSize) {
    throw new InputError(`the model needs batches of exactly ${trainDs.fixedBatch}; pass --batch-size ${trainDs.fixedBatch}`);
  }
  if (Math.floor(trainDs.count / opts.batchSize) < 1) {
    throw fileError(trainDs.path, `${trainDs.count} samples make no batch of ${opts.batchSize}; lower --batch-size`);
  }
  // The data parity (and the accuracies) are measured on.
  const paritySet = evalDs ?? trainDs;
  const parityLabels = evalDs ? evalY : trainY;
  const parityCount = evalDs ? evalDs.count : Math.min(trainDs.count, PARITY_SAMPLES);
  const evalBatch = trainDs.fixedBatch ?? Math.max(opts.batchSize, 100);
  if (paritySet.fixedBatch !== undefined && parityCount % paritySet.fixedBatch !== 0) {
    throw fileError(paritySet.path, `${parityCount} samples are not whole batches of ${paritySet.fixedBatch}`);
  }

  const lr0 = opts.lr ?? (opts.baseLr ?? 0.01) * 0.01;
  const hashOf = (path: string | undefined) => (path ? sha256File(path) : null);
  // calibration.json and partial.json also hold command lines and timings: a
  // re-run that decides the same (as qtool run's) keeps the checkpoint valid.
  const decisions = (v: unknown) => sha256(Buffer.from(JSON.stringify(v)));
  const cal = full.calibration;
  const fingerprint: QatFingerprint = {
    model: fp32.sha256,
    calibration: decisions({
      perChannel: cal.perChannel, activationType: cal.activationType, clipGelu: cal.clipGelu, foldedBatchNorms: cal.foldedBatchNorms,
      layers: cal.layers.map((l) => l.name),
      tensors: cal.tensors.map((t) => [t.name, t.sharesScaleWith, t.selected]),
    }),
    partial: inputs.partial ? decisions(floatLayers) : null,
    train: sha256File(trainDs.path), trainLabels: hashOf(inputs.trainLabels), eval: hashOf(inputs.eval), labels: hashOf(inputs.labels),
    epochs: opts.epochs, batchSize: opts.batchSize, optimizer: opts.optimizer, lr0, learnRanges: opts.learnRanges,
  };
  const checkpointPath = join(opts.outDir, CHECKPOINT_FILE);
  let resumed: Checkpoint | undefined;
  if (opts.resume === true) {
    if (!existsSync(checkpointPath)) throw fileError(checkpointPath, 'no checkpoint to resume from; run without --resume');
    resumed = readCheckpoint(checkpointPath);
    checkFingerprint(checkpointPath, resumed.fingerprint, fingerprint);
  } else if (opts.resume === 'auto' && existsSync(checkpointPath)) {
    try {
      const c = readCheckpoint(checkpointPath);
      checkFingerprint(checkpointPath, c.fingerprint, fingerprint);
      resumed = c;
    } catch (e) {
      process.stderr.write(`qtool: not resuming: ${(e as Error).message.split('; run without')[0]}; starting over\n`);
    }
  }

  // FP32 reference in onnxruntime: label range check, FP32 accuracy (or the predictions agreement is measured against).
  const ref = await collectOutputs(fp32.bytes, fp32.path, paritySet, { batchSize: paritySet.fixedBatch ?? evalBatch, limit: parityCount, progress: 'eval fp32' });
  if (trainY) checkLabelRange(trainY, ref.cols, inputs.trainLabels!);
  if (evalY) checkLabelRange(evalY, ref.cols, inputs.labels!);
  const refPreds = argmaxRows(ref.values, ref.count, ref.cols);
  const target = parityLabels ? parityLabels.subarray(0, parityCount) : refPreds;
  const metric = parityLabels ? 'top1' as const : 'agreement' as const;
  const fp32Accuracy = matchPercent(refPreds, target);

  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const rt = await loadTf();
  const native = rt.backend !== 'cpu';
  const { tf } = rt;
  const qg = new QatGraph(q, tf, { learnScales: opts.learnRanges, learnWeightScales: opts.learnRanges });
  process.stderr.write(`qtool: TensorFlow.js backend: ${rt.backend}${native ? ' (native)' : ' (pure JS)'}; ` +
    `activation fake quant: ${qg.fused ? "TensorFlow's fused ops" : 'tfjs ops, bit-exact'}\n`);
  if (!native) {
    process.stderr.write(chalk.yellow(`qtool: warning: training on the pure-JS CPU backend, about 80x slower than @tensorflow/tfjs-node${rt.fallbackReason ? ` (${rt.fallbackReason})` : ''}\n`));
  }
  try {
    const predBatch = paritySet.fixedBatch ?? evalBatch;
    const before = evalDs ? matchPercent(tfPredictions(qg, paritySet, parityCount, predBatch), target) : undefined;

    const perEpoch = Math.floor(trainDs.count / opts.batchSize);
    const totalSteps = opts.epochs * perEpoch;
    const doneSteps = resumed?.state.losses.length ?? 0;
    const epochLog: QatEpoch[] = resumed ? resumed.epochLog.slice() : [];
    let lastCheckpoint = resumed?.state.epoch ?? 0;
    const stopRequested = () => opts.signal?.aborted ?? false;
    const interrupted = (where: string) => new QatInterruptedError(lastCheckpoint
      ? `interrupted ${where}; ${checkpointPath} holds epoch ${lastCheckpoint} of ${opts.epochs}: run the same command${opts.resume === 'auto' ? ' again' : ' with --resume'} to continue`
      : `interrupted ${where}, before the first checkpoint (written after each epoch); nothing was saved`);
    if (stopRequested()) throw interrupted('before training');
    const bar = progressBar('qat', totalSteps - doneSteps, 'steps');
    const tStart = performance.now();
    // One line per epoch on stderr, over the progress bar's line on a terminal.
    const say = (line: string) => process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}qtool: ${line}\n`);
    let res;
    try {
      res = await trainQat(qg, trainDs, {
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        baseLr: opts.baseLr,
        lr: opts.lr,
        optimizer: opts.optimizer,
        labels: trainY,
        resume: resumed?.state,
        shouldStop: stopRequested,
        onStep: (step, _steps, loss) => {
          const sps = ((step - doneSteps) * opts.batchSize) / Math.max((performance.now() - tStart) / 1000, 1e-9);
          bar.tick(1, `loss ${loss.toFixed(4)}, ${sps.toFixed(0)} samples/s`);
        },
        onEpoch: async (e) => {
          const accuracy = evalDs ? matchPercent(tfPredictions(qg, paritySet, parityCount, predBatch), target) : null;
          epochLog.push({ epoch: e.epoch, loss: e.loss, accuracy, seconds: e.seconds });
          writeCheckpoint(checkpointPath, { fingerprint, epochLog, state: await e.state() });
          lastCheckpoint = e.epoch;
          say(`epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}${accuracy === null ? '' : `, top-1 ${accuracy.toFixed(2)} %`} (${e.seconds.toFixed(1)} s)`);
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

    const tfPreds = tfPredictions(qg, paritySet, parityCount, predBatch);
    const tfAcc = matchPercent(tfPreds, target);
    const exported = encodeModel(exportQatModel(qg, {
      'qtool.version': QTOOL_VERSION,
      'qtool.calibration': q.calibration.selectedMethod,
      'qtool.activation_type': q.calibration.activationType,
      ...(floatLayers.length ? { 'qtool.float_layers': floatLayers.join(',') } : {}),
    }));
    const out = await collectOutputs(exported, 'exported QAT model', paritySet, { batchSize: predBatch, limit: parityCount, progress: 'eval qat int8' });
    const ortPreds = argmaxRows(out.values, out.count, out.cols);
    const ortAcc = matchPercent(ortPreds, target);
    const gap = Math.abs(tfAcc - ortAcc);

    const every = Math.max(1, Math.ceil(res.steps / CURVE_POINTS));
    const loss: number[] = [];
    const lr: number[] = [];
    for (let s = 0; s < res.steps; s += every) {
      const chunk = res.losses.slice(s, s + every);
      loss.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
      lr.push(res.lrs[s]!);
    }
    const modelPath = join(opts.outDir, 'model.qat.onnx');
    const reportPath = join(opts.outDir, 'qat.json');
    const optimizer = opts.optimizer;
    const report: QatReport = {
      schema: 'qtool/qat@1',
      ...reportHeaderFor(fp32, {
        epochs: opts.epochs, baseLr: opts.baseLr ?? null, lr: opts.lr ?? null, optimizer, batchSize: opts.batchSize,
        learnRanges: opts.learnRanges, distill: !trainY,
      }),
      calibration: { path: inputs.calibration, method: q.calibration.selectedMethod, perChannel: q.calibration.perChannel },
      partial: inputs.partial ? { path: inputs.partial } : null,
      floatLayers,
      quantizedLayers: qg.plan.layers.length,
      batchNormFolded: qg.batchNormFolded,
      train: { path: trainDs.path, samples: trainDs.count, labels: inputs.trainLabels ?? null, loss: trainY ? 'cross-entropy' : 'distillation' },
      backend: { name: rt.backend, native, fallbackReason: rt.fallbackReason ?? null },
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      optimizer,
      learnRanges: opts.learnRanges,
      steps: res.steps,
      lr0,
      curveEvery: every,
      loss,
      lr,
      epochLog,
      resumedFrom: resumed ? resumed.state.epoch : null,
      accuracy: evalDs && before !== undefined
        ? { data: evalDs.path, samples: parityCount, metric, fp32: fp32Accuracy, before, after: tfAcc }
        : null,
      budget: opts.maxDrop === undefined ? null : {
        maxDrop: opts.maxDrop, drop: fp32Accuracy - ortAcc, met: fp32Accuracy - ortAcc <= opts.maxDrop + 1e-9,
      },
      parity: {
        data: paritySet.path, samples: parityCount, metric,
        tfjs: tfAcc, onnxruntime: ortAcc, gap, maxGap: MAX_PARITY_GAP,
        disagreements: disagreements(tfPreds, ortPreds),
        ok: gap <= MAX_PARITY_GAP + 1e-9,
      },
      timings: {
        totalSeconds: (performance.now() - started) / 1000,
        trainSeconds: res.seconds,
        samplesPerSecond: res.steps > res.resumedSteps ? ((res.steps - res.resumedSteps) * opts.batchSize) / Math.max(res.seconds, 1e-9) : 0,
      },
      artifacts: { model: modelPath, report: reportPath, checkpoint: checkpointPath },
    };
    // Everything is computed before the model and report are written; each file atomically.
    writeFileAtomic(modelPath, exported);
    writeReport(reportPath, qatReportSchema, report);
    return report;
  } finally {
    qg.dispose();
  }
}
