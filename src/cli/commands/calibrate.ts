import chalk from 'chalk';
import type { Command } from 'commander';
import { calibrate } from '../../stages/calibrate/calibrate.js';
import { DEFAULT_PERCENTILES, parseMethods, parsePercentiles } from '../../calib/methods.js';
import type { CalibrateReport } from '../../report/schemas/calibrate.js';
import { fmt, renderTable } from '../../report/table.js';
import { InputError } from '../../util/errors.js';
import { action, emit, parsePositiveInt } from '../action.js';

interface Flags {
  data: string;
  method: string;
  percentile?: string;
  eval?: string;
  labels?: string;
  perChannel: boolean;
  activationType: string;
  select?: string;
  clipActivation?: string;
  batchSize: number;
  out: string;
  json?: boolean;
}

/** `parse`'s value; its error gets the flag in front. */
function flagged<V>(flag: string, parse: () => V): V {
  try {
    return parse();
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${flag}: ${e.message}`);
    throw e;
  }
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
  for (const c of r.clippedActivations) {
    lines.push(chalk.dim(`  GELU${c.cap}: ${c.tensor} max ${fmt(c.maxBefore)} -> ${c.cap}, ${fmt(100 * c.fractionAboveCap, 4)} % of values capped`));
  }
  lines.push('', `${chalk.green('✔')} ${chalk.bold(r.selected.model)} uses ${chalk.cyan(r.selected.method)}: ${r.selected.reason}`);
  lines.push(chalk.dim(`  ${(r.fp32.sizeBytes / 1e6).toFixed(2)} MB FP32 -> ${(r.selected.sizeBytes / 1e6).toFixed(2)} MB; ranges in ${r.artifacts.calibration}, comparison in ${r.artifacts.report}`));
  return lines.join('\n');
}

export function registerCalibrate(program: Command): void {
  program
    .command('calibrate')
    .description('post-training quantization: calibrate activation ranges, write an INT8 QDQ model, compare methods')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('--data <file>', 'calibration inputs (.npy or .npz)')
    .option('--method <list>', 'all, or a comma list of max, entropy, percentile, mse', 'all')
    .option('--percentile <list>', `percentiles for the percentile method (default ${DEFAULT_PERCENTILES.join(',')})`)
    .option('--eval <file>', 'held-out inputs to evaluate every method on')
    .option('--labels <file>', 'labels for --eval (without them, methods are ranked by agreement with FP32)')
    .option('--per-channel', 'weights: int8 symmetric per output channel (default)', true)
    .option('--per-tensor', 'weights: one scale per tensor')
    .option('--activation-type <type>', 'uint8 (asymmetric, fast on x86) or int8 (symmetric)', 'uint8')
    .option('--select <method>', "'best' (needs --eval) or a method id such as percentile-99.99")
    .option('--clip-activation <spec>', "cap activations before calibration, e.g. 'gelu=10' (Wu et al.'s GELU10)")
    .option('--batch-size <n>', 'samples per forward pass', parsePositiveInt('--batch-size'), 32)
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags & { perTensor?: boolean }) => {
      if (flags.activationType !== 'uint8' && flags.activationType !== 'int8') {
        throw new InputError(`--activation-type: expected uint8 or int8, got '${flags.activationType}'`);
      }
      let clipGelu: number | undefined;
      if (flags.clipActivation !== undefined) {
        const m = /^gelu=([0-9.]+)$/i.exec(flags.clipActivation.trim());
        if (!m || !(Number(m[1]) > 0)) throw new InputError(`--clip-activation: expected gelu=<positive cap>, got '${flags.clipActivation}'`);
        clipGelu = Number(m[1]);
      }
      if (flags.activationType === 'int8') {
        process.stderr.write(chalk.yellow('qtool: warning: int8 activations are symmetric and run slower than uint8 in ONNX Runtime on x86 (often slower than FP32); uint8 is the default for speed\n'));
      }
      const percentiles = flags.percentile ? flagged('--percentile', () => parsePercentiles(flags.percentile!)) : DEFAULT_PERCENTILES;
      const { report } = await calibrate(
        { model, data: flags.data, eval: flags.eval, labels: flags.labels },
        {
          methods: flagged('--method', () => parseMethods(flags.method, percentiles)),
          perChannel: flags.perChannel && !flags.perTensor,
          activationType: flags.activationType,
          select: flags.select,
          clipGelu,
          batchSize: flags.batchSize,
          outDir: flags.out,
        },
      );
      emit(report, flags.json, summary);
    }));
}
