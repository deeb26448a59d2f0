// `qtool run`: the decision policy on its own, then end to end on the MLP: a
// sample that PTQ handles stops at calibrate, a re-run reuses it, a changed
// option or a touched artifact re-runs it; a config without evaluation data
// is refused. The runs that go on past calibrate are in
// e2e/run-escalation.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterCalibrate, afterPartial, pickFinal, unitsWithin } from '../src/stages/run/decide.js';
import { expectBadInput, repoPath, tempDir } from './lib/helpers.js';
import { checkFinal, run, statuses, writeConfig } from './lib/qtool-run.js';

const DIGITS = (f: string) => repoPath('samples', 'digits', f);

// ---------------------------------------------------------------- the policy

test('decide: PTQ within the budget stops; partial over the budget or the float-layer cap goes on to QAT', () => {
  assert.equal(afterCalibrate(0.5, { maxDrop: 0.5 }), null);
  assert.match(afterCalibrate(0.51, { maxDrop: 0.5 })!, /drops 0\.51 points \(> budget 0\.5\)/);
  assert.match(afterCalibrate(31, { maxDrop: 30, unit: 'dB' })!, /drops 31\.00 dB \(> budget 30\)/, 'an SQNR budget counts dB');
  assert.deepEqual(afterPartial({ drop: 0.2, floatLayers: 2 }, { maxDrop: 0.5 }), { qat: null, startFloatLayers: 2 });
  assert.deepEqual(afterPartial({ drop: 0.2, floatLayers: 2 }, { maxDrop: 0.5, maxFloatLayers: 2 }), { qat: null, startFloatLayers: 2 });
  const capped = afterPartial({ drop: 0.2, floatLayers: 3 }, { maxDrop: 0.5, maxFloatLayers: 1 });
  assert.equal(capped.startFloatLayers, 1);
  assert.match(capped.qat!, /needs 3 float layers \(> partial\.maxFloatLayers 1\)/);
  const short = afterPartial({ drop: 2, floatLayers: 5 }, { maxDrop: 0.5 });
  assert.equal(short.startFloatLayers, 5);
  assert.match(short.qat!, /still drops 2\.00 points/);
});

test('decide: partial.maxFloatLayers counts layers; the capped start keeps the whole units that fit', () => {
  assert.deepEqual(unitsWithin([1, 1, 1], 2), { units: 2, layers: 2 }, 'per layer: units are layers');
  // Groups of 6, 6 and 1 layers under a cap of 10: the first group only, not 10 groups nor the third.
  assert.deepEqual(unitsWithin([6, 6, 1], 10), { units: 1, layers: 6 });
  assert.deepEqual(unitsWithin([6, 6, 1], 12), { units: 2, layers: 12 });
  assert.deepEqual(unitsWithin([6, 1], 5), { units: 0, layers: 0 }, 'a first group larger than the cap: QAT starts fully quantized');
  assert.deepEqual(unitsWithin([2, 2], 100), { units: 2, layers: 4 });
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

test('run needs evaluation data', () => {
  const noEval = writeConfig(tempDir(), { model: repoPath('samples', 'mlp', 'model.onnx'), data: { calibration: DIGITS('calib_x.npy') }, maxDrop: 0.5 });
  expectBadInput('run', [noEval], /config\.json: data\.eval: missing/);
});
