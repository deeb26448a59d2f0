// qtool qat-finetune end to end on the MLP: the report, the parity of the
// exported INT8 model with the tfjs fake-quant model, distillation, and the
// bad inputs that exit 2 before anything is trained or written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { qatReportSchema } from '../src/report/schemas/qat.js';
import { partialReportSchema } from '../src/report/schemas/partial.js';
import { expectBadInput, repoPath, runQtool, tempDir } from './helpers.js';

const dir = tempDir('qtool-qat-cli-');
const model = repoPath('samples/mlp/model.onnx');
const digits = (f: string) => repoPath('samples/digits', f);
const calibration = join(dir, 'cal', 'calibration.json');
const train = ['--train', digits('train_x.npy')];
const trainLabels = ['--train-labels', digits('train_y.npy')];

test('calibrate the MLP first', () => {
  const r = runQtool(['calibrate', model, '--data', digits('calib_x.npy'), '--method', 'max', '--out', join(dir, 'cal')]);
  assert.equal(r.code, 0, r.stderr);
});

test('qat-finetune with labels and --eval: exit 0, valid report, parity within 0.3 points, the model loads in onnxruntime', async () => {
  const out = join(dir, 'qat');
  const r = runQtool(['qat-finetune', model, '--calibration', calibration, ...train, ...trainLabels, '--epochs', '1',
    '--eval', digits('eval_x.npy'), '--labels', digits('eval_y.npy'), '--json', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /backend: \S+/);
  const report = qatReportSchema.parse(JSON.parse(r.stdout));
  const onDisk = qatReportSchema.parse(JSON.parse(readFileSync(join(out, 'qat.json'), 'utf8')));
  assert.equal(onDisk.steps, report.steps);
  assert.equal(report.schema, 'qtool/qat@1');
  assert.equal(report.steps, Math.floor(1000 / 32));
  assert.equal(report.loss.length, report.steps);
  assert.equal(report.lr.length, report.steps);
  assert.equal(report.lr[0], 0.01 * 0.01, '1% of the default base LR');
  assert.ok(report.accuracy && report.accuracy.metric === 'top1' && report.accuracy.samples === 500);
  assert.ok(report.parity.gap <= 0.3, `parity gap ${report.parity.gap}`);
  assert.equal(report.parity.data, report.accuracy.data);
  const session = await ort.InferenceSession.create(join(out, 'model.qat.onnx'), { logSeverityLevel: 3 });
  assert.ok(session.outputNames.length > 0);
  await session.release();
});

test('qat-finetune --distill (no labels; parity on the training data), SGD with an exact --lr', () => {
  const out = join(dir, 'distill');
  const r = runQtool(['qat-finetune', model, '--calibration', calibration, ...train, '--distill', '--epochs', '1', '--lr', '0.0005', '--optimizer', 'sgd', '--json', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const report = qatReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.train.loss, 'distillation');
  assert.equal(report.lr0, 0.0005);
  assert.equal(report.accuracy, null);
  assert.equal(report.parity.metric, 'agreement');
  assert.ok(report.parity.gap <= 0.3);
});

test('qat-finetune: bad input exits 2 with one line', () => {
  const base = [model, '--calibration', calibration, ...train];
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--distill'], /exactly one of --train-labels Y and --distill/);
  expectBadInput('qat-finetune', [...base], /exactly one of --train-labels Y and --distill/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--base-lr', '0.1', '--lr', '0.001'], /at most one of --base-lr and --lr/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--epochs', '0'], /--epochs takes a positive whole number/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--lr', '-1'], /--lr takes a positive number/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--batch-size', '0'], /--batch-size takes a positive whole number/);
  expectBadInput('qat-finetune', [repoPath('samples/resnet/model.onnx'), '--calibration', calibration, ...train, ...trainLabels], /made for another model/);
  // A partial.json made for another model.
  const partial = join(dir, 'partial.json');
  const point = { floatLayers: 0, added: null, accuracy: 90, drop: 1, top1: 90, agreement: 95, sqnrDb: 20, medianBatchMs: 1, sizeBytes: 100 };
  writeFileSync(partial, JSON.stringify(partialReportSchema.parse({
    schema: 'qtool/partial@1', qtoolVersion: '0', model: { path: 'other.onnx', sha256: '0'.repeat(64) }, command: 'qtool partial', options: {},
    calibration: { path: 'c', sha256: 'x' }, sensitivity: { path: 's', sha256: 'y' }, data: { path: 'd', samples: 1 }, labels: null,
    accuracyMetric: 'top1', floatType: 'fp32', budget: { maxDrop: 1, keepFloat: null }, fp32: { accuracy: 91, medianBatchMs: 1, sizeBytes: 100 },
    totalLayers: 3, floatLayers: [], result: point, met: true, message: 'ok', curve: [point], warnings: [], timings: { totalSeconds: 1 },
    artifacts: { model: 'm', report: 'r' },
  })));
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--partial', partial], /partial\.json: was made for another model/);
});
