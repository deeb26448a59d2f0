// qat-finetune on every bundled sample as a user runs it: calibrate, a short
// fine-tune, and the exported INT8 model's accuracy in onnxruntime within 0.3
// points of the trained tfjs fake-quant model's on the evaluation data
// (qat-finetune itself exits 1 when parity fails; the test reads the report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { qatReportSchema, type QatReport } from '../../src/report/schemas/qat.js';
import { repoPath, runQtool, tempDir } from '../lib/helpers.js';
import { headNpy } from '../lib/npy-write.js';
import { readNpy } from '../../src/data/npy.js';

interface ManifestModel { model: string; data: Record<string, string> }
const manifest = JSON.parse(readFileSync(repoPath('samples', 'manifest.json'), 'utf8')) as { models: Record<string, ManifestModel> };
/** Training samples per model: 20 steps of 32, enough to move every weight. */
const TRAIN = 640;
const EVAL = 1000;
const lines: string[] = [];

for (const [name, m] of Object.entries(manifest.models)) {
  test(`${name}: calibrate, 20 QAT steps, exported INT8 model within 0.3 points of the tfjs fake-quant model`, () => {
    const dir = tempDir(`qtool-qat-${name}-`);
    const d = (k: string, n: number) => headNpy(repoPath(m.data[k]!), join(dir, `${k}.npy`), Math.min(n, readNpy(repoPath(m.data[k]!)).shape[0]!));
    const [trainX, trainY, evalX, evalY] = [d('train_x', TRAIN), d('train_y', TRAIN), d('eval_x', EVAL), d('eval_y', EVAL)];
    const cal = runQtool(['calibrate', repoPath(m.model), '--data', repoPath(m.data.calib_x!), '--method', 'mse', '--out', join(dir, 'cal')]);
    assert.equal(cal.code, 0, cal.stderr);
    const r = runQtool(['qat-finetune', repoPath(m.model), '--calibration', join(dir, 'cal', 'calibration.json'),
      '--train', trainX, '--train-labels', trainY, '--epochs', '1', '--lr', '1e-4', '--eval', evalX, '--labels', evalY, '--json', '--out', join(dir, 'qat')]);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const rep: QatReport = qatReportSchema.parse(JSON.parse(r.stdout));
    const p = rep.parity;
    lines.push(`${name}: ${rep.steps} steps, BN folded ${rep.batchNormFolded}; tfjs ${p.tfjs}% vs onnxruntime ${p.onnxruntime}% (gap ${p.gap.toFixed(2)}, ${p.disagreements} of ${p.samples} differ); FP32 ${rep.accuracy!.fp32}%`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rep.steps, TRAIN / 32);
    assert.ok(p.ok && p.gap <= 0.3, `${name}: parity gap ${p.gap}`);
    assert.ok(rep.accuracy!.fp32 - p.onnxruntime <= 1, `${name}: the QAT model in onnxruntime ${p.onnxruntime}% vs FP32 ${rep.accuracy!.fp32}%`);
  });
}

test.after(() => {
  if (lines.length) console.log(lines.map((l) => `# ${l}`).join('\n'));
});
