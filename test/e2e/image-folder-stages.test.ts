// calibrate, sensitivity, partial and qat-finetune on an image folder (the
// PNG digits written by Pillow), its class subfolders as labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectBadInput, repoPath, runQtool, tempDir } from '../lib/helpers.js';

const images = (...p: string[]) => repoPath('test', 'fixtures', 'images', ...p);
const RESNET = repoPath('samples', 'resnet', 'model.onnx');
const DIGITS = images('mnist-png');
const DIGITS_PRE = images('mnist.preprocess.json');

test('calibrate, sensitivity and partial take an image folder and its labels', () => {
  const out = tempDir();
  const data = ['--preprocess', DIGITS_PRE];
  const cal = runQtool(['calibrate', RESNET, '--data', DIGITS, '--eval', DIGITS, ...data, '--method', 'max', '--out', out, '--json']);
  assert.equal(cal.code, 0, cal.stderr);
  const c = JSON.parse(cal.stdout) as { data: { samples: number }; eval: { labels: string }; fp32: { top1: number } };
  assert.equal(c.data.samples, 300);
  assert.equal(c.eval.labels, DIGITS);
  assert.ok(c.fp32.top1 > 90, `FP32 top-1 ${c.fp32.top1} % on the folder's labels`);
  const calibration = join(out, 'calibration.json');
  const sens = runQtool(['sensitivity', RESNET, '--calibration', calibration, '--data', DIGITS, ...data, '--max-samples', '64', '--out', out, '--json']);
  assert.equal(sens.code, 0, sens.stderr);
  assert.equal((JSON.parse(sens.stdout) as { labels: string }).labels, DIGITS);
  const part = runQtool(['partial', RESNET, '--calibration', calibration, '--sensitivity', join(out, 'sensitivity.json'), '--data', DIGITS, ...data,
    '--keep-float', '1', '--max-samples', '64', '--out', out, '--json']);
  assert.equal(part.code, 0, part.stderr);
  assert.equal((JSON.parse(part.stdout) as { labels: string }).labels, DIGITS);
});

test('qat-finetune trains on an image folder with its classes as labels', () => {
  const out = tempDir();
  const data = ['--preprocess', DIGITS_PRE];
  assert.equal(runQtool(['calibrate', RESNET, '--data', DIGITS, ...data, '--method', 'max', '--out', out]).code, 0);
  const r = runQtool(['qat-finetune', RESNET, '--calibration', join(out, 'calibration.json'), '--train', DIGITS, '--eval', DIGITS, ...data,
    '--epochs', '1', '--batch-size', '50', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const q = JSON.parse(r.stdout) as { train: { labels: string; loss: string; samples: number }; parity: { ok: boolean } };
  assert.equal(q.train.labels, DIGITS);
  assert.equal(q.train.loss, 'cross-entropy');
  assert.equal(q.train.samples, 300);
  assert.ok(q.parity.ok);
});

test('a folder with no labels of its own needs --train-labels or --distill for QAT', () => {
  const out = tempDir();
  const dir = tempDir();
  for (const f of readdirSync(join(DIGITS, '3')).slice(0, 8)) copyFileSync(join(DIGITS, '3', f), join(dir, f));
  assert.equal(runQtool(['calibrate', RESNET, '--data', dir, '--preprocess', DIGITS_PRE, '--method', 'max', '--out', out]).code, 0);
  expectBadInput('qat-finetune', [RESNET, '--calibration', join(out, 'calibration.json'), '--train', dir, '--preprocess', DIGITS_PRE, '--epochs', '1'],
    /give --train-labels Y or --distill \(.* has no labels of its own\)/, join(tempDir(), 'o'));
});

test('qtool run takes an image folder and reuses its stages while the folder is unchanged', () => {
  const dir = tempDir();
  const config = join(dir, 'run.json');
  writeFileSync(config, JSON.stringify({
    model: RESNET, data: { calibration: DIGITS, eval: DIGITS, preprocess: DIGITS_PRE }, maxDrop: 5, calibrate: { method: 'max' },
  }));
  const out = join(dir, 'out');
  const first = runQtool(['run', config, '--out', out, '--json']);
  assert.equal(first.code, 0, first.stderr);
  const again = runQtool(['run', config, '--out', out, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const stages = (JSON.parse(again.stdout) as { stages: { name: string; status: string }[] }).stages;
  assert.equal(stages.find((s) => s.name === 'calibrate')!.status, 'reused');
});
