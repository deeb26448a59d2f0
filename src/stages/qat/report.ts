// qat.json from what qat-finetune measured.
import { join } from 'node:path';
import type { QatEpoch } from '../../qat/checkpoint-schema.js';
import type { TrainResult } from '../../qat/train.js';
import { atMost } from '../../metrics/metric.js';
import type { OutputScorer } from '../../metrics/output-scorer.js';
import { reportHeaderFor } from '../../report/io.js';
import type { QatReport } from '../../report/schemas/qat.js';
import type { QatInputs, QatOptions } from './qat.js';
import type { QatSetup } from './setup.js';

/** At most this many points in the loss / lr curves. */
const CURVE_POINTS = 1000;

/** qat.json's parity, plus the exported model's drop from FP32. */
export type Parity = QatReport['parity'] & { drop: number };

export interface QatFacts {
  inputs: QatInputs;
  opts: QatOptions;
  setup: QatSetup;
  scorer: OutputScorer;
  /** The fake-quant model's accuracy before training (with --eval). */
  before: number | undefined;
  res: TrainResult;
  epochLog: QatEpoch[];
  parity: Parity;
  resumedFrom: number | null;
  backend: QatReport['backend'];
  lr0: number;
  batchNormFolded: boolean;
  quantizedLayers: number;
  checkpoint: string;
  /** performance.now() when the stage started. */
  started: number;
  /** With --metric-command: its scores before and after; the budget is decided on its drop. */
  metricCommand?: NonNullable<QatReport['metricCommand']>;
}

/** The loss and learning-rate curves, averaged down to at most CURVE_POINTS points. */
function curves(res: TrainResult): { every: number; loss: number[]; lr: number[] } {
  const every = Math.max(1, Math.ceil(res.steps / CURVE_POINTS));
  const loss: number[] = [];
  const lr: number[] = [];
  for (let s = 0; s < res.steps; s += every) {
    const chunk = res.losses.slice(s, s + every);
    loss.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
    lr.push(res.lrs[s]!);
  }
  return { every, loss, lr };
}

export function qatReport(f: QatFacts): QatReport {
  const { inputs, opts, setup: s, res, parity } = f;
  const { drop: parityDrop, ...parityReport } = parity;
  const drop = f.metricCommand?.drop ?? parityDrop;
  const c = curves(res);
  const cal = s.calibration;
  return {
    schema: 'qtool/qat@2',
    ...reportHeaderFor(s.fp32, {
      epochs: opts.epochs, baseLr: opts.baseLr ?? null, lr: opts.lr ?? null, optimizer: opts.optimizer, batchSize: opts.batchSize,
      learnRanges: opts.learnRanges, distill: !s.trainY, ...(opts.metricCommand ? { metricCommand: opts.metricCommand } : {}),
    }),
    calibration: { path: inputs.calibration, method: cal.selectedMethod, perChannel: cal.perChannel },
    partial: inputs.partial ? { path: inputs.partial } : null,
    floatLayers: s.recipe.floatLayers,
    quantizedLayers: f.quantizedLayers,
    batchNormFolded: f.batchNormFolded,
    train: { path: s.trainDs.path, samples: s.trainDs.count, labels: s.trainLabelsPath ?? null, loss: s.trainY ? 'cross-entropy' : 'distillation' },
    backend: f.backend,
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    optimizer: opts.optimizer,
    learnRanges: opts.learnRanges,
    steps: res.steps,
    lr0: f.lr0,
    curveEvery: c.every,
    loss: c.loss,
    lr: c.lr,
    epochLog: f.epochLog,
    resumedFrom: f.resumedFrom,
    accuracy: s.evalDs && f.before !== undefined
      ? { data: s.evalDs.path, samples: s.parity.count, metric: parity.metric, fp32: f.scorer.fp32, before: f.before, after: parity.tfjs }
      : null,
    ...(f.metricCommand ? { metricCommand: f.metricCommand } : {}),
    budget: opts.maxDrop === undefined ? null : { maxDrop: opts.maxDrop, drop, met: atMost(drop, opts.maxDrop) },
    parity: parityReport,
    timings: {
      totalSeconds: (performance.now() - f.started) / 1000,
      trainSeconds: res.seconds,
      samplesPerSecond: res.steps > res.resumedSteps ? ((res.steps - res.resumedSteps) * opts.batchSize) / Math.max(res.seconds, 1e-9) : 0,
    },
    artifacts: { model: join(opts.outDir, 'model.qat.onnx'), report: join(opts.outDir, 'qat.json'), checkpoint: f.checkpoint },
  };
}
