// The BERT-base scale benchmark (measurements, not tests). In one run, per
// repetition and interleaved so that drifting load hits each alike:
//   a. one FP32 forward pass over the calibration data (fresh child process), at N and 4N samples
//   b. `qtool calibrate --method all` over the same data, at N and 4N samples: wall time / a, peak RSS
//   c. (--gelu) the same at N samples with `--clip-activation gelu=10`
//   d. (--ort) ONNX Runtime's quantize_static MinMax on the same N samples (bench/ort_minmax.py,
//      address space capped at --mem-gb: "exceeded" when it needs more)
// The model and data come from bench/bert_base.py (DIR/model.onnx, DIR/calib-64.npz, DIR/calib-256.npz).
// Usage: node dist/bench/bert-scale.bench.js DIR [--reps 1] [--batch 32] [--gelu] [--ort]
//          [--python python3] [--mem-gb 12]
// Writes bench/out/bert-scale-bench.json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { renderTable } from '../src/report/table.js';
import { RSS_METHOD, runChild, type ChildRun } from './lib/child.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';
import { showSummary, summarize, type Summary } from './lib/stats.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reps: { type: 'string', default: '1' }, batch: { type: 'string', default: '32' }, gelu: { type: 'boolean', default: false },
    ort: { type: 'boolean', default: false }, python: { type: 'string', default: 'python3' }, 'mem-gb': { type: 'string', default: '12' },
  },
});
const dir = positionals[0];
if (!dir) {
  process.stderr.write('usage: node dist/bench/bert-scale.bench.js DIR (made by bench/bert_base.py) [--reps 1] [--gelu] [--ort]\n');
  process.exit(2);
}
const reps = Number(values.reps);
const batch = Number(values.batch);
const sizes = [64, 256] as const;
const model = join(dir, 'model.onnx');
const data = (n: number) => join(dir, `calib-${n}.npz`);
const tmpRoot = mkdtempSync(join(benchOut(), 'tmp-'));

const forwardArgs = (n: number) => ['dist/bench/fp32-forward.js', model, data(n), String(batch)];
const calibrateArgs = (n: number, out: string, extra: string[] = []) =>
  ['bin/qtool.js', 'calibrate', model, '--data', data(n), '--method', 'all', '--batch-size', String(batch), ...extra, '--out', out];
const ortArgs = (n: number, out: string) => ['bench/ort_minmax.py', model, data(n), out, '--batch', String(batch), '--mem-gb', values['mem-gb']!];
const GELU = ['--clip-activation', 'gelu=10'];
const commands = {
  bench: `node dist/bench/bert-scale.bench.js ${process.argv.slice(2).join(' ')}`,
  forward: `node ${forwardArgs(64).join(' ')}`,
  calibrate: `node ${calibrateArgs(64, '<tmp>').join(' ')}`,
  calibrateGelu: `node ${calibrateArgs(64, '<tmp>', GELU).join(' ')}`,
  ort: `${values.python} ${ortArgs(64, '<tmp>/model.onnx').join(' ')}`,
  rss: RSS_METHOD,
};

interface Forward extends ChildRun { forwardSeconds: number; loadSeconds: number }
interface Calibrate extends ChildRun { timings: { totalSeconds: number; forwardSeconds: number; statisticsSeconds: number } }
interface Ort { status: string; wallSeconds: number; maxRssMB: number; error?: string }

async function forward(n: number): Promise<Forward> {
  const run = await runChild('node', forwardArgs(n), { cwd: repoRoot });
  return { ...run, ...JSON.parse(run.stdout) };
}

