// inspect and eval as a user runs them: real samples, real onnxruntime, and
// every bad input answered by one line naming the file, exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../src/data/npy.js';
import { writeNpy } from './lib/npy-write.js';
import { inspectReportSchema } from '../src/report/schemas/inspect.js';
import { evalReportSchema } from '../src/report/schemas/eval.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const LENET = repoPath('test', 'fixtures', 'lenet-dynamo', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const MNIST = (f: string) => repoPath('samples', 'mnist', f);

test('--help lists only the commands that exist', () => {
  const r = runQtool(['--help']);
  assert.equal(r.code, 0);
  const commands = [...r.stdout.matchAll(/^  (\w[\w-]*) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
  for (const c of commands) {
    const h = runQtool([c, '--help']);
    assert.equal(h.code, 0, `${c} --help`);
  }
  for (const c of ['inspect', 'eval', 'calibrate', 'sensitivity', 'partial', 'qat-finetune', 'run', 'report', 'doctor']) {
    assert.ok(commands.includes(c), `${c} is listed`);
  }
});

test('inspect on a model from PyTorch\'s dynamo exporter (not a sample)', () => {
  const r = runQtool(['inspect', LENET, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = inspectReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(rep.opsets.find((o) => o.domain === 'ai.onnx')?.version, 18);
  assert.deepEqual(rep.inputs, [{ name: 'input', type: 'float32', dims: ['batch', 1, 28, 28] }]);
  assert.deepEqual(rep.quantizableLayers.map((l) => l.opType), ['Conv', 'Conv', 'Gemm', 'Gemm', 'Gemm']);
  // Every parameter sits in a quantizable layer, but for the 3 normalisation scalars the export keeps.
  assert.equal(rep.parameters - rep.quantizableLayers.reduce((s, l) => s + l.params, 0), 3);
  assert.equal(rep.opCounts.Conv, 2);
  const human = runQtool(['inspect', LENET]);
  assert.match(human.stdout, /Quantizable layers \(5\)/);
});

test('eval on the dynamo-exported LeNet matches the accuracy PyTorch recorded', () => {
  const expected = JSON.parse(readFileSync(repoPath('test', 'fixtures', 'lenet-dynamo', 'expected.json'), 'utf8'));
  const r = runQtool(['eval', LENET, '--data', MNIST('eval_x.npy'), '--labels', MNIST('eval_y.npy'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = evalReportSchema.parse(JSON.parse(r.stdout));
  assert.ok(Math.abs(rep.top1! - expected.eval_top1) <= 0.05, `${rep.top1} vs ${expected.eval_top1}`);
  assert.equal(rep.data.samples, 3000);
});

test('eval against a reference: the model against itself agrees fully with infinite SQNR', () => {
  const r = runQtool(['eval', MLP, '--data', DIGITS('eval_x.npy'), '--reference', MLP, '--batch-size', '100', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = evalReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(rep.agreement, 100);
  assert.equal(rep.sqnrDb, null);
  assert.equal(rep.top1, null);
});

function expectBadInput(args: string[], pattern: RegExp) {
  const r = runQtool(args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
}

test('bad models: missing, not ONNX, truncated, no inputs', () => {
  const dir = tempDir();
  expectBadInput(['inspect', join(dir, 'nope.onnx')], /nope\.onnx: no such file/);
  expectBadInput(['inspect', repoPath('package.json')], /package\.json: .*not an ONNX model/);
  const cut = join(dir, 'cut.onnx');
  const bytes = readFileSync(MLP);
  writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
  expectBadInput(['eval', cut, '--data', DIGITS('eval_x.npy')], /cut\.onnx: truncated or not an ONNX model/);
});

test('bad data and labels: each named with what is wrong', () => {
  const dir = tempDir();
  const fx = (f: string) => repoPath('test', 'fixtures', 'data', f);
  expectBadInput(['eval', MLP, '--data', fx('badheader.npy')], /badheader\.npy: /);
  expectBadInput(['eval', MLP, '--data', fx('complex.npy')], /complex\.npy: .*dtype/);
  expectBadInput(['eval', MLP, '--data', fx('fortran.npy')], /fortran\.npy: Fortran-order/);
  expectBadInput(['eval', MLP, '--data', fx('truncated.npy')], /truncated\.npy: .*truncated/i);
  expectBadInput(['eval', MLP, '--data', MNIST('eval_x.npy')], /eval_x\.npy: shape \[3000,1,28,28\] does not fit input 'input' of shape \[batch,64\]/);
  const nan = join(dir, 'nan.npy');
  const x = readNpy(DIGITS('eval_x.npy'));
  const bad = Float32Array.from(x.data as Float32Array);
  bad[5] = NaN; bad[70] = NaN; bad[900] = Infinity;
  writeNpy(nan, { dtype: 'float32', shape: x.shape, data: bad });
  expectBadInput(['eval', MLP, '--data', nan], /nan\.npy: input 'input' holds 2 NaN and 1 Inf values/);
  const short = join(dir, 'short_y.npy');
  writeNpy(short, { dtype: 'int64', shape: [499], data: new BigInt64Array(499) });
  expectBadInput(['eval', MLP, '--data', DIGITS('eval_x.npy'), '--labels', short], /short_y\.npy: 499 labels for 500 samples/);
  const big = join(dir, 'big_y.npy');
  const y = new BigInt64Array(500); y[17] = 12n;
  writeNpy(big, { dtype: 'int64', shape: [500], data: y });
  expectBadInput(['eval', MLP, '--data', DIGITS('eval_x.npy'), '--labels', big], /big_y\.npy: label 12 at index 17 is outside the model's 10 classes/);
  expectBadInput(['eval', MLP, '--data', DIGITS('eval_x.npy'), '--batch-size', '0'], /--batch-size takes a positive whole number/);
  expectBadInput(['eval', MLP, '--data', DIGITS('eval_x.npy'), '--reference', LENET], /lenet-dynamo\/model\.onnx: reference model input 'input' has shape \[batch,1,28,28\], the model's is \[batch,64\]/);
});
