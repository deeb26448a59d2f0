// qtool qat-finetune end to end on the MLP: the report, the parity of the
// exported INT8 model with the tfjs fake-quant model, distillation, Ctrl-C
// and --resume (which ends exactly where an uninterrupted run does), and the
// bad inputs that exit 2 before anything is trained or written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { qatReportSchema } from '../src/report/schemas/qat.js';
import { partialReportSchema } from '../src/report/schemas/partial.js';
import { readCheckpoint } from '../src/qat/checkpoint.js';
import { expectBadInput, interruptAt, repoPath, runQtool, tempDir } from './lib/helpers.js';

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
  assert.equal(report.schema, 'qtool/qat@2');
  assert.equal(report.steps, Math.floor(1000 / 32));
  assert.equal(report.loss.length, report.steps);
  assert.equal(report.lr.length, report.steps);
  assert.equal(report.lr[0], 0.01 * 0.01, '1% of the default base LR');
  assert.ok(report.accuracy && report.accuracy.metric === 'top1' && report.accuracy.samples === 500);
  assert.ok(report.parity.gap <= 0.3, `parity gap ${report.parity.gap}`);
  assert.equal(report.parity.data, report.accuracy.data);
  // One line per epoch on stderr, the same numbers in the report, and the checkpoint of the last epoch.
  assert.match(r.stderr, /^qtool: epoch 1\/1: loss \d+\.\d{4}, top-1 \d+\.\d\d % \(\d+\.\d s\)$/m);
  assert.equal(report.epochLog.length, 1);
  assert.equal(report.epochLog[0]!.accuracy, report.accuracy.after, 'the accuracy after the last epoch is the final one');
  assert.ok(Math.abs(report.epochLog[0]!.loss - report.loss.reduce((a, b) => a + b, 0) / report.loss.length) < 1e-9);
  assert.equal(report.resumedFrom, null);
  assert.equal(report.artifacts.checkpoint, join(out, 'qat.checkpoint'));
  assert.equal(readCheckpoint(report.artifacts.checkpoint).state.epoch, 1);
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

test('qat-finetune --distill --eval without labels: accuracy and parity as agreement with FP32 on the held-out data', () => {
  const out = join(dir, 'distill-eval');
  const r = runQtool(['qat-finetune', model, '--calibration', calibration, ...train, '--distill', '--epochs', '1', '--eval', digits('eval_x.npy'), '--json', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const report = qatReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.parity.metric, 'agreement');
  assert.equal(report.parity.data, digits('eval_x.npy'));
  assert.equal(report.parity.samples, 500);
  assert.ok(report.accuracy && report.accuracy.metric === 'agreement' && report.accuracy.fp32 === 100);
  assert.ok(report.accuracy.after > 90, `agreement ${report.accuracy.after}`);
  assert.match(r.stderr, /^qtool: epoch 1\/1: loss \d+\.\d{4}, agreement \d+\.\d\d % \(\d+\.\d s\)$/m);
});

test('qat-finetune: bad input exits 2 with one line', () => {
  const base = [model, '--calibration', calibration, ...train];
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--distill'], /at most one of --train-labels Y and --distill/);
  expectBadInput('qat-finetune', [...base], /give --train-labels Y or --distill \(.* has no labels of its own\)/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--base-lr', '0.1', '--lr', '0.001'], /at most one of --base-lr and --lr/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--epochs', '0'], /--epochs takes a positive whole number/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--lr', '-1'], /--lr takes a positive number/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--batch-size', '0'], /--batch-size takes a positive whole number/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--labels', digits('eval_y.npy')], /--labels goes with --eval/);
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--resume'], /qat\.checkpoint: no checkpoint to resume from; run without --resume/);
  expectBadInput('qat-finetune', [repoPath('samples/resnet/model.onnx'), '--calibration', calibration, ...train, ...trainLabels], /made for another model/);
  // A partial.json made for another model.
  const partial = join(dir, 'partial.json');
  const point = { floatLayers: 0, added: null, accuracy: 90, drop: 1, top1: 90, agreement: 95, sqnrDb: 20, medianBatchMs: 1, sizeBytes: 100 };
  writeFileSync(partial, JSON.stringify(partialReportSchema.parse({
    schema: 'qtool/partial@2', qtoolVersion: '0', model: { path: 'other.onnx', sha256: '0'.repeat(64) }, command: 'qtool partial', options: {},
    calibration: { path: 'c', sha256: 'x' }, sensitivity: { path: 's', sha256: 'y' }, data: { path: 'd', samples: 1 }, labels: null,
    accuracyMetric: 'top1', floatType: 'fp32', budget: { maxDrop: 1, keepFloat: null }, fp32: { accuracy: 91, medianBatchMs: 1, sizeBytes: 100 },
    totalLayers: 3, floatLayers: [], result: point, met: true, message: 'ok', curve: [point], warnings: [], timings: { totalSeconds: 1 },
    artifacts: { model: 'm', report: 'r' },
  })));
  expectBadInput('qat-finetune', [...base, ...trainLabels, '--partial', partial], /partial\.json: was made for another model/);
});

