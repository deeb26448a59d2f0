// `qtool run`: the decision policy on its own, then end to end: a sample that
// PTQ handles stops at calibrate, a re-run reuses it, a changed option or a
// touched artifact re-runs it, the outlier network goes on to partial, a
// budget nothing meets exits 1 with the best model written, and Ctrl-C during
// QAT leaves a checkpoint the next run resumes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../src/util/files.js';
import { runReportSchema, type RunReport } from '../src/report/schemas/run.js';
import { afterCalibrate, afterPartial, pickFinal } from '../src/stages/run/decide.js';
import { expectBadInput, interruptAt, repoPath, runQtool, tempDir } from './lib/helpers.js';
import { readCheckpoint } from '../src/qat/checkpoint.js';
import { qatReportSchema } from '../src/report/schemas/qat.js';
import { headNpy } from './lib/npy-write.js';
import { makeAddOutlierModel, makeOutlierModel, OUTLIER } from './lib/outlier.js';

const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const MNIST = (f: string) => repoPath('samples', 'mnist', f);

// ---------------------------------------------------------------- the policy

test('decide: PTQ within the budget stops; partial over the budget or the float-layer cap goes on to QAT', () => {
  assert.equal(afterCalibrate(0.5, { maxDrop: 0.5 }), null);
  assert.match(afterCalibrate(0.51, { maxDrop: 0.5 })!, /drops 0\.51 points \(> budget 0\.5\)/);
  assert.deepEqual(afterPartial({ drop: 0.2, floatLayers: 2 }, { maxDrop: 0.5 }), { qat: null, startFloatLayers: 2 });
  assert.deepEqual(afterPartial({ drop: 0.2, floatLayers: 2 }, { maxDrop: 0.5, maxFloatLayers: 2 }), { qat: null, startFloatLayers: 2 });
  const capped = afterPartial({ drop: 0.2, floatLayers: 3 }, { maxDrop: 0.5, maxFloatLayers: 1 });
  assert.equal(capped.startFloatLayers, 1);
  assert.match(capped.qat!, /needs 3 float layers \(> partial\.maxFloatLayers 1\)/);
  const short = afterPartial({ drop: 2, floatLayers: 5 }, { maxDrop: 0.5 });
  assert.equal(short.startFloatLayers, 5);
  assert.match(short.qat!, /still drops 2\.00 points/);
});

test('decide: the final model is the earliest within the budget, else the lowest drop', () => {
  const b = { maxDrop: 0.5 };
  const c = (stage: string, drop: number) => ({ stage, drop });
  assert.equal(pickFinal([c('calibrate', 3), c('partial', 0.4), c('qat', 0.1)], b).stage, 'partial');
  assert.equal(pickFinal([c('calibrate', 3), c('partial', 0.9), c('qat', 1.2)], b).stage, 'partial');
  assert.equal(pickFinal([c('calibrate', 1), c('partial', 1)], b).stage, 'calibrate');
  // An ineligible model (too many float layers) is passed over while another exists.
  assert.equal(pickFinal([c('calibrate', 3), c('partial', 0.1), c('qat', 0.9)], b, (x) => x.stage !== 'partial').stage, 'qat');
});

// ---------------------------------------------------------------- end to end

function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

function run(config: string, out: string): { code: number; report: RunReport; stderr: string } {
  const r = runQtool(['run', config, '--out', out, '--json']);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  const report = runReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(runReportSchema.parse(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))), report);
  return { code: r.code, report, stderr: r.stderr };
}

/** The final model is on disk with the recorded hash. */
function checkFinal(out: string, r: RunReport): void {
  assert.equal(sha256(readFileSync(join(out, r.final.model))), r.final.sha256);
}

const statuses = (r: RunReport) => r.stages.map((s) => `${s.name}:${s.status}`);

test('the MLP config stops at calibrate; a re-run reuses it; a changed option or a touched artifact re-runs it', () => {
  const out = tempDir();
  const first = run(repoPath('configs', 'mlp.json'), out);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(statuses(first.report), ['calibrate:ran', 'sensitivity:skipped', 'partial:skipped', 'qat:skipped']);
  assert.equal(first.report.final.stage, 'calibrate');
  assert.equal(first.report.final.model, 'model.int8.onnx');
  assert.ok(first.report.final.metBudget && first.report.final.drop <= 0.5);
  assert.match(first.report.stages[1].reason, /calibrate met the budget/);
  checkFinal(out, first.report);

  const again = run(repoPath('configs', 'mlp.json'), out);
  assert.equal(again.code, 0);
  assert.equal(again.report.stages[0].status, 'reused');
  assert.deepEqual(again.report.stages[0].artifacts, first.report.stages[0].artifacts);
  assert.ok(again.report.stages[0].seconds < first.report.stages[0].seconds, `${again.report.stages[0].seconds} s vs ${first.report.stages[0].seconds} s`);
  assert.deepEqual(again.report.final, first.report.final);

  // Another calibration method: a different fingerprint.
  const config = JSON.parse(readFileSync(repoPath('configs', 'mlp.json'), 'utf8'));
  const dir = tempDir();
  for (const k of Object.keys(config.data)) config.data[k] = repoPath('configs', config.data[k]);
  config.model = repoPath('configs', config.model);
  config.calibrate = { method: 'max' };
  const changed = run(writeConfig(dir, config), out);
  assert.equal(changed.report.stages[0].status, 'ran');
  assert.notEqual(changed.report.stages[0].fingerprint, first.report.stages[0].fingerprint);

  // The same config again, but with the INT8 model changed on disk: not reused.
  writeFileSync(join(out, 'model.int8.onnx'), 'not the model');
  const touched = run(join(dir, 'config.json'), out);
  assert.equal(touched.report.stages[0].status, 'ran');
  checkFinal(out, touched.report);
});

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

test('run needs evaluation data', () => {
  const noEval = writeConfig(tempDir(), { model: repoPath('samples', 'mlp', 'model.onnx'), data: { calibration: DIGITS('calib_x.npy') }, maxDrop: 0.5 });
  expectBadInput('run', [noEval], /config\.json: data\.eval: missing/);
});
