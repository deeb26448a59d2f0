// The recommended workflow on a real model (examples/ocr-rec-run.json):
// `qtool run` on PaddleOCR's PP-OCRv4 recognizer with the user's own metric
// (examples/ocr-exact-match.mjs: exact match after CTC greedy decoding on
// samples/ocr/rec_eval) and a 1-point budget. The run decides on rec_eval; the
// final model is then checked on rec_test, 300 lines no stage saw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { lastNumber } from '../../src/metrics/command-scorer.js';
import { repoPath, repoRoot, tempDir } from '../lib/helpers.js';
import { run } from '../lib/qtool-run.js';

const REC = repoPath('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_rec_infer.onnx');

/** The example's metric script on `split` (eval or test) of samples/ocr. */
function exactMatch(model: string, split: 'eval' | 'test'): number {
  const r = spawnSync(process.execPath, [repoPath('examples', 'ocr-exact-match.mjs'), model, repoPath('samples', 'ocr', `rec_${split}.npz`), repoPath('samples', 'ocr', `rec_${split}.txt`)],
    { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return lastNumber(r.stdout)!;
}

test('PP-OCRv4 recognizer: qtool run with an exact-match metric command meets a 1-point budget, and holds it on held-out lines', () => {
  const out = join(tempDir(), 'out');
  const { code, report } = run(repoPath('examples', 'ocr-rec-run.json'), out);
  assert.equal(code, 0, report.final.message);
  assert.equal(report.metric, 'exact-match');
  assert.equal(report.fp32.accuracy, exactMatch(REC, 'eval'), 'FP32 scored by the same script');
  assert.ok(report.final.drop <= 1 + 1e-9, report.final.message);
  const calibrate = report.stages.find((s) => s.name === 'calibrate')!;
  assert.ok(calibrate.drop! > 1, `PTQ alone (${calibrate.drop}) should miss the budget, or this test shows nothing beyond calibrate`);
  assert.ok(report.metricCommand && report.metricCommand.runs > 0);

  // Held out: the lines of rec_test entered no decision of the run.
  const fp32Test = exactMatch(REC, 'test');
  const finalTest = exactMatch(join(out, report.final.model), 'test');
  assert.ok(fp32Test - finalTest <= 1 + 1e-9, `on rec_test: FP32 ${fp32Test}, ${report.final.stage}'s model ${finalTest}`);
});
