// `qtool run` going on past calibrate (the fast tier's run.test.ts has the
// policy and the MLP run that stops at calibrate): the outlier network goes on
// to partial and meets the budget, a budget nothing meets tries QAT and exits 1
// with the best model written, and Ctrl-C during QAT leaves a checkpoint the
// next run resumes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runReportSchema } from '../../src/report/schemas/run.js';
import { readCheckpoint } from '../../src/qat/checkpoint.js';
import { qatReportSchema } from '../../src/report/schemas/qat.js';
import { interruptAt, repoPath, tempDir } from '../lib/helpers.js';
import { headNpy } from '../lib/npy-write.js';
import { makeAddOutlierModel, makeOutlierModel, OUTLIER } from '../lib/outlier.js';
import { checkFinal, run, statuses, writeConfig } from '../lib/qtool-run.js';

const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const MNIST = (f: string) => repoPath('samples', 'mnist', f);

test('the outlier-channel network (per-tensor max calibration) goes on past calibrate and meets a 0.5-point budget', () => {
  const dir = tempDir();
  makeOutlierModel(repoPath('samples', 'resnet', 'model.onnx'), join(dir, 'outlier.onnx'), OUTLIER);
  headNpy(MNIST('calib_x.npy'), join(dir, 'calib_x.npy'), 300);
  headNpy(MNIST('eval_x.npy'), join(dir, 'eval_x.npy'), 500);
  headNpy(MNIST('eval_y.npy'), join(dir, 'eval_y.npy'), 500);
  const config = writeConfig(dir, {
    model: 'outlier.onnx',
    data: { calibration: 'calib_x.npy', eval: 'eval_x.npy', evalLabels: 'eval_y.npy' },
    maxDrop: 0.5,
    calibrate: { method: 'max', perChannel: false },
  });
  const out = join(dir, 'out');
  const { code, report, stderr } = run(config, out);
  assert.equal(code, 0, stderr);
  const [cal, sens, part] = report.stages;
  assert.ok(cal.drop! > 5, `per-tensor PTQ drop ${cal.drop}`);
  assert.equal(sens.status, 'ran');
  assert.match(sens.reason, /calibrate's INT8 model drops [0-9.]+ points \(> budget 0\.5\)/);
  assert.equal(part.status, 'ran');
  assert.ok(['partial', 'qat'].includes(report.final.stage));
  assert.ok(report.final.metBudget && report.final.drop <= 0.5, `final drop ${report.final.drop}`);
  checkFinal(out, report);
});

test('a budget nothing meets: QAT is tried, exit 1, the best model written; without training data QAT is skipped', () => {
  // The MLP with an outlier on an Add no layer owns: no set of float layers recovers it.
  const dir = tempDir();
  makeAddOutlierModel(repoPath('samples', 'mlp', 'model.onnx'), join(dir, 'model.onnx'), { feature: 43, scale: 1000 });
  const data = { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy'), evalLabels: DIGITS('eval_y.npy') };
  const base = { model: 'model.onnx', maxDrop: 0.5, calibrate: { method: 'max' }, qat: { epochs: 1 } };
  const out = join(dir, 'out');
  const withQat = run(writeConfig(dir, { ...base, data: { ...data, train: DIGITS('train_x.npy'), trainLabels: DIGITS('train_y.npy') } }), out);
  assert.equal(withQat.code, 1);
  assert.deepEqual(statuses(withQat.report), ['calibrate:ran', 'sensitivity:ran', 'partial:ran', 'qat:ran']);
  assert.match(withQat.report.stages[3].reason, /partial still drops [0-9.]+ points \(> budget 0\.5\)/);
  assert.equal(withQat.report.final.metBudget, false);
  const drops = withQat.report.stages.filter((s) => s.drop !== null).map((s) => s.drop!);
  assert.equal(drops.length, 3);
  assert.equal(withQat.report.final.drop, Math.min(...drops));
  checkFinal(out, withQat.report);

  // No training data: the stages before QAT are the same (reused), QAT is skipped and says why.
  const noTrain = run(writeConfig(dir, { ...base, data }), out);
  assert.equal(noTrain.code, 1);
  assert.deepEqual(statuses(noTrain.report), ['calibrate:reused', 'sensitivity:reused', 'partial:reused', 'qat:skipped']);
  assert.match(noTrain.report.stages[3].reason, /no data\.train to fine-tune on/);
  assert.ok(existsSync(join(out, noTrain.report.final.model)));
  checkFinal(out, noTrain.report);
});

test('Ctrl-C during QAT: exit 130, run.json and the checkpoint kept; the same run again reuses the stages before QAT and resumes it', async () => {
  const dir = tempDir();
  makeAddOutlierModel(repoPath('samples', 'mlp', 'model.onnx'), join(dir, 'model.onnx'), { feature: 43, scale: 1000 });
  const config = writeConfig(dir, {
    model: 'model.onnx', maxDrop: 0.5, calibrate: { method: 'max' }, qat: { epochs: 5 },
    data: { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy'), evalLabels: DIGITS('eval_y.npy'), train: DIGITS('train_x.npy'), trainLabels: DIGITS('train_y.npy') },
  });
  const out = join(dir, 'out');
  const r = await interruptAt(['run', config, '--out', out, '--json'], /epoch 1\/5/);
  assert.ok(r.sent, `SIGINT sent: ${r.stderr}`);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr.trim().split('\n').at(-1)!, /interrupted at step \d+ of \d+; .*qat\.checkpoint holds epoch \d of 5: run the same command again to continue/);
  assert.ok(!existsSync(join(out, 'qat.json')), 'no QAT report for the interrupted QAT');
  const recorded = runReportSchema.parse(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')));
  assert.deepEqual(statuses(recorded), ['calibrate:ran', 'sensitivity:ran', 'partial:ran', 'qat:interrupted']);
  assert.equal(recorded.final.metBudget, false);
  assert.match(recorded.final.message, /^interrupted during QAT; the best model so far \(partial\)/);
  checkFinal(out, recorded);
  const saved = readCheckpoint(join(out, 'qat.checkpoint')).state.epoch;

  const again = run(config, out);
  assert.deepEqual(statuses(again.report), ['calibrate:reused', 'sensitivity:reused', 'partial:reused', 'qat:ran']);
  const qat = qatReportSchema.parse(JSON.parse(readFileSync(join(out, 'qat.json'), 'utf8')));
  assert.equal(qat.resumedFrom, saved, 'QAT continued from the checkpoint');
  assert.doesNotMatch(again.stderr, /epoch 1\/5/, 'completed epochs are not trained again');
  checkFinal(out, again.report);
});
