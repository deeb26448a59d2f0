import chalk from 'chalk';
import type { Command } from 'commander';
import { qatFinetune } from '../../stages/qat/qat.js';
import { qatOptions } from '../../stages/qat/options.js';
import { QAT_OPTIONS } from '../../config/options/qat.js';
import type { QatReport } from '../../report/schemas/qat.js';
import { fmt } from '../../report/table.js';
import { CheckFailedError } from '../../util/errors.js';
import { interruptible } from '../interruptible.js';
import { printQatEvent } from '../qat-events.js';
import { DATA_SOURCE_OPTIONS } from '../../config/options/data.js';
import { action, emit } from '../action.js';
import { addOptions, dataSourceOf, sectionOf } from '../options.js';

interface Flags {
  calibration: string;
  partial?: string;
  train: string;
  trainLabels?: string;
  eval?: string;
  labels?: string;
  out: string;
  resume?: boolean;
  json?: boolean;
}

function summary(r: QatReport): string {
  const p = r.parity;
  const what = p.metric === 'top1' ? 'top-1' : 'agreement with FP32';
  const lines = [
    `${chalk.bold(r.model.path)}: ${r.quantizedLayers} layers quantized${r.floatLayers.length ? `, ${r.floatLayers.length} in float` : ''}; ` +
      `${r.steps} steps (${r.epochs} epoch${r.epochs === 1 ? "" : "s"} of ${r.train.samples} samples, ${r.train.loss}, ${r.optimizer}, lr ${r.lr0.toExponential(2)} cosine to 0) on ${r.backend.name}` +
      ` in ${fmt(r.timings.trainSeconds, 1)} s (${fmt(r.timings.samplesPerSecond, 0)} samples/s)`,
    `  loss ${fmt(r.loss[0], 4)} -> ${fmt(r.loss[r.loss.length - 1], 4)}` +
      (r.resumedFrom !== null ? ` (resumed after epoch ${r.resumedFrom})` : ''),
    ...r.epochLog.map((e) => `  epoch ${e.epoch}: loss ${fmt(e.loss, 4)}${e.accuracy === null ? '' : `, ${r.parity.metric === 'top1' ? 'top-1' : 'agreement'} ${fmt(e.accuracy)} %`}, ${fmt(e.seconds, 1)} s`),
  ];
  if (r.accuracy) {
    lines.push(`  ${what} on ${r.accuracy.data}: FP32 ${fmt(r.accuracy.fp32)} %, fake-quant before ${fmt(r.accuracy.before)} % -> after ${fmt(r.accuracy.after)} %`);
  }  const mc = r.metricCommand;
  if (mc) {
    lines.push(`  ${mc.name} (metric command): FP32 ${fmt(mc.fp32)}, calibrated INT8 before ${fmt(mc.before)} -> exported after ${fmt(mc.after)}` +
      ` (${mc.runs} runs, ${fmt(mc.seconds, 1)} s${mc.fp32Cached ? ', FP32 from the cache' : ''})`);
  }

  lines.push(`${p.ok ? chalk.green('✔') : chalk.red('✘')} parity on ${p.samples} samples of ${p.data}: tfjs ${fmt(p.tfjs)} %, exported INT8 in onnxruntime ${fmt(p.onnxruntime)} % ` +
    `(gap ${fmt(p.gap)} points, max ${p.maxGap}; ${p.disagreements} predictions differ)`);
  if (r.budget) {
    const b = r.budget;
    lines.push(`${b.met ? chalk.green('✔') : chalk.red('✘')} budget: the exported INT8 model drops ${fmt(b.drop)} points from FP32 (max ${b.maxDrop})`);
  }
  lines.push(`  ${chalk.bold(r.artifacts.model)}, ${r.artifacts.report}, ${r.artifacts.checkpoint}`);
  return lines.join('\n');
}

export function registerQat(program: Command): void {
  const cmd = program
    .command('qat-finetune')
    .description('quantization-aware fine-tuning of the calibrated model (TensorFlow.js), exported as an INT8 QDQ model')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('--calibration <file>', 'calibration.json written by qtool calibrate for this model')
    .option('--partial <file>', 'partial.json written by qtool partial: its float layers stay float')
    .requiredOption('--train <file>', 'training inputs (.npy, .npz, an image folder or a text file)')
    .option('--train-labels <file>', 'class labels for --train (cross-entropy loss; an image folder\'s classes need none)');
  addOptions(cmd, DATA_SOURCE_OPTIONS);
  addOptions(cmd, QAT_OPTIONS, 'distill', 'epochs', 'baseLr', 'lr', 'optimizer', 'batchSize', 'learnRanges')
    .option('--eval <file>', 'held-out inputs for accuracy before/after and parity')
    .option('--labels <file>', 'labels for --eval (without them, accuracy is top-1 agreement with FP32)');
  addOptions(cmd, QAT_OPTIONS, 'maxDrop', 'metricCommand', 'metricName', 'metricLowerIsBetter', 'metricTimeout')
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--resume', 'continue from OUT/qat.checkpoint (written after each epoch) of a run with the same inputs and options')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags, self: Command) => {
      const section = sectionOf(QAT_OPTIONS, self);
      // Ctrl-C stops after the current step and keeps the last epoch's checkpoint.
      const r = await interruptible((signal) => qatFinetune(
        {
          model, calibration: flags.calibration, partial: flags.partial, train: flags.train, trainLabels: flags.trainLabels,
          distill: section.distill, eval: flags.eval, labels: flags.labels, source: dataSourceOf(self),
        },
        { ...qatOptions(section, flags.out), resume: Boolean(flags.resume), signal, onEvent: printQatEvent },
      ));
      if ('exitCode' in r) return r.exitCode;
      const report = r.done;
      emit(report, flags.json, summary);
      if (!report.parity.ok) {
        throw new CheckFailedError(`parity: the exported INT8 model's accuracy in onnxruntime differs from the tfjs fake-quant model's by ${report.parity.gap.toFixed(2)} points (> ${report.parity.maxGap})`);
      }
      if (report.budget && !report.budget.met) {
        const by = report.metricCommand ? ` in ${report.metricCommand.name}` : ' points';
        throw new CheckFailedError(`budget: the exported INT8 model drops ${report.budget.drop.toFixed(2)}${by} from FP32 (> --max-drop ${report.budget.maxDrop})`);
      }
    }));
}
