// `qtool partial` on BERT-base at full size (bench/bert_base.py): calibrate
// (max), sensitivity per block with the proxy alone (--measure-top 0), then
// partial with a budget, on the same evaluation rows. Reports partial's time
// as a ratio to one FP32 forward pass over those rows (sensitivity's, the
// same run), each stage's peak RSS, the steps, whether the budget held and
// the latency curve partial recorded. The weights are random: without labels
// the metric is agreement with FP32.
// Usage: node dist/bench/partial-bert.bench.js [--dir bench/out/bert-base] [--samples 128] [--group-by block]
//          [--max-drop 1 | --keep-float K]
// Writes bench/out/partial-bert-bench.json.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { renderTable } from '../src/report/table.js';
import { sensitivityReportSchema } from '../src/report/schemas/sensitivity.js';
import { partialReportSchema } from '../src/report/schemas/partial.js';
import { runChild } from './lib/child.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';

const { values } = parseArgs({ options: {
  dir: { type: 'string' }, samples: { type: 'string' }, 'group-by': { type: 'string' }, 'max-drop': { type: 'string' }, 'keep-float': { type: 'string' },
} });
const dir = values.dir ?? join(repoRoot, 'bench', 'out', 'bert-base');
const samples = values.samples ?? '128';
const groupBy = values['group-by'] ?? 'block';
const budget = values['keep-float'] !== undefined ? ['--keep-float', values['keep-float']] : ['--max-drop', values['max-drop'] ?? '1'];
if (!existsSync(join(dir, 'model.onnx'))) throw new Error(`${dir}/model.onnx: missing; make it with python3 bench/bert_base.py --out ${dir}`);

const rel = (p: string) => relative(repoRoot, p) || '.';
const tmp = mkdtempSync(join(benchOut(), 'tmp-'));
const model = rel(join(dir, 'model.onnx'));
const data = ['--data', rel(join(dir, 'eval.npz')), '--max-samples', samples];
const calibration = rel(join(tmp, 'cal', 'calibration.json'));
const commands = {
  calibrate: ['bin/qtool.js', 'calibrate', model, '--data', rel(join(dir, 'calib-64.npz')), '--method', 'max', '--out', rel(join(tmp, 'cal'))],
  sensitivity: ['bin/qtool.js', 'sensitivity', model, '--calibration', calibration, ...data, '--group-by', groupBy, '--measure-top', '0', '--out', rel(join(tmp, 'sens'))],
  partial: ['bin/qtool.js', 'partial', model, '--calibration', calibration, '--sensitivity', rel(join(tmp, 'sens', 'sensitivity.json')), ...data, ...budget, '--out', rel(join(tmp, 'partial'))],
};
const log = (s: string) => process.stderr.write(chalk.dim(s) + '\n');
const m = machine();
log(`partial bench on BERT-base: ${samples} rows, --group-by ${groupBy}, ${budget.join(' ')}, ${m.nproc} cores, load ${m.loadAverage1m.toFixed(2)}`);
try {
  const runs: Record<string, { wallSeconds: number; maxRssMB: number }> = {};
  for (const [name, args] of Object.entries(commands)) {
    // partial exits 1 when the budget is not met: its report is still written.
    const r = await runChild('node', args, { cwd: repoRoot, okCodes: name === 'partial' ? [0, 1] : [0] });
    runs[name] = { wallSeconds: r.wallSeconds, maxRssMB: r.maxRssMB };
    log(`  ${name}: ${r.wallSeconds.toFixed(0)} s, peak RSS ${r.maxRssMB.toFixed(0)} MB`);
  }
  const s = sensitivityReportSchema.parse(JSON.parse(readFileSync(join(tmp, 'sens', 'sensitivity.json'), 'utf8')));
  const p = partialReportSchema.parse(JSON.parse(readFileSync(join(tmp, 'partial', 'partial.json'), 'utf8')));
  const forward = s.timings.fp32ForwardSeconds;
  const results = {
    units: s.layers.length, steps: p.curve.length, met: p.met, message: p.message, floatLayers: p.floatLayers.length,
    fp32ForwardSeconds: forward, fp32Accuracy: p.fp32.accuracy, fp32MedianBatchMs: p.fp32.medianBatchMs,
    partialSeconds: p.timings.totalSeconds, partialOverFp32Forward: p.timings.totalSeconds / forward,
    partialPerStepOverFp32Forward: p.timings.totalSeconds / p.curve.length / forward,
    curve: p.curve.map((c) => ({ floatLayers: c.floatLayers, added: c.added, accuracy: c.accuracy, drop: c.drop, medianBatchMs: c.medianBatchMs, sizeBytes: c.sizeBytes })),
    runs,
  };
  const f = (v: number | null, d = 2) => (v === null ? '–' : v.toFixed(d));
  console.log(renderTable(['step', 'float layers', 'added', 'accuracy', 'drop', 'median batch ms', 'x FP32 latency', 'MB'],
    results.curve.map((c, i) => [String(i), String(c.floatLayers), c.added ?? '–', f(c.accuracy), f(c.drop), f(c.medianBatchMs, 0),
      c.medianBatchMs === null || p.fp32.medianBatchMs === null ? '–' : f(c.medianBatchMs / p.fp32.medianBatchMs), f(c.sizeBytes / 2 ** 20, 0)]),
  ['right', 'right', 'left', 'right', 'right', 'right', 'right', 'right']));
  console.log(renderTable(['BERT-base partial', 'value'], [
    ['units (sensitivity, proxy only)', `${results.units} (--group-by ${groupBy})`],
    ['FP32 forward pass (sensitivity\'s, same rows)', `${f(forward, 1)} s`],
    ['partial total', `${f(p.timings.totalSeconds, 1)} s = ${f(results.partialOverFp32Forward)}x forward, ${results.steps} steps (${f(results.partialPerStepOverFp32Forward)}x a step)`],
    ['budget', `${p.met ? 'met' : 'not met'}: ${p.message}`],
    ['peak RSS: calibrate / sensitivity / partial', Object.values(runs).map((r) => `${r.maxRssMB.toFixed(0)} MB`).join(' / ')],
  ], ['left', 'left']));
  const jsonPath = join(benchOut(), 'partial-bert-bench.json');
  writeFileSync(jsonPath, JSON.stringify({
    schema: 'qtool-bench/partial-bert@1', machine: m, loadAverageAfter1m: machine().loadAverage1m,
    commands: Object.fromEntries(Object.entries(commands).map(([k, v]) => [k, `node ${v.join(' ')}`])), results,
  }, null, 2) + '\n');
  console.log(chalk.dim(`  wrote ${rel(jsonPath)}`));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