test('Ctrl-C after epoch 1: exit 130, the checkpoint intact, nothing half-written; --resume ends exactly where an uninterrupted run ends', async () => {
  const args = ['qat-finetune', model, '--calibration', calibration, ...train, ...trainLabels, '--epochs', '5', '--lr', '0.003',
    '--eval', digits('eval_x.npy'), '--labels', digits('eval_y.npy'), '--json'];
  const out = join(dir, 'interrupted');
  const r = await interruptAt([...args, '--out', out], /epoch 1\/5/);
  assert.ok(r.sent, `SIGINT sent: ${r.stderr}`);
  assert.equal(r.code, 130, r.stderr);
  const last = r.stderr.trim().split('\n').at(-1)!;
  assert.match(last, new RegExp(`interrupted at step \\d+ of 155; ${join(out, 'qat.checkpoint').replace(/[.\\/]/g, '\\$&')} holds epoch \\d of 5: run the same command with --resume`));
  // Only the checkpoint: no report, no model, no temporary files.
  assert.deepEqual(readdirSync(out), ['qat.checkpoint']);
  const saved = readCheckpoint(join(out, 'qat.checkpoint'));
  assert.ok(saved.state.epoch >= 1 && saved.state.epoch < 5, `checkpoint after epoch ${saved.state.epoch}`);
  assert.equal(saved.state.losses.length, saved.state.epoch * 31);
  assert.equal(saved.epochLog.length, saved.state.epoch);

  const resumed = runQtool([...args, '--out', out, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const a = qatReportSchema.parse(JSON.parse(resumed.stdout));
  assert.equal(a.resumedFrom, saved.state.epoch);
  assert.match(resumed.stderr, /epoch 5\/5/);
  assert.doesNotMatch(resumed.stderr, /epoch 1\/5/, 'completed epochs are not trained again');

  const straightOut = join(dir, 'straight');
  const straight = runQtool([...args, '--out', straightOut]);
  assert.equal(straight.code, 0, straight.stderr);
  const b = qatReportSchema.parse(JSON.parse(straight.stdout));
  assert.deepEqual(a.loss, b.loss, 'same loss curve');
  assert.deepEqual(a.lr, b.lr);
  assert.deepEqual(a.epochLog.map((e) => [e.loss, e.accuracy]), b.epochLog.map((e) => [e.loss, e.accuracy]));
  assert.deepEqual(a.parity, { ...b.parity, data: a.parity.data });
  assert.equal(a.accuracy!.after, b.accuracy!.after);
  assert.ok(readFileSync(join(out, 'model.qat.onnx')).equals(readFileSync(join(straightOut, 'model.qat.onnx'))), 'the same exported model, byte for byte');
  assert.ok(b.epochLog[4]!.loss < b.epochLog[0]!.loss, 'the loss went down over the epochs');

  // A checkpoint made with other options or labels: exit 2, one line naming it and the difference, nothing touched.
  const before = readdirSync(out).map((f) => [f, statSync(join(out, f)).mtimeMs]);
  for (const [extra, pattern] of [
    [['--epochs', '6'], /qat\.checkpoint: was made with --epochs 5 \(this run: 6\)/],
    [['--lr', '0.001'], /qat\.checkpoint: was made with a starting learning rate \(--base-lr \/ --lr\) of 0\.003 \(this run: 0\.001\)/],
  ] as const) {
    const bad = runQtool([...args, ...extra, '--out', out, '--resume']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, pattern);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  }
  const other = runQtool([...args.filter((x) => x !== '--train-labels' && x !== trainLabels[1]), '--distill', '--out', out, '--resume']);
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /qat\.checkpoint: was made for other training labels/);
  assert.deepEqual(readdirSync(out).map((f) => [f, statSync(join(out, f)).mtimeMs]), before);
  assert.ok(existsSync(join(out, 'qat.json')));
});
