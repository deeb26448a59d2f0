// The bundled samples as a user meets them: `qtool eval` reproduces the FP32
// accuracy that PyTorch's export script measured with onnxruntime, and the
// best calibration method keeps INT8 within 0.3 points of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evalReportSchema } from '../../src/report/schemas/eval.js';
import { calibrateReportSchema } from '../../src/report/schemas/calibrate.js';
import { repoPath, runQtool, tempDir } from '../lib/helpers.js';

interface ManifestModel { model: string; eval_top1: number; data: Record<string, string> }
const manifest = JSON.parse(readFileSync(repoPath('samples', 'manifest.json'), 'utf8')) as { models: Record<string, ManifestModel> };

for (const [name, m] of Object.entries(manifest.models)) {
  test(`${name}: eval prints the recorded FP32 accuracy (${m.eval_top1} %)`, () => {
    const r = runQtool(['eval', repoPath(m.model), '--data', repoPath(m.data.eval_x), '--labels', repoPath(m.data.eval_y), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rep = evalReportSchema.parse(JSON.parse(r.stdout));
    assert.ok(Math.abs(rep.top1! - m.eval_top1) <= 0.05, `${rep.top1} vs ${m.eval_top1}`);
  });

  test(`${name}: the best calibration method keeps INT8 within 0.3 points of FP32`, () => {
    const r = runQtool([
      'calibrate', repoPath(m.model), '--data', repoPath(m.data.calib_x), '--eval', repoPath(m.data.eval_x), '--labels', repoPath(m.data.eval_y),
      '--method', 'max,percentile,mse', '--percentile', '99.999', '--select', 'best', '--out', tempDir(), '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rep = calibrateReportSchema.parse(JSON.parse(r.stdout));
    assert.ok(Math.abs(rep.fp32.top1! - m.eval_top1) <= 0.05);
    const best = rep.methods.find((x) => x.method === rep.selected.method)!;
    assert.ok(best.drop! <= 0.3, `${name}: ${best.method} drops ${best.drop} points`);
  });
}
