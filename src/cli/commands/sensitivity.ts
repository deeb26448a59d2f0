import chalk from 'chalk';
import type { Command } from 'commander';
import { sensitivity } from '../../stages/sensitivity/sensitivity.js';
import { mergeSensitivity } from '../../stages/sensitivity/merge.js';
import { sensitivityOptions } from '../../stages/sensitivity/options.js';
import type { ProxyLayer } from '../../stages/sensitivity/proxy.js';
import { positiveInt, withDefaults } from '../../config/options.js';
import { SENSITIVITY_OPTIONS, type Mode } from '../../config/options/sensitivity.js';
import type { SensitivityLayer, SensitivityReport } from '../../report/schemas/sensitivity.js';
import { fmt, renderTable } from '../../report/table.js';
import { DATA_SOURCE_OPTIONS } from '../../config/options/data.js';
import { action, emit } from '../action.js';
import { addOptions, dataSourceOf, sectionOf } from '../options.js';

interface Flags {
  calibration: string;
  data: string;
  labels?: string;
  out: string;
  json?: boolean;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar of `value / max` of `width` cells, in eighths of a cell. */
function bar(value: number, max: number, width: number): string {
  const cells = max > 0 ? Math.max(0, Math.min(1, value / max)) * width : 0;
  const full = Math.floor(cells);
  return '█'.repeat(full) + EIGHTHS[Math.round((cells - full) * 8) % 8];
}

function chart(r: SensitivityReport, top: number): string {
  const mode: Mode = r.modes.includes('fallback') ? 'fallback' : 'quantize';
  // Units outside the measured top K (or another shard's) have no impact to chart.
  const rows = r.ranking.map((name) => r.layers.find((l) => l.name === name)!).filter((l) => l[mode]).slice(0, top);
  const max = Math.max(0, ...rows.map((l) => l[mode]!.impact));
  const colour = (v: number) => (v >= 0.5 * max ? chalk.red : v >= 0.15 * max ? chalk.yellow : chalk.green);
  const width = Math.max(...rows.map((l) => l.name.length));
  return rows.map((l: SensitivityLayer) => {
    const v = l[mode]!.impact;
    const other = mode === 'fallback' && l.quantize ? chalk.dim(`  quantize-only ${fmt(l.quantize.impact)}`) : '';
    return `  ${String(l.rank).padStart(2)}. ${l.name.padEnd(width)} ${chalk.dim(l.opType.padEnd(7))} ${colour(v)(bar(v, max, 30).padEnd(30))} ${fmt(v)}${other}` +
      chalk.dim(`  proxy #${l.proxy.rank}`);
  }).join('\n');
}

function summary(r: SensitivityReport, top: number): string {
  const q = r.quantized;
  const acc = r.fp32.top1 !== null
    ? `FP32 top-1 ${fmt(r.fp32.top1)} %, INT8 ${fmt(q.top1 ?? undefined)} % (drop ${fmt(q.drop ?? undefined)})`
    : q.agreement !== null ? `INT8 agrees with FP32 on ${fmt(q.agreement)} %` : 'no class axis, so SQNR only';
  const mode = r.modes.includes('fallback') ? 'fallback' : 'quantize';
  const what = mode === 'fallback' ? 'recovered by keeping the layer in float' : 'lost by quantizing only this layer';
  const t = r.timings;
  const by = r.grouping?.by ?? 'layer';
  const units = by === 'layer' ? `${r.layers.length} layers` : `${r.layers.length} groups (per ${by}) of ${r.layers.reduce((n, l) => n + (l.layers?.length ?? 1), 0)} layers`;
  const unmeasured = r.layers.filter((l) => l.measured === false).length;
  return [
    `${chalk.bold(r.model.path)}: ${units} on ${r.data.samples} samples; ${acc}, output SQNR ${fmt(q.sqnrDb, 1)} dB`,
    ...(r.grouping?.note ? [chalk.yellow(`  note: ${r.grouping.note}`)] : []),
    ...(r.shard ? [chalk.yellow(`  shard ${r.shard.index} of ${r.shard.count}: ${r.shard.variants.length} variants; merge the shards with qtool sensitivity-merge before partial`)] : []),
    '',
    chalk.bold(`Most sensitive ${by === 'layer' ? 'layers' : 'groups'}`) + chalk.dim(` (${r.impactUnit} ${what})`),
    chart(r, top),
    ...(unmeasured ? [chalk.dim(`  ${unmeasured} more ranked by the proxy alone (outside --measure-top)`)] : []),
    '',
    chalk.dim(`  ${t.variants} variants in ${fmt(t.variantsSeconds ?? t.totalSeconds, 1)} s (announced ${fmt(t.estimatedVariantsSeconds, 1)} s); a variant takes ${fmt(t.variantToFp32Pass)}x an FP32 evaluation pass (${fmt(t.medianVariantSeconds, 2)} s vs ${fmt(t.fp32PassSeconds, 2)} s)`),
    ...(r.metricCommand ? [chalk.dim(`  the top ${r.metricCommand.top} re-ordered by ${r.metricCommand.name} (metric command: ${r.metricCommand.runs} runs, ${fmt(r.metricCommand.seconds, 1)} s): ` +
      r.ranking.slice(0, r.metricCommand.top).map((n) => `${n} ${fmt(r.layers.find((l) => l.name === n)!.metric?.value)}`).join(', '))] : []),
    `${chalk.green('✔')} ${chalk.bold(r.artifacts.report)}`,
  ].join('\n');
}

/** The proxy's first ranking on stderr, while the variants are still running. */
function showProxy(layers: ProxyLayer[], ranking: string[], seconds: number): void {
  const rows = ranking.slice(0, 5).map((name) => {
    const p = layers.find((l) => l.name === name)!;
    return [name, fmt(p.localSqnrDb, 1)];
  });
  process.stderr.write(`${chalk.bold('Proxy ranking')} ${chalk.dim(`(one INT8 run with float shadows, ${fmt(seconds, 1)} s)`)}\n` +
    renderTable(['unit', 'own SQNR dB'], rows) + '\n');
}

/** Before the variants start: how long they should take (always on stderr, also with --json). */
function showEstimate(variants: number, seconds: number, note: string | null): void {
  if (note) process.stderr.write(chalk.yellow(`note: ${note}\n`));
  process.stderr.write(`${variants} variant${variants === 1 ? '' : 's'} to measure, about ${fmt(seconds, 0)} s ` +
    chalk.dim(`(${variants} x ${fmt(variants ? seconds / variants : 0, 1)} s, one INT8 evaluation pass each)`) + '\n');
}

export function registerSensitivity(program: Command): void {
  const cmd = program
    .command('sensitivity')
    .description('rank the layers by the accuracy they cost when quantized (fallback: kept in float; quantize: alone)')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('--calibration <file>', 'calibration.json written by qtool calibrate for this model')
    .requiredOption('--data <file>', 'evaluation inputs (.npy, .npz, an image folder or a text file)')
    .option('--labels <file>', 'labels for --data (without them, accuracy is top-1 agreement with FP32, or the image folder\'s classes)');
  addOptions(cmd, DATA_SOURCE_OPTIONS);
  addOptions(cmd, SENSITIVITY_OPTIONS)
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, flags: Flags, self: Command) => {
      const section = sectionOf(SENSITIVITY_OPTIONS, self);
      const report = await sensitivity(
        { model, calibration: flags.calibration, data: flags.data, labels: flags.labels, source: dataSourceOf(self) },
        { ...sensitivityOptions(section, flags.out), onProxy: flags.json ? undefined : showProxy, onEstimate: showEstimate },
      );
      emit(report, flags.json, (r) => summary(r, withDefaults(SENSITIVITY_OPTIONS, section).top));
    }));
}

export function registerSensitivityMerge(program: Command): void {
  program
    .command('sensitivity-merge')
    .description('combine the reports of qtool sensitivity --shard I/N (all N of them) into one sensitivity.json')
    .argument('<model>', 'FP32 ONNX model the shards measured')
    .argument('<shards...>', "the shards' sensitivity.json files")
    .option('--out <dir>', 'output folder', 'qtool-out')
    .option('--top <n>', 'layers shown in the chart', (t: string) => positiveInt(t, '--top'), 10)
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, shards: string[], flags: { out: string; top: number; json?: boolean }) => {
      const report = await mergeSensitivity({ model, shards }, flags.out);
      emit(report, flags.json, (r) => summary(r, flags.top));
    }));
}
