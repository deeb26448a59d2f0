// The `qtool sensitivity` benchmark (measurements, not tests): on ResNet-18
// (21 quantizable layers, bench/models/resnet18.ts), the time per model
// variant as a ratio to one FP32 evaluation pass over the same samples,
// both measured by the same `qtool sensitivity` run (sensitivity.json timings).
// Goal: <= 1.5x.
// Usage: node dist/bench/sensitivity.bench.js [--images 128] [--reps 2] [--batch 32] [--mode both]
// Flags can also be set as env vars: BENCH_IMAGES=128, BENCH_REPS=3, ...
// Writes bench/out/sensitivity-bench.json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { renderTable } from '../src/report/table.js';
import { sensitivityReportSchema, type SensitivityReport } from '../src/report/schemas/sensitivity.js';
import { median } from '../src/runtime/run.js';
import { ensureData, ensureModel } from './models/resnet18.js';
import { runChild } from './lib/child.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';
import { showSummary, summarize } from './lib/stats.js';

const { values } = parseArgs({ options: { images: { type: 'string' }, reps: { type: 'string' }, batch: { type: 'string' }, mode: { type: 'string' } } });
const num = (k: 'images' | 'reps' | 'batch', dflt: number): number => {
  const raw = values[k] ?? process.env[`BENCH_${k.toUpperCase()}`];
  const v = raw === undefined ? dflt : Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k}: expected a positive whole number, got '${raw}'`);
  return v;
};
const opts = { images: num('images', 128), reps: num('reps', 2), batch: num('batch', 32), mode: values.mode ?? process.env.BENCH_MODE ?? 'both' };

// Children run from the repository root with relative paths, so the commands shown are the ones to type.
const rel = (p: string) => p.slice(repoRoot.length + 1);
const model = rel(ensureModel());
const calibData = rel(ensureData(64));
const evalData = rel(ensureData(opts.images));
const tmpRoot = mkdtempSync(join(benchOut(), 'tmp-'));
const calDir = join(tmpRoot, 'calibrated');
const calibrateArgs = ['bin/qtool.js', 'calibrate', model, '--data', calibData, '--method', 'max', '--out', rel(calDir)];
const sensitivityArgs = (out: string) => ['bin/qtool.js', 'sensitivity', model, '--calibration', rel(join(calDir, 'calibration.json')),
  '--data', evalData, '--mode', opts.mode, '--batch-size', String(opts.batch), '--out', out];
const commands = {
  bench: `node dist/bench/sensitivity.bench.js ${process.argv.slice(2).join(' ')}`.trim(),
  calibrate: `node ${calibrateArgs.join(' ')}`,
  sensitivity: `node ${sensitivityArgs('<tmp>').join(' ')}`,
};

const log = (s: string) => process.stderr.write(chalk.dim(s) + '\n');
const m = machine();
log(`sensitivity bench: ResNet-18, ${opts.images} images, --mode ${opts.mode}, ${opts.reps} repetitions, batch ${opts.batch}, ${m.nproc} cores, load ${m.loadAverage1m.toFixed(2)}`);

const runs: (SensitivityReport & { wallSeconds: number })[] = [];
try {
  await runChild('node', calibrateArgs, { cwd: repoRoot });
  for (let r = 0; r < opts.reps; r++) {
    const out = mkdtempSync(join(tmpRoot, 'sensitivity-'));
    const run = await runChild('node', sensitivityArgs(rel(out)), { cwd: repoRoot });
    const report = sensitivityReportSchema.parse(JSON.parse(readFileSync(join(out, 'sensitivity.json'), 'utf8')));
    runs.push({ ...report, wallSeconds: run.wallSeconds });
    const t = report.timings;
    log(`  rep ${r + 1}/${opts.reps}: ${t.variants} variants, median ${t.medianVariantSeconds!.toFixed(2)} s; FP32 pass ${t.fp32PassSeconds.toFixed(2)} s` +
      ` (forward ${t.fp32ForwardSeconds.toFixed(2)} s): ${t.variantToFp32Pass!.toFixed(2)}x; wall ${run.wallSeconds.toFixed(1)} s`);
  }
} finally {
  rmSync(tmpRoot, { recursive: true, force: true });
}

const layers = runs[0].layers.length;
const S = summarize;
/** Median seconds of one mode's variants per run; null when the mode did not run. */
const modeSeconds = (mode: 'fallback' | 'quantize') => {
  const perRun = runs.map((r) => r.layers.map((l) => l[mode]?.seconds).filter((v): v is number => v !== undefined));
  return perRun[0].length ? S(perRun.map(median)) : null;
};
const results = {
  layers,
  variants: runs[0].timings.variants,
  fp32PassSeconds: S(runs.map((r) => r.timings.fp32PassSeconds)),
  fp32ForwardSeconds: S(runs.map((r) => r.timings.fp32ForwardSeconds)),
  medianVariantSeconds: S(runs.map((r) => r.timings.medianVariantSeconds!)),
  fallbackVariantSeconds: modeSeconds('fallback'),
  quantizeVariantSeconds: modeSeconds('quantize'),
  variantOverFp32Pass: S(runs.map((r) => r.timings.variantToFp32Pass!)),
  variantOverFp32Forward: S(runs.map((r) => r.timings.medianVariantSeconds! / r.timings.fp32ForwardSeconds)),
  proxySeconds: S(runs.map((r) => r.timings.proxySeconds)),
  totalSeconds: S(runs.map((r) => r.timings.totalSeconds)),
  wallSeconds: S(runs.map((r) => r.wallSeconds)),
};
const r = results;
const goals = { 'a variant <= 1.5x one FP32 evaluation pass': r.variantOverFp32Pass.median <= 1.5 };
const row = (what: string, s: { median: number; min: number; max: number; values: number[] }, unit: string, digits = 2) => [what, `${showSummary(s, digits)} ${unit}`];
console.log(renderTable(['measure (median (min–max) over runs)', 'value'], [
  [`ResNet-18 at 112x112, ${opts.images} samples`, `${layers} layers, ${r.variants} variants per run`],
  row('FP32 evaluation pass (session + forward)', r.fp32PassSeconds, 's'),
  row('   of which forward passes', r.fp32ForwardSeconds, 's'),
  row('variant, median (build + session + forward)', r.medianVariantSeconds, 's'),
  ...(r.fallbackVariantSeconds ? [row('   fallback variants', r.fallbackVariantSeconds, 's')] : []),
  ...(r.quantizeVariantSeconds ? [row('   quantize-only variants', r.quantizeVariantSeconds, 's')] : []),
  row('variant / FP32 pass', r.variantOverFp32Pass, 'x'),
  row('variant / FP32 forward passes alone', r.variantOverFp32Forward, 'x'),
  row(`proxy, ${String(runs[0].options.proxySamples)} samples (one run: QDQ + FP32 copy + float shadows)`, r.proxySeconds, 's'),
  row('whole command, wall', r.wallSeconds, 's', 1),
], ['left', 'right']));
for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? chalk.green('met   ') : chalk.red('missed')} ${goal}`);

const jsonPath = join(benchOut(), 'sensitivity-bench.json');
writeFileSync(jsonPath, JSON.stringify({
  schema: 'qtool-bench/sensitivity@1', machine: m, loadAverageAfter1m: machine().loadAverage1m, options: opts, commands, results, goals,
}, null, 2) + '\n');
console.log(chalk.dim(`  wrote ${rel(jsonPath)}`));
