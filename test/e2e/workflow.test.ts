// examples/workflow.sh as CI runs it: the four stages chained through their
// artifacts on a bundled sample, QAT included (QAT=always), ending with an
// INT8 model that onnxruntime runs within the budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/onnx/model.js';
import { partialReportSchema } from '../../src/report/schemas/partial.js';
import { qatReportSchema } from '../../src/report/schemas/qat.js';
import { repoPath, tempDir } from '../lib/helpers.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');

function workflow(env: Record<string, string>) {
  return spawnSync('bash', [repoPath('examples', 'workflow.sh')], {
    cwd: tempDir(), encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
}

test('examples/workflow.sh: calibrate -> sensitivity -> partial -> qat-finetune on the bundled MLP', () => {
  const out = join(tempDir(), 'workflow');
  const r = workflow({ OUT: out, QAT: 'always', EPOCHS: '1' });
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['calibration.json', 'model.int8.onnx', 'sensitivity.json', 'partial.json', 'model.partial.onnx', 'qat.json', 'model.qat.onnx']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const p = partialReportSchema.parse(JSON.parse(readFileSync(join(out, 'partial.json'), 'utf8')));
  const q = qatReportSchema.parse(JSON.parse(readFileSync(join(out, 'qat.json'), 'utf8')));
  const sha = loadModel(MLP).sha256;
  assert.equal(p.model.sha256, sha);
  assert.equal(q.model.sha256, sha);
  assert.deepEqual(q.floatLayers, p.floatLayers, 'QAT starts from the partial result');
  assert.ok(q.parity.ok);
  assert.ok(q.accuracy && q.accuracy.fp32 - q.parity.onnxruntime <= 0.5, `QAT model in onnxruntime: ${q.parity.onnxruntime}% vs FP32 ${q.accuracy?.fp32}%`);
});

test('examples/workflow.sh: stops after partial when the budget is met (QAT=auto)', () => {
  const out = join(tempDir(), 'workflow');
  const met = workflow({ OUT: out });
  assert.equal(met.status, 0, met.stderr);
  assert.ok(existsSync(join(out, 'partial.json')));
  assert.ok(!existsSync(join(out, 'qat.json')), 'no QAT when partial meets the budget');
});