async function calibrate(n: number, extra: string[] = []): Promise<Calibrate> {
  const out = mkdtempSync(join(tmpRoot, 'calibrate-'));
  try {
    const run = await runChild('node', calibrateArgs(n, out, extra), { cwd: repoRoot });
    return { ...run, timings: JSON.parse(readFileSync(join(out, 'calibrate.json'), 'utf8')).timings };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function ortMinMax(n: number): Promise<Ort> {
  const out = mkdtempSync(join(tmpRoot, 'ort-'));
  try {
    const run = await runChild(values.python!, ortArgs(n, join(out, 'model.onnx')), { cwd: repoRoot });
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    return { status: r.status, error: r.error, wallSeconds: run.wallSeconds, maxRssMB: run.maxRssMB };
  } catch (e) {
    // Killed, or a crash outside Python's reach (an allocation failure inside ORT can abort).
    return { status: 'failed', error: String((e as Error).message).split('\n').slice(-2).join(' '), wallSeconds: NaN, maxRssMB: NaN };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const log = (s: string) => process.stderr.write(chalk.dim(s) + '\n');
const m = machine();
log(`bert-scale bench: ${model}, ${sizes.join(' and ')} samples, ${reps} repetitions, batch ${batch}, ${m.nproc} cores, load ${m.loadAverage1m.toFixed(2)}`);

const fwd: Record<number, Forward[]> = { 64: [], 256: [] };
const cal: Record<number, Calibrate[]> = { 64: [], 256: [] };
const gelu: Calibrate[] = [];
const ort: Ort[] = [];
try {
  for (let r = 0; r < reps; r++) {
    for (const n of sizes) {
      fwd[n]!.push(await forward(n));
      cal[n]!.push(await calibrate(n));
      log(`  rep ${r + 1}/${reps}, ${n} samples: fp32 ${fwd[n]![r]!.wallSeconds.toFixed(1)} s, calibrate ${cal[n]![r]!.wallSeconds.toFixed(1)} s (${cal[n]![r]!.maxRssMB.toFixed(0)} MB)`);
    }
    if (values.gelu) {
      gelu.push(await calibrate(64, GELU));
      log(`  rep ${r + 1}/${reps}: calibrate gelu=10 ${gelu[r]!.wallSeconds.toFixed(1)} s (${gelu[r]!.maxRssMB.toFixed(0)} MB)`);
    }
    if (values.ort) {
      ort.push(await ortMinMax(64));
      log(`  rep ${r + 1}/${reps}: ORT MinMax ${ort[r]!.status} ${ort[r]!.wallSeconds.toFixed(1)} s (${ort[r]!.maxRssMB.toFixed(0)} MB)`);
    }
  }
} finally {
  rmSync(tmpRoot, { recursive: true, force: true });
}

const S = (xs: number[]) => summarize(xs);
/** Each repetition's run over the forward pass of the same repetition and data size: paired against drifting load. */
const paired = (runs: { wallSeconds: number }[], n: number) => S(runs.map((c, i) => c.wallSeconds / fwd[n]![i]!.wallSeconds));
const perSize = Object.fromEntries(sizes.map((n) => [n, {
  forwardWallSeconds: S(fwd[n]!.map((f) => f.wallSeconds)),
  forwardRunSeconds: S(fwd[n]!.map((f) => f.forwardSeconds)),
  forwardRssMB: S(fwd[n]!.map((f) => f.maxRssMB)),
  calibrateWallSeconds: S(cal[n]!.map((c) => c.wallSeconds)),
  calibrateForwardSeconds: S(cal[n]!.map((c) => c.timings.forwardSeconds)),
  calibrateStatisticsSeconds: S(cal[n]!.map((c) => c.timings.statisticsSeconds)),
  calibrateRssMB: S(cal[n]!.map((c) => c.maxRssMB)),
  calibrateOverForward: paired(cal[n]!, n),
  calibrateRunOverForwardRun: S(cal[n]!.map((c, i) => c.timings.forwardSeconds / fwd[n]![i]!.forwardSeconds)),
}]));
const results = {
  perSize,
  rss256Over64: perSize[256]!.calibrateRssMB.median / perSize[64]!.calibrateRssMB.median,
  gelu: gelu.length ? { wallSeconds: S(gelu.map((c) => c.wallSeconds)), rssMB: S(gelu.map((c) => c.maxRssMB)), overForward: paired(gelu, 64) } : null,
  ort: ort.length ? ort.map((o, i) => ({ ...o, overForward: o.wallSeconds / fwd[64]![i]!.wallSeconds })) : null,
};
const goals = {
  'calibrate <= 3x FP32 forward pass (64 and 256 samples)': sizes.every((n) => perSize[n]!.calibrateOverForward.median <= 3),
  'peak RSS <= 2.5 GB (64 and 256 samples)': sizes.every((n) => perSize[n]!.calibrateRssMB.max <= 2.5 * 1024),
  'peak RSS flat within 10% from 64 to 256 samples': results.rss256Over64 <= 1.1,
};

const row = (what: string, s: Summary, unit: string, digits = 1) => [what, `${showSummary(s, digits)} ${unit}`];
const rows: string[][] = [];
for (const n of sizes) {
  const p = perSize[n]!;
  rows.push(
    row(`a. FP32 forward pass, ${n} samples, wall`, p.forwardWallSeconds, 's'),
    row('     of which session.run', p.forwardRunSeconds, 's'),
    row('     max RSS', p.forwardRssMB, 'MB', 0),
    row(`b. qtool calibrate --method all, ${n} samples, wall`, p.calibrateWallSeconds, 's'),
    row('     / a (paired per repetition)', p.calibrateOverForward, 'x', 2),
    row('     forwardSeconds (session.run, tensors exposed)', p.calibrateForwardSeconds, 's'),
    row('     forwardSeconds / a\'s session.run', p.calibrateRunOverForwardRun, 'x', 2),
    row('     statisticsSeconds (worker, overlapped)', p.calibrateStatisticsSeconds, 's'),
    row('     max RSS', p.calibrateRssMB, 'MB', 0),
  );
}
if (results.gelu) {
  rows.push(row('c. calibrate --clip-activation gelu=10, 64 samples, wall', results.gelu.wallSeconds, 's'),
    row('     / a (paired)', results.gelu.overForward, 'x', 2), row('     max RSS', results.gelu.rssMB, 'MB', 0));
}
for (const o of results.ort ?? []) {
  rows.push([`d. ORT quantize_static MinMax, 64 samples (cap ${values['mem-gb']} GB)`,
    `${o.status}, ${o.wallSeconds.toFixed(1)} s (${o.overForward.toFixed(2)}x a), ${o.maxRssMB.toFixed(0)} MB`]);
}
console.log(renderTable(['measure (median (min–max))', 'value'], rows, ['left', 'right']));
console.log(`  max RSS 256 / 64 samples: ${results.rss256Over64.toFixed(2)}x`);
for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? chalk.green('met   ') : chalk.red('missed')} ${goal}`);
console.log(chalk.dim(`  RSS: ${RSS_METHOD}`));

const jsonPath = join(benchOut(), 'bert-scale-bench.json');
writeFileSync(jsonPath, JSON.stringify({
  schema: 'qtool-bench/bert-scale@1', machine: m, loadAverageAfter1m: machine().loadAverage1m,
  options: { reps, batch, gelu: values.gelu, ort: values.ort, memGb: Number(values['mem-gb']) }, commands, results, goals,
}, null, 2) + '\n');
console.log(chalk.dim(`  wrote ${jsonPath.slice(repoRoot.length + 1)}`));
