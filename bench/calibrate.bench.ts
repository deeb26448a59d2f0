// The `qtool calibrate` benchmark (measurements, not tests). In one run:
//   a. FP32 forward pass over the calibration images (fresh child process), wall time
//   b. `qtool calibrate --method all` over the same images (child process), wall time, b/a
//   c. max RSS of (b), and of (b) with 4x the images
//   d. batch latency of the INT8 model calibrate wrote vs the FP32 model
// Usage: node dist/bench/calibrate.bench.js [--images 256] [--scale 4] [--reps 3] [--batch 32]
//          [--threads N] [--latency-rounds 5] [--latency-runs 4]
// Every flag can also be set as an env var: BENCH_IMAGES=256, BENCH_REPS=5, ...
// Writes bench/out/calibrate-bench.json.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { readNpy } from '../src/data/npy.js';
import { ort } from '../src/runtime/session.js';
import { renderTable } from '../src/report/table.js';
import { ensureData, ensureModel } from './models/resnet18.js';
import { batchLatency } from './latency.js';
import { RSS_METHOD, runChild, type ChildRun } from './lib/child.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';
import { showSummary, summarize, type Summary } from './lib/stats.js';

const FLAGS = {
  images: 256, scale: 4, reps: 3, batch: 32, threads: availableParallelism(), 'latency-rounds': 5, 'latency-runs': 4,
} as const;
type Flag = keyof typeof FLAGS;

