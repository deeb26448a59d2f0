import chalk from 'chalk';
import type { Command } from 'commander';
import { calibrate } from '../../stages/calibrate/calibrate.js';
import { calibrateOptions } from '../../stages/calibrate/options.js';
import { CALIBRATE_OPTIONS } from '../../config/options/calibrate.js';
import type { CalibrateReport } from '../../report/schemas/calibrate.js';
import { fmt, renderTable } from '../../report/table.js';
import { subgraphLayersNote } from '../../quant/quantizable.js';
import { action, emit } from '../action.js';
import { addOptions, sectionOf } from '../options.js';

interface Flags {
  data: string;
  eval?: string;
  labels?: string;
  out: string;
  json?: boolean;
}

function dropColour(drop: number | null): string {
  if (drop === null) return '–';
  const s = (drop >= 0 ? '' : '+') + fmt(Math.abs(drop));
  return drop <= 0.3 ? chalk.green(s) : drop <= 1 ? chalk.yellow(s) : chalk.red(s);
}

function summary(r: CalibrateReport): string {
  const lines = [
    `${chalk.bold(r.model.path)}: ${r.quantizedLayers} layers and ${r.quantizedTensors} activations quantized` +
      (r.foldedActivations ? `, ${r.foldedActivations} Relu/Clip folded into ranges` : '') +
      `, calibrated on ${r.data.samples} samples (${fmt(r.timings.totalSeconds, 1)} s)`,
  ];
  if (r.methods.length) {
    lines.push('', renderTable(
      ['method', 'top-1 %', 'drop', 'agree %', 'SQNR dB'],
      [
        ...(r.fp32.top1 !== null ? [[chalk.dim('fp32'), chalk.dim(fmt(r.fp32.top1)), '', '', '']] : []),
        ...r.methods.map((m) => [
          m.method === r.selected.method ? chalk.bold.cyan(`${m.method} ◀`) : m.method,
          fmt(m.top1 ?? undefined), dropColour(m.drop), fmt(m.agreement), fmt(m.sqnrDb, 1),
        ]),
      ],
    ));
  }
  const note = subgraphLayersNote(r.subgraphLayers ?? []);
  if (note) lines.push(chalk.yellow(`  ${note}`));
  for (const c of r.clippedActivations) {
    lines.push(chalk.dim(`  GELU${c.cap}: ${c.tensor} max ${fmt(c.maxBefore)} -> ${c.cap}, ${fmt(100 * c.fractionAboveCap, 4)} % of values capped`));
  }
  lines.push('', `${chalk.green('✔')} ${chalk.bold(r.selected.model)} uses ${chalk.cyan(r.selected.method)}: ${r.selected.reason}`);
  lines.push(chalk.dim(`  ${(r.fp32.sizeBytes / 1e6).toFixed(2)} MB FP32 -> ${(r.selected.sizeBytes / 1e6).toFixed(2)} MB; ranges in ${r.artifacts.calibration}, comparison in ${r.artifacts.report}`));
  return lines.join('\n');
}

export function registerCalibrate(program: Command): void {
  const cmd = program
    .command('calibrate')
    .description('post-training quantization: calibrate activation ranges, write an INT8 QDQ model, compare methods')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('--data <file>', 'calibration inputs (.npy or .npz)');
  addOptions(cmd, CALIBRATE_OPTIONS, 'method', 'percentile')
    .option('--eval <file>', 'held-out inputs to evaluate every method on')
    .option('--labels <file>', 'labels for --eval (without them, methods are ranked by agreement with FP32)');
  addOptions(cmd, CALIBRATE_OPTIONS, 'perChannel', 'activationType', 'select', 'clipActivation', 'equalize', 'batchSize')
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags, self: Command) => {
      const { report } = await calibrate(
        { model, data: flags.data, eval: flags.eval, labels: flags.labels },
        calibrateOptions(sectionOf(CALIBRATE_OPTIONS, self), flags.out),
      );
      emit(report, flags.json, summary);
    }));
}
