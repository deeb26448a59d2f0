import chalk from 'chalk';
import type { Command } from 'commander';
import { partial, type FloatType } from '../../stages/partial/partial.js';
import type { PartialReport } from '../../report/schemas/partial.js';
import { fmt, renderTable } from '../../report/table.js';
import { CheckFailedError, InputError } from '../../util/errors.js';
import { atMost } from '../../metrics/metric.js';
import { numberFlag } from '../number-flag.js';
import { action, emit, parsePositiveInt } from '../action.js';

interface Flags {
  calibration: string;
  sensitivity: string;
  data: string;
  labels?: string;
  maxDrop?: string;
  keepFloat?: string;
  floatType: string;
  maxSamples?: number;
  batchSize: number;
  out: string;
  json?: boolean;
}

function summary(r: PartialReport): string {
  const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
  const rows = r.curve.map((p) => {
    const chosen = p.floatLayers === r.result.floatLayers;
    const drop = r.budget.maxDrop === null ? fmt(p.drop) : (atMost(p.drop, r.budget.maxDrop) ? chalk.green : chalk.red)(fmt(p.drop));
    return [
      chosen ? chalk.bold.cyan(`${p.floatLayers} ◀`) : String(p.floatLayers),
      p.added ?? chalk.dim('(all quantized)'),
      fmt(p.accuracy), drop, fmt(p.sqnrDb, 1), fmt(p.medianBatchMs, 2), mb(p.sizeBytes),
    ];
  });
  const metric = r.accuracyMetric === 'top1' ? 'top-1 %' : 'agree %';
  return [
    `${chalk.bold(r.model.path)}: ${r.totalLayers} layers; FP32 ${r.accuracyMetric === 'top1' ? 'top-1' : 'agreement'} ${fmt(r.fp32.accuracy)} %, ${fmt(r.fp32.medianBatchMs, 2)} ms per batch, ${mb(r.fp32.sizeBytes)} (${r.data.samples} samples)`,
    '',
    renderTable(['float', 'layer added', metric, 'drop', 'SQNR dB', 'batch ms', 'size'], rows),
    '',
    ...r.warnings.map((w) => chalk.yellow(`  warning: ${w}`)),
    `${r.met ? chalk.green('✔') : chalk.red('✘')} ${r.message}`,
    r.floatLayers.length ? chalk.dim(`  in ${r.floatType}: ${r.floatLayers.join(', ')}`) : '',
    `  ${chalk.bold(r.artifacts.model)}, ${r.artifacts.report}`,
  ].filter((l, i, a) => l !== '' || a[i - 1] !== '').join('\n');
}

export function registerPartial(program: Command): void {
  program
    .command('partial')
    .description('keep the most sensitive layers in float until an accuracy budget is met (or exactly K)')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('--calibration <file>', 'calibration.json written by qtool calibrate for this model')
    .requiredOption('--sensitivity <file>', 'sensitivity.json written by qtool sensitivity for this model')
    .requiredOption('--data <file>', 'evaluation inputs (.npy or .npz)')
    .option('--labels <file>', 'labels for --data (without them, accuracy is top-1 agreement with FP32)')
    .option('--max-drop <points>', 'accuracy budget: the largest drop against FP32, in percentage points')
    .option('--keep-float <k>', 'keep exactly the K most sensitive layers in float')
    .option('--float-type <type>', 'fp32, or fp16 (weights stored in half precision, computed in fp32)', 'fp32')
    .option('--max-samples <n>', 'evaluate only the first N samples', parsePositiveInt('--max-samples'))
    .option('--batch-size <n>', 'samples per forward pass', parsePositiveInt('--batch-size'), 32)
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags) => {
      if (flags.floatType !== 'fp32' && flags.floatType !== 'fp16') {
        throw new InputError(`--float-type: expected fp32 or fp16, got '${flags.floatType}'`);
      }
      const report = await partial(
        { model, calibration: flags.calibration, sensitivity: flags.sensitivity, data: flags.data, labels: flags.labels },
        {
          maxDrop: numberFlag('--max-drop', flags.maxDrop),
          keepFloat: numberFlag('--keep-float', flags.keepFloat, true),
          floatType: flags.floatType as FloatType,
          maxSamples: flags.maxSamples,
          batchSize: flags.batchSize,
          outDir: flags.out,
        },
      );
      emit(report, flags.json, summary);
      if (!report.met) throw new CheckFailedError(report.message);
    }));
}
