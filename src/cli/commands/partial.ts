import chalk from 'chalk';
import type { Command } from 'commander';
import { partial } from '../../stages/partial/partial.js';
import { partialOptions } from '../../stages/partial/options.js';
import { PARTIAL_OPTIONS } from '../../config/options/partial.js';
import type { PartialReport } from '../../report/schemas/partial.js';
import { fmt, renderTable } from '../../report/table.js';
import { CheckFailedError } from '../../util/errors.js';
import { action, emit } from '../action.js';
import { addOptions, sectionOf } from '../options.js';
import { atMost } from '../../metrics/metric.js';

interface Flags {
  calibration: string;
  sensitivity: string;
  data: string;
  labels?: string;
  out: string;
  json?: boolean;
}

/** The accuracy column; for sqnr the SQNR clamped to [0, 100] dB that the budget is decided on. */
const METRIC_COLUMN: Record<PartialReport['accuracyMetric'], string> = { top1: 'top-1 %', agreement: 'agree %', sqnr: 'SQNR ≤100' };

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
  const metric = METRIC_COLUMN[r.accuracyMetric];
  const fp32 = r.accuracyMetric === 'sqnr' ? 'output SQNR capped at 100 dB' : `${r.accuracyMetric === 'top1' ? 'top-1' : 'agreement'} ${fmt(r.fp32.accuracy)} %`;
  return [
    `${chalk.bold(r.model.path)}: ${r.totalLayers} layers; FP32 ${fp32}, ${fmt(r.fp32.medianBatchMs, 2)} ms per batch, ${mb(r.fp32.sizeBytes)} (${r.data.samples} samples)`,
    '',
    renderTable(['float', 'layer added', metric, 'drop', 'SQNR dB', 'batch ms', 'size'], rows),
    '',
    ...r.warnings.map((w) => chalk.yellow(`  warning: ${w}`)),
    `${r.met ? chalk.green('✔') : chalk.red('✘')} ${r.message}`,
    r.floatLayers.length ? chalk.dim(`  in ${r.floatType}: ${(r.floatGroups ?? r.floatLayers).join(', ')}`) : '',
    `  ${chalk.bold(r.artifacts.model)}, ${r.artifacts.report}`,
  ].filter((l, i, a) => l !== '' || a[i - 1] !== '').join('\n');
}

export function registerPartial(program: Command): void {
  const cmd = program
    .command('partial')
    .description('keep the most sensitive layers in float until an accuracy budget is met (or exactly K)')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('--calibration <file>', 'calibration.json written by qtool calibrate for this model')
    .requiredOption('--sensitivity <file>', 'sensitivity.json written by qtool sensitivity for this model')
    .requiredOption('--data <file>', 'evaluation inputs (.npy or .npz)')
    .option('--labels <file>', 'labels for --data (without them, accuracy is top-1 agreement with FP32)');
  addOptions(cmd, PARTIAL_OPTIONS)
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags, self: Command) => {
      // With --config, its top-level maxDrop has been filled in as --max-drop when no budget was given.
      const report = await partial(
        { model, calibration: flags.calibration, sensitivity: flags.sensitivity, data: flags.data, labels: flags.labels },
        partialOptions(sectionOf(PARTIAL_OPTIONS, self), undefined, flags.out),
      );
      emit(report, flags.json, summary);
      if (!report.met) throw new CheckFailedError(report.message);
    }));
}
