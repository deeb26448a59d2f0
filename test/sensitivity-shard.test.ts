// Sensitivity at scale on the BERT fixture: the proxy's top K measured and the
// rest marked, groups as the unit of sensitivity and of partial's float
// fallback, and a sweep split into shards then merged, which must equal the
// unsharded run (timings and command lines aside), with the refusals.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sensitivityReportSchema, type SensitivityReport } from '../src/report/schemas/sensitivity.js';
import { partialReportSchema } from '../src/report/schemas/partial.js';
import { repoPath, runQtool, tempDir, expectBadInput } from './lib/helpers.js';

const BERT = (f: string) => repoPath('test', 'fixtures', 'bert-tiny', f);
const MODEL = BERT('model.onnx');
let calibration: string;
let data: string[];

before(() => {
  const dir = tempDir();
  const r = runQtool(['calibrate', MODEL, '--data', BERT('calib.npz'), '--method', 'max', '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  calibration = join(dir, 'calibration.json');
  data = ['--calibration', calibration, '--data', BERT('eval.npz'), '--labels', BERT('eval_labels.npy'), '--max-samples', '64'];
});

function sensitivityRun(args: string[], out = tempDir()): { report: SensitivityReport; stderr: string; path: string } {
  const r = runQtool(['sensitivity', MODEL, ...data, ...args, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return { report: sensitivityReportSchema.parse(JSON.parse(r.stdout)), stderr: r.stderr, path: join(out, 'sensitivity.json') };
}

/** A report without what legitimately differs between runs: timings, the command line, the output path. */
function comparable(r: SensitivityReport): unknown {
  const { timings: _t, command: _c, artifacts: _a, ...rest } = r;
  const result = (v: SensitivityReport['layers'][number]['fallback']) => (v ? { ...v, seconds: 0 } : v);
  return { ...rest, layers: r.layers.map((l) => ({ ...l, fallback: result(l.fallback), quantize: result(l.quantize) })) };
}

const sweep = ['--mode', 'both', '--measure-top', '5'];
let unsharded: ReturnType<typeof sensitivityRun>;
let shards: string[];

test('--measure-top K: variants for the proxy\'s top K only, the rest ranked after them in proxy order; the time is announced first', () => {
  unsharded = sensitivityRun(sweep);
  const r = unsharded.report;
  assert.equal(r.layers.length, 14);
  const measured = r.layers.filter((l) => l.measured);
  assert.deepEqual(measured.map((l) => l.name).sort(), r.proxyRanking.slice(0, 5).sort());
  for (const l of r.layers) {
    assert.equal(l.fallback !== null && l.quantize !== null, l.measured, l.name);
    if (!l.measured) assert.equal(l.fallback, null);
  }
  assert.equal(r.timings.variants, 10);
  // Measured first (by impact), then the proxy's order.
  assert.deepEqual(new Set(r.ranking.slice(0, 5)), new Set(measured.map((l) => l.name)));
  assert.deepEqual(r.ranking.slice(5), r.proxyRanking.filter((n) => !measured.some((l) => l.name === n)));
  assert.deepEqual(r.options.measureTop, 5);
  assert.match(unsharded.stderr, /10 variants to measure, about \d+ s/);
  assert.ok(r.timings.estimatedVariantsSeconds! > 0 && r.timings.variantsSeconds! > 0);
});

test('3 shards, merged, give the unsharded sensitivity.json', () => {
  const parts = [1, 2, 3].map((i) => sensitivityRun([...sweep, '--shard', `${i}/3`]));
  shards = parts.map((p) => p.path);
  // Round-robin over 10 variants: 4, 3, 3, together each variant once.
  assert.deepEqual(parts.map((p) => p.report.shard!.variants.length), [4, 3, 3]);
  assert.equal(new Set(parts.flatMap((p) => p.report.shard!.variants)).size, 10);
  for (const p of parts) assert.equal(p.report.timings.variants, p.report.shard!.variants.length);

  const out = tempDir();
  const m = runQtool(['sensitivity-merge', MODEL, ...[...shards].reverse(), '--out', out, '--json']);
  assert.equal(m.code, 0, m.stderr);
  const merged = sensitivityReportSchema.parse(JSON.parse(readFileSync(join(out, 'sensitivity.json'), 'utf8')));
  assert.deepEqual(sensitivityReportSchema.parse(JSON.parse(m.stdout)), merged);
  assert.equal(merged.shard, undefined);
  assert.deepEqual(comparable(merged), comparable(unsharded.report));
  assert.equal(merged.timings.variants, 10);
});

test('sensitivity-merge refuses shards that do not make one sweep: one line, exit 2, nothing written', () => {
  const [s1, s2, s3] = shards;
  expectBadInput('sensitivity-merge', [MODEL, s1, s2], /shard 3 of 3 missing/);
  expectBadInput('sensitivity-merge', [MODEL, s1, s2, s2, s3], /sensitivity\.json: is shard 2 of 3 again/);
  expectBadInput('sensitivity-merge', [MODEL, unsharded.path, s1], /sensitivity\.json: is not a shard's report/);
  expectBadInput('sensitivity-merge', [repoPath('samples', 'mlp', 'model.onnx'), s1, s2, s3], /sensitivity\.json: .*another model/);
  // Hand-made mismatches (copies outside the output folder, whose manifest would refuse the edit first).
  const edited = (edit: (r: Record<string, any>) => void) => {
    const path = join(tempDir(), 'shard3.json');
    copyFileSync(s3, path);
    const r = JSON.parse(readFileSync(path, 'utf8'));
    edit(r);
    writeFileSync(path, JSON.stringify(r));
    return path;
  };
  expectBadInput('sensitivity-merge', [MODEL, s1, s2, edited((r) => { r.options.proxySamples = 32; })], /shard3\.json: does not belong to the sweep of .*: its options differs/);
  expectBadInput('sensitivity-merge', [MODEL, s1, s2, edited((r) => { r.calibration.recipeSha256 = 'f'.repeat(64); })], /its calibration differs/);
  expectBadInput('sensitivity-merge', [MODEL, s1, s2, edited((r) => { r.shard.count = 4; })], /shard3\.json: is shard 3 of 4, but .* is shard 1 of 3/);
  expectBadInput('sensitivity-merge', [MODEL, s1, s2, edited((r) => { r.shard.variants.pop(); })], /lists other variants than shard 3 of 3 measures/);
  expectBadInput('partial', [MODEL, ...data.slice(0, 2), '--sensitivity', s1, '--data', BERT('eval.npz'), '--keep-float', '1'],
    /sensitivity\.json: is shard 1 of 3 of a sweep; merge the shards with qtool sensitivity-merge first/);
  expectBadInput('sensitivity', [MODEL, ...data, '--shard', '4/3'], /--shard takes I\/N with 1 <= I <= N/);
  expectBadInput('sensitivity', [MODEL, ...data, '--measure-top', 'most'], /--measure-top takes a whole number >= 0 or 'all'/);
  expectBadInput('sensitivity', [MODEL, ...data, '--group-by', 'head'], /--group-by: expected layer, block or role/);
});

test('--group-by block: blocks are measured and ranked, and partial keeps whole blocks in float', () => {
  const s = sensitivityRun(['--group-by', 'block', '--mode', 'fallback']);
  const r = s.report;
  assert.deepEqual(r.grouping, { by: 'block', asked: 'block', note: null });
  assert.deepEqual(r.layers.map((l) => l.name).sort(), ['/bert/encoder/layer.0', '/bert/encoder/layer.1', '/bert/pooler/dense/Gemm', '/classifier/Gemm'].sort());
  const block0 = r.layers.find((l) => l.name === '/bert/encoder/layer.0')!;
  assert.equal(block0.layers!.length, 6);
  assert.ok(block0.layers!.every((n) => n.startsWith('/bert/encoder/layer.0/')));
  assert.equal(block0.opType, 'MatMul');
  assert.deepEqual(r.layers.find((l) => l.name === '/classifier/Gemm')!.layers, ['/classifier/Gemm']);
  assert.equal(r.timings.variants, 4);

  const out = tempDir();
  const p = runQtool(['partial', MODEL, '--calibration', calibration, '--sensitivity', s.path, '--data', BERT('eval.npz'), '--labels', BERT('eval_labels.npy'),
    '--max-samples', '64', '--keep-float', '1', '--out', out, '--json']);
  assert.equal(p.code, 0, p.stderr);
  const pr = partialReportSchema.parse(JSON.parse(p.stdout));
  const top = r.layers.find((l) => l.name === r.ranking[0])!;
  assert.deepEqual(pr.floatGroups, [top.name]);
  assert.deepEqual(pr.floatLayers, top.layers ?? [top.name]);
  assert.deepEqual(pr.curve.map((c) => c.added), [null, top.name]);
  assert.deepEqual(pr.curve.map((c) => c.floatLayers), [0, pr.floatLayers.length]);
  // The latency column stays: every step measured.
  for (const c of pr.curve) assert.ok(c.medianBatchMs !== null && c.medianBatchMs > 0);
});
