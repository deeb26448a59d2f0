import chalk from 'chalk';
import type { Command } from 'commander';
import { calibrate } from '../../stages/calibrate/calibrate.js';
import { calibrateOptions } from '../../stages/calibrate/options.js';
import { CALIBRATE_OPTIONS } from '../../config/options/calibrate.js';
import { methodLabel, withoutPass, type CalibrateReport, type MethodResult } from '../../report/schemas/calibrate.js';
import { clipGeluPass } from '../../quant/passes/clip-gelu.js';
import type { FloatReason } from '../../quant/float-tensors.js';
import { fmt, renderTable } from '../../report/table.js';
import { subgraphLayersNote } from '../../quant/quantizable.js';
import { DATA_SOURCE_OPTIONS } from '../../config/options/data.js';
import { action, emit } from '../action.js';
import { addOptions, dataSourceOf, sectionOf } from '../options.js';

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

/** What each reason usually is, for the summary line. */
const REASON_HINTS: Record<FloatReason, string> = { infinite: 'e.g. attention masks', constant: 'one value over the calibration set' };

/** `3 tensors stay float: 2 infinite (e.g. attention masks), 1 constant (...)`, or nothing. */
function floatTensorsLine(r: CalibrateReport): string | undefined {
  if (r.floatTensors.length === 0) return undefined;
  const counts = new Map<FloatReason, number>();
  for (const f of r.floatTensors) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, n]) => `${n} ${reason} (${REASON_HINTS[reason]})`);
  const n = r.floatTensors.length;
  return `${n} tensor${n === 1 ? '' : 's'} stay${n === 1 ? 's' : ''} float: ${parts.join(', ')}; listed in calibrate.json`;
}

const METRIC_TEXT: Record<string, string> = {
  top1: 'top-1 accuracy',
  agreement: 'agreement with FP32 (argmax per sample, or per position of [N, T, C])',
  sqnr: 'output SQNR against FP32 (no class axis)',
};

function summary(r: CalibrateReport): string {
  const lines = [
    `${chalk.bold(r.model.path)}: ${r.quantizedLayers} layers and ${r.quantizedTensors} activations quantized` +
      (r.foldedActivations ? `, ${r.foldedActivations} Relu/Clip folded into ranges` : '') +
      `, calibrated on ${r.data.samples} samples (${fmt(r.timings.totalSeconds, 1)} s)`,
  ];
  const float = floatTensorsLine(r);
  if (float) lines.push(chalk.yellow(`  ${float}`));
  const mc = r.metricCommand;
  if (mc && r.methods.length) {
    // The user's metric: its value per method, under its name.
    lines.push('', renderTable(['method', mc.name, 'drop'], [
      [chalk.dim('fp32'), chalk.dim(fmt(mc.fp32)), ''],
      ...r.methods.map((m) => [m.method === r.selected.method ? chalk.bold.cyan(`${m.method} ◀`) : m.method, fmt(m.value), dropColour(m.drop)]),
    ]));
    lines.push(chalk.dim(`  ${mc.runs} metric command run${mc.runs === 1 ? '' : 's'}, ${fmt(mc.seconds, 1)} s` + (mc.fp32Cached ? '; FP32 from the cache' : '')));
  } else if (r.methods.length) {
    // The primary output's columns, then one per other output (its agreement, or its SQNR for a map).
    const others = (r.methods[0].outputs ?? []).filter((o) => o.name !== r.metric?.output);
    const otherFigure = (m: MethodResult, name: string) => {
      const o = m.outputs?.find((x) => x.name === name);
      return o?.metric === 'agreement' ? fmt(o.agreement ?? undefined) : fmt(o?.sqnrDb, 1);
    };
    lines.push('');
    const primary = r.methods[0].outputs?.find((o) => o.name === r.metric?.output);
    if (r.metric && (others.length || (primary && primary.kind !== 'classes'))) {
      lines.push(chalk.dim(`  compared by ${METRIC_TEXT[r.metric.name]} on output ${r.metric.output}`));
    }
    lines.push(renderTable(
      ['method', 'top-1 %', 'drop', 'agree %', 'SQNR dB', ...others.map((o) => `${o.name} ${o.metric === 'agreement' ? 'agree %' : 'SQNR dB'}`)],
      [
        ...(r.fp32.top1 !== null ? [[chalk.dim('fp32'), chalk.dim(fmt(r.fp32.top1)), '', '', '', ...others.map(() => '')]] : []),
        ...r.methods.map((m) => [
          m.method === r.selected.method && m.variant === r.selected.variant ? chalk.bold.cyan(`${methodLabel(m)} ◀`) : methodLabel(m),
          fmt(m.top1 ?? undefined), dropColour(m.drop), fmt(m.agreement ?? undefined), fmt(m.sqnrDb, 1),
          ...others.map((o) => otherFigure(m, o.name)),
        ]),
      ],
    ));
  }
  for (const p of r.passes ?? []) lines.push(chalk.dim(`  ${p.name}: ${p.summary}`));
  const note = subgraphLayersNote(r.subgraphLayers ?? []);
  if (note) lines.push(chalk.yellow(`  ${note}`));
  for (const c of r.clippedActivations) {
    const before = c.minBefore === undefined ? `max ${fmt(c.maxBefore)}` : `[${fmt(c.minBefore)}, ${fmt(c.maxBefore)}]`;
    const after = c.after ? `, quantized as [${fmt(c.after.min)}, ${fmt(c.after.max)}] (${r.selected.method})` : c.after === null ? ', not quantized' : '';
    const left = r.selected.variant === withoutPass(clipGeluPass.name) ? ' (not in the selected model)' : '';
    lines.push(chalk.dim(`  GELU${c.cap}: ${c.tensor} ${before} -> capped at ${c.cap}${after}, ${fmt(100 * c.fractionAboveCap, 4)} % of values capped${left}`));
  }
  lines.push('', `${chalk.green('✔')} ${chalk.bold(r.selected.model)} uses ${chalk.cyan(r.selected.method)}${r.selected.variant ? ` ${r.selected.variant}` : ''}: ${r.selected.reason}`);
  lines.push(chalk.dim(`  ${(r.fp32.sizeBytes / 1e6).toFixed(2)} MB FP32 -> ${(r.selected.sizeBytes / 1e6).toFixed(2)} MB; ranges in ${r.artifacts.calibration}, comparison in ${r.artifacts.report}`));
  return lines.join('\n');
}

export function registerCalibrate(program: Command): void {
  const cmd = program
    .command('calibrate')
    .description('post-training quantization: calibrate activation ranges, write an INT8 QDQ model, compare methods')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('--data <file>', 'calibration inputs (.npy, .npz, an image folder or a text file)');
  addOptions(cmd, DATA_SOURCE_OPTIONS);
  addOptions(cmd, CALIBRATE_OPTIONS, 'method', 'percentile')
    .option('--eval <file>', 'held-out inputs to evaluate every method on')
    .option('--labels <file>', 'labels for --eval (without them, methods are ranked by agreement with FP32)');
  addOptions(cmd, CALIBRATE_OPTIONS, 'perChannel', 'activationType', 'select', 'clipActivation', 'equalize', 'smoothQuant', 'biasCorrection', 'output', 'batchSize',
    'metricCommand', 'metricName', 'metricLowerIsBetter', 'metricTimeout')
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags, self: Command) => {
      const { report } = await calibrate(
        { model, data: flags.data, eval: flags.eval, labels: flags.labels, source: dataSourceOf(self) },
        calibrateOptions(sectionOf(CALIBRATE_OPTIONS, self), flags.out),
      );
      emit(report, flags.json, summary);
    }));
}
