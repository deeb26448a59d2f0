import chalk from 'chalk';
import type { Command } from 'commander';
import { partial } from '../../stages/partial/partial.js';
import { partialOptions } from '../../stages/partial/options.js';
import { PARTIAL_OPTIONS } from '../../config/options/partial.js';
import type { PartialReport } from '../../report/schemas/partial.js';
import { fmt, renderTable } from '../../report/table.js';
import { CheckFailedError } from '../../util/errors.js';
import { DATA_SOURCE_OPTIONS } from '../../config/options/data.js';
import { action, emit } from '../action.js';
import { addOptions, dataSourceOf, sectionOf } from '../options.js';
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
const METRIC_COLUMN: Record<string, string | undefined> = { top1: 'top-1 %', agreement: 'agree %', sqnr: 'SQNR ≤100' };

function summary(r: PartialReport): string {
  const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
  const rows = r.curve.map((p) => {
    const chosen = p.floatLayers === r.result.floatLayers;
    const drop = r.budget.maxDrop === null ? fmt(p.drop) : (atMost(p.drop, r.budget.maxDrop) ? chalk.green : chalk.red)(fmt(p.drop));
    return [
      chosen ? chalk.bold.cyan(`${p.floatLayers} ◀`) : String(p.floatLayers),
      p.added ?? chalk.dim('(all quantized)'),
      // A metric command measures neither SQNR nor latency.
      fmt(p.accuracy), drop, r.metricCommand ? '–' : fmt(p.sqnrDb, 1), p.medianBatchMs === null ? '–' : fmt(p.medianBatchMs, 2), mb(p.sizeBytes),
    ];
  });
  // The user's metric (a command) goes under its own name, in its own units.
  const metric = METRIC_COLUMN[r.accuracyMetric] ?? r.accuracyMetric;
  const fp32 = r.metricCommand ? `${r.accuracyMetric} ${fmt(r.fp32.accuracy)} (metric command, ${r.metricCommand.runs} runs, ${fmt(r.metricCommand.seconds, 1)} s)`
    : r.accuracyMetric === 'sqnr' ? 'output SQNR capped at 100 dB' : `${r.accuracyMetric === 'top1' ? 'top-1' : 'agreement'} ${fmt(r.fp32.accuracy)} %`;
  return [
    `${chalk.bold(r.model.path)}: ${r.totalLayers} layers; FP32 ${fp32}, ${r.fp32.medianBatchMs === null ? '' : `${fmt(r.fp32.medianBatchMs, 2)} ms per batch, `}${mb(r.fp32.sizeBytes)} (${r.data.samples} samples)`,
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
    .requiredOption('--data <file>', 'evaluation inputs (.npy, .npz, an image folder or a text file)')
    .option('--labels <file>', 'labels for --data (without them, accuracy is top-1 agreement with FP32, or the image folder\'s classes)');
  addOptions(cmd, DATA_SOURCE_OPTIONS);
  addOptions(cmd, PARTIAL_OPTIONS)
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags, self: Command) => {
      // With --config, its top-level maxDrop has been filled in as --max-drop when no budget was given.
      const report = await partial(
        { model, calibration: flags.calibration, sensitivity: flags.sensitivity, data: flags.data, labels: flags.labels, source: dataSourceOf(self) },
        partialOptions(sectionOf(PARTIAL_OPTIONS, self), undefined, flags.out),
      );
      emit(report, flags.json, summary);
      if (!report.met) throw new CheckFailedError(report.message);
    }));
}