function options(): Record<Flag, number> {
  const { values } = parseArgs({ options: Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])) });
  const out = {} as Record<Flag, number>;
  for (const [k, dflt] of Object.entries(FLAGS) as [Flag, number][]) {
    const raw = (values as Record<string, string | undefined>)[k] ?? process.env[`BENCH_${k.toUpperCase().replace('-', '_')}`];
    const v = raw === undefined ? dflt : Number(raw);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k}: expected a positive whole number, got '${raw}'`);
    out[k] = v;
  }
  return out;
}

const opts = options();
const small = opts.images;
const big = opts.images * opts.scale;
// Children run from the repository root with relative paths, so the commands below are the ones to type.
const rel = (p: string) => p.slice(repoRoot.length + 1);
const model = rel(ensureModel());
const smallData = rel(ensureData(small));
const bigData = rel(ensureData(big));
const tmpRoot = mkdtempSync(join(benchOut(), 'tmp-'));

const baselineArgs = ['dist/bench/fp32-forward.js', model, smallData, String(opts.batch)];
const calibrateArgs = (data: string, out: string) =>
  ['bin/qtool.js', 'calibrate', model, '--data', data, '--method', 'all', '--batch-size', String(opts.batch), '--out', out];
const commands = {
  bench: `node dist/bench/calibrate.bench.js ${process.argv.slice(2).join(' ')}`.trim(),
  baseline: `node ${baselineArgs.join(' ')}`,
  calibrate: `node ${calibrateArgs(smallData, '<tmp>').join(' ')}`,
  calibrateBig: `node ${calibrateArgs(bigData, '<tmp>').join(' ')}`,
  rss: RSS_METHOD,
};

interface CalibrateRun extends ChildRun {
  timings: { totalSeconds: number; forwardSeconds: number; statisticsSeconds: number };
}

async function calibrateRun(data: string, keepModelAs?: string): Promise<CalibrateRun> {
  const out = mkdtempSync(join(tmpRoot, 'calibrate-'));
  const run = await runChild('node', calibrateArgs(data, rel(out)), { cwd: repoRoot });
  const report = JSON.parse(readFileSync(join(out, 'calibrate.json'), 'utf8'));
  if (keepModelAs) copyFileSync(join(out, 'model.int8.onnx'), keepModelAs);
  rmSync(out, { recursive: true, force: true });
  return { ...run, timings: report.timings };
}

const log = (s: string) => process.stderr.write(chalk.dim(s) + '\n');
const m = machine();
log(`calibrate bench: ${small} and ${big} images, ${opts.reps} repetitions, batch ${opts.batch}, ${m.nproc} cores (${m.cpu}), load ${m.loadAverage1m.toFixed(2)}`);

// a, b and c, interleaved per repetition so that drifting load from other processes hits each alike.
const int8Path = join(benchOut(), 'resnet18.int8.onnx');
const baseline: (ChildRun & { loadSeconds: number; forwardSeconds: number })[] = [];
const calSmall: CalibrateRun[] = [];
const calBig: CalibrateRun[] = [];
try {
  for (let r = 0; r < opts.reps; r++) {
    const b = await runChild('node', baselineArgs, { cwd: repoRoot });
    baseline.push({ ...b, ...JSON.parse(b.stdout) });
    calSmall.push(await calibrateRun(smallData, r === 0 ? int8Path : undefined));
    calBig.push(await calibrateRun(bigData));
    log(`  rep ${r + 1}/${opts.reps}: fp32 ${baseline[r]!.wallSeconds.toFixed(2)} s, calibrate ${calSmall[r]!.wallSeconds.toFixed(2)} s` +
      ` (${calSmall[r]!.maxRssMB.toFixed(0)} MB), calibrate x${opts.scale} ${calBig[r]!.wallSeconds.toFixed(2)} s (${calBig[r]!.maxRssMB.toFixed(0)} MB)`);
  }
} finally {
  rmSync(tmpRoot, { recursive: true, force: true });
}

// d. Batch latency, FP32 vs the INT8 model qtool wrote with its defaults.
const x = readNpy(smallData);
const per = x.shape.slice(1).reduce((p, d) => p * d, 1);
const input = new ort.Tensor('float32', (x.data as Float32Array).slice(0, opts.batch * per), [opts.batch, ...x.shape.slice(1)]);
// Also with one intra-op thread: on a shared 2-core machine it suffers less from other processes.
const latencyAt = (threads: number) => batchLatency(
  [{ label: 'fp32', path: model }, { label: 'int8', path: rel(int8Path) }], input,
  { threads, warmup: 2, rounds: opts['latency-rounds'], runsPerRound: opts['latency-runs'] },
);
const lat = await latencyAt(opts.threads);
const lat1 = await latencyAt(1);
log(`  latency: ${opts['latency-rounds']} rounds x ${opts['latency-runs']} runs per model, at ${opts.threads} and 1 threads, done`);

const S = (xs: number[]) => summarize(xs);
const results = {
  baselineSeconds: S(baseline.map((b) => b.wallSeconds)),
  baselineForwardSeconds: S(baseline.map((b) => b.forwardSeconds)),
  baselineLoadSeconds: S(baseline.map((b) => b.loadSeconds)),
  baselineCpuSeconds: S(baseline.map((b) => b.cpuSeconds)),
  baselineRssMB: S(baseline.map((b) => b.maxRssMB)),
  calibrateSeconds: S(calSmall.map((c) => c.wallSeconds)),
  calibrateCpuSeconds: S(calSmall.map((c) => c.cpuSeconds)),
  calibrateTotalSeconds: S(calSmall.map((c) => c.timings.totalSeconds)),
  calibrateForwardSeconds: S(calSmall.map((c) => c.timings.forwardSeconds)),
  calibrateStatisticsSeconds: S(calSmall.map((c) => c.timings.statisticsSeconds)),
  calibrateNotForwardSeconds: S(calSmall.map((c) => c.timings.totalSeconds - c.timings.forwardSeconds)),
  calibrateStartupSeconds: S(calSmall.map((c) => c.wallSeconds - c.timings.totalSeconds)),
  /** b/a within each repetition: less sensitive to load that changes between repetitions. */
  calibrateOverBaselinePaired: S(calSmall.map((c, i) => c.wallSeconds / baseline[i]!.wallSeconds)),
  calibrateRssMB: S(calSmall.map((c) => c.maxRssMB)),
  calibrateBigSeconds: S(calBig.map((c) => c.wallSeconds)),
  calibrateBigForwardSeconds: S(calBig.map((c) => c.timings.forwardSeconds)),
  calibrateBigStatisticsSeconds: S(calBig.map((c) => c.timings.statisticsSeconds)),
  calibrateBigRssMB: S(calBig.map((c) => c.maxRssMB)),
  fp32LatencyMs: S(lat.fp32!),
  int8LatencyMs: S(lat.int8!),
  fp32LatencyMs1Thread: S(lat1.fp32!),
  int8LatencyMs1Thread: S(lat1.int8!),
};
const r = results;
const ratios = {
  calibrateOverBaseline: r.calibrateSeconds.median / r.baselineSeconds.median,
  /** The calibration pass's session.run (tensors exposed as outputs) vs the plain forward pass's. */
  /** CPU seconds (user + system) of b over a's: the extra work, less sensitive to other processes than wall time. */
  calibrateCpuOverBaselineCpu: r.calibrateCpuSeconds.median / r.baselineCpuSeconds.median,
  calibrateForwardOverBaselineForward: r.calibrateForwardSeconds.median / r.baselineForwardSeconds.median,
  bigRssOverSmallRss: r.calibrateBigRssMB.median / r.calibrateRssMB.median,
  int8Speedup: r.fp32LatencyMs.median / r.int8LatencyMs.median,
  int8Speedup1Thread: r.fp32LatencyMs1Thread.median / r.int8LatencyMs1Thread.median,
};
const goals = {
  'calibrate <= 2.0x FP32 forward pass': ratios.calibrateOverBaseline <= 2.0,
  'peak RSS < 1 GB (both data sizes)': Math.max(r.calibrateRssMB.max, r.calibrateBigRssMB.max) < 1024,
  [`peak RSS flat within 10% at ${opts.scale}x data`]: ratios.bigRssOverSmallRss <= 1.1,
  'INT8 >= 2.5x faster than FP32': ratios.int8Speedup >= 2.5,
};

const row = (what: string, s: Summary, unit: string, vs = '', digits = 2) => [what, `${showSummary(s, digits)} ${unit}`, vs];
const x2 = (v: number) => `${v.toFixed(2)}x`;
console.log(renderTable(['measure (median (min–max))', 'value', 'ratio'], [
  row(`a. FP32 forward pass, ${small} images, wall`, r.baselineSeconds, 's'),
  row('     of which session.run', r.baselineForwardSeconds, 's'),
  row('     of which session create + data load', r.baselineLoadSeconds, 's'),
  row('     CPU time (user + system)', r.baselineCpuSeconds, 's'),
  row(`b. qtool calibrate, ${small} images, wall`, r.calibrateSeconds, 's', `${x2(ratios.calibrateOverBaseline)} of a`),
  row('     b/a paired per repetition', r.calibrateOverBaselinePaired, 'x'),
  row('     CPU time (user + system)', r.calibrateCpuSeconds, 's', `${x2(ratios.calibrateCpuOverBaselineCpu)} of a's`),
  row('     calibrate.json totalSeconds', r.calibrateTotalSeconds, 's'),
  row('     forwardSeconds (session.run)', r.calibrateForwardSeconds, 's', `${x2(ratios.calibrateForwardOverBaselineForward)} of a's run`),
  row('     statisticsSeconds (histograms)', r.calibrateStatisticsSeconds, 's'),
  row('     totalSeconds - forwardSeconds', r.calibrateNotForwardSeconds, 's'),
  row('     wall - totalSeconds (node startup)', r.calibrateStartupSeconds, 's'),
  row(`   qtool calibrate, ${big} images, wall`, r.calibrateBigSeconds, 's', `${x2(r.calibrateBigSeconds.median / r.calibrateSeconds.median)} of b`),
  row(`c. max RSS, calibrate ${small} images`, r.calibrateRssMB, 'MB', '', 0),
  row(`   (max RSS of a, for reference)`, r.baselineRssMB, 'MB', '', 0),
  row(`   max RSS, calibrate ${big} images`, r.calibrateBigRssMB, 'MB', `${x2(ratios.bigRssOverSmallRss)} of ${small}`, 0),
  row(`d. batch ${opts.batch} latency FP32`, r.fp32LatencyMs, 'ms', '', 1),
  row(`   batch ${opts.batch} latency INT8`, r.int8LatencyMs, 'ms', `${x2(ratios.int8Speedup)} faster`, 1),
  row(`   same, 1 intra-op thread, FP32`, r.fp32LatencyMs1Thread, 'ms', '', 1),
  row(`   same, 1 intra-op thread, INT8`, r.int8LatencyMs1Thread, 'ms', `${x2(ratios.int8Speedup1Thread)} faster`, 1),
], ['left', 'right', 'right']));
for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? chalk.green('met   ') : chalk.red('missed')} ${goal}`);
console.log(chalk.dim(`  RSS: ${RSS_METHOD}; latency: ${opts.threads} intra-op threads (and 1), graph optimization 'all'`));

const jsonPath = join(benchOut(), 'calibrate-bench.json');
writeFileSync(jsonPath, JSON.stringify({
  schema: 'qtool-bench/calibrate@1', machine: m, loadAverageAfter1m: machine().loadAverage1m,
  options: opts, commands, intraOpThreadsLatency: opts.threads, results, ratios, goals,
}, null, 2) + '\n');
console.log(chalk.dim(`  wrote ${rel(jsonPath)}`));
