// `qtool sensitivity` on BERT-base at full size (bench/bert_base.py: 74
// MatMul/Gemm layers, 440 MB): the proxy's time and one measured variant's,
// each as a ratio to one FP32 forward pass over the same samples, all from
// the same sensitivity.json; and whether the time announced before the
// variants held. Goal: proxy <= 3x the FP32 forward pass.
// Usage: node dist/bench/sensitivity-bert.bench.js [--dir bench/out/bert-base] [--samples 64] [--measure-top 3] [--group-by layer]
// (make DIR first: python3 bench/bert_base.py --out DIR). Writes bench/out/sensitivity-bert-bench.json.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { renderTable } from '../src/report/table.js';
import { sensitivityReportSchema } from '../src/report/schemas/sensitivity.js';
import { runChild } from './lib/child.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, samples: { type: 'string' }, 'measure-top': { type: 'string' }, 'group-by': { type: 'string' } } });
const dir = values.dir ?? join(repoRoot, 'bench', 'out', 'bert-base');
const samples = values.samples ?? '64';
const measureTop = values['measure-top'] ?? '3';
const groupBy = values['group-by'] ?? 'layer';
if (!existsSync(join(dir, 'model.onnx'))) throw new Error(`${dir}/model.onnx: missing; make it with python3 bench/bert_base.py --out ${dir}`);

const rel = (p: string) => relative(repoRoot, p) || '.';
const tmp = mkdtempSync(join(benchOut(), 'tmp-'));
const calibrate = ['bin/qtool.js', 'calibrate', rel(join(dir, 'model.onnx')), '--data', rel(join(dir, 'calib-64.npz')), '--method', 'max', '--out', rel(join(tmp, 'cal'))];
const sensitivity = ['bin/qtool.js', 'sensitivity', rel(join(dir, 'model.onnx')), '--calibration', rel(join(tmp, 'cal', 'calibration.json')),
  '--data', rel(join(dir, 'eval.npz')), '--labels', rel(join(dir, 'eval_labels.npy')), '--max-samples', samples,
  '--measure-top', measureTop, '--group-by', groupBy, '--out', rel(join(tmp, 'sens'))];
const log = (s: string) => process.stderr.write(chalk.dim(s) + '\n');
const m = machine();
log(`sensitivity bench on BERT-base: ${samples} samples, --measure-top ${measureTop}, --group-by ${groupBy}, ${m.nproc} cores, load ${m.loadAverage1m.toFixed(2)}`);
try {
  const cal = await runChild('node', calibrate, { cwd: repoRoot });
  log(`  calibrate: ${cal.wallSeconds.toFixed(0)} s, peak RSS ${cal.maxRssMB.toFixed(0)} MB`);
  const run = await runChild('node', sensitivity, { cwd: repoRoot });
  const r = sensitivityReportSchema.parse(JSON.parse(readFileSync(join(tmp, 'sens', 'sensitivity.json'), 'utf8')));
  const t = r.timings;
  const results = {
    units: r.layers.length, variants: t.variants,
    fp32PassSeconds: t.fp32PassSeconds, fp32ForwardSeconds: t.fp32ForwardSeconds, proxySeconds: t.proxySeconds,
    medianVariantSeconds: t.medianVariantSeconds, estimatedVariantsSeconds: t.estimatedVariantsSeconds ?? null, variantsSeconds: t.variantsSeconds ?? null,
    proxyOverFp32Forward: t.proxySeconds / t.fp32ForwardSeconds, proxyOverFp32Pass: t.proxySeconds / t.fp32PassSeconds,
    variantOverFp32Forward: t.medianVariantSeconds === null ? null : t.medianVariantSeconds / t.fp32ForwardSeconds,
    variantOverFp32Pass: t.variantToFp32Pass,
    sensitivityWallSeconds: run.wallSeconds, sensitivityMaxRssMB: run.maxRssMB, calibrateMaxRssMB: cal.maxRssMB,
  };
  const x = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}x`);
  const s = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)} s`);
  console.log(renderTable(['BERT-base sensitivity', 'value'], [
    [`units (--group-by ${groupBy}), variants measured`, `${results.units}, ${results.variants}`],
    ['FP32 evaluation pass (session + forward)', s(t.fp32PassSeconds)],
    ['   forward passes alone', s(t.fp32ForwardSeconds)],
    ['proxy (graph, session, one run)', `${s(t.proxySeconds)} = ${x(results.proxyOverFp32Forward)} forward, ${x(results.proxyOverFp32Pass)} pass`],
    ['variant, median', `${s(t.medianVariantSeconds)} = ${x(results.variantOverFp32Forward)} forward, ${x(results.variantOverFp32Pass)} pass`],
    ['variants: announced / took', `${s(results.estimatedVariantsSeconds)} / ${s(results.variantsSeconds)}`],
    ['sensitivity wall, peak RSS', `${run.wallSeconds.toFixed(0)} s, ${run.maxRssMB.toFixed(0)} MB`],
  ], ['left', 'right']));
  const goals = {
    'proxy <= 3x one FP32 forward pass': results.proxyOverFp32Forward <= 3,
    'variants within the time announced (+20 %)': results.variantsSeconds !== null && results.estimatedVariantsSeconds !== null && results.variantsSeconds <= 1.2 * results.estimatedVariantsSeconds,
  };
  for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? chalk.green('met   ') : chalk.red('missed')} ${goal}`);
  const jsonPath = join(benchOut(), 'sensitivity-bert-bench.json');
  writeFileSync(jsonPath, JSON.stringify({
    schema: 'qtool-bench/sensitivity-bert@1', machine: m, loadAverageAfter1m: machine().loadAverage1m,
    commands: { calibrate: `node ${calibrate.join(' ')}`, sensitivity: `node ${sensitivity.join(' ')}` }, results, goals,
  }, null, 2) + '\n');
  console.log(chalk.dim(`  wrote ${rel(jsonPath)}`));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
