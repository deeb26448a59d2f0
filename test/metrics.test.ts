// The accuracy-and-budget concept (src/metrics/): drops in the metric's
// direction, the one tolerance, and the built-in scorer against FP32 on
// real digits in onnxruntime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { loadDataset } from '../src/data/dataset.js';
import { loadLabels } from '../src/data/labels.js';
import { AGREEMENT, atMost, classificationMetric, dropOf, lowerDrop, TOP1 } from '../src/metrics/metric.js';
import { OutputScorer } from '../src/metrics/output-scorer.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

test('drops follow the metric: higher-is-better falls, lower-is-better (an error rate) rises', () => {
  assert.equal(dropOf(TOP1, 97, 96.5), 0.5);
  assert.equal(dropOf({ higherIsBetter: false }, 3.0, 4.25), 1.25, 'CER 3.0 -> 4.25 is a drop of 1.25 points');
  assert.equal(dropOf({ higherIsBetter: false }, 3.0, 2.0), -1);
  assert.equal(classificationMetric(true), TOP1);
  assert.equal(classificationMetric(false), AGREEMENT);
});

test('budgets compare up to rounding: 100 - 99.9 is within 0.1, 0.51 is not within 0.5', () => {
  assert.ok(atMost(100 - 99.9, 0.1), `${100 - 99.9} counts as 0.1`);
  assert.ok(!atMost(0.51, 0.5));
  assert.ok(!lowerDrop(0.1 + 0.2, 0.3), 'equal up to rounding is not lower');
  assert.ok(lowerDrop(0.29, 0.3));
});

test('the built-in scorer: FP32 against itself, and an INT8 model against FP32 on real digits', async () => {
  const mlp = repoPath('samples', 'mlp', 'model.onnx');
  const fp32 = loadModel(mlp);
  const x = repoPath('samples', 'digits', 'eval_x.npy');
  const y = repoPath('samples', 'digits', 'eval_y.npy');
  const ds = loadDataset(x, graphInputs(fp32.model.graph!));
  const labels = loadLabels(y, ds.count);

  const agreement = await OutputScorer.create(fp32.bytes, mlp, ds, { batchSize: 64 });
  assert.equal(agreement.metric, AGREEMENT);
  assert.equal(agreement.fp32, 100);
  const self = await agreement.score(fp32.bytes, mlp);
  assert.deepEqual([self.value, self.drop, self.sqnrDb, self.top1], [100, 0, null, null]);

  const top1 = await OutputScorer.create(fp32.bytes, mlp, ds, { batchSize: 64, labels, labelsPath: y });
  assert.equal(top1.metric, TOP1);
  assert.ok(top1.fp32 > 90 && top1.fp32 === top1.fp32Top1, `FP32 top-1 ${top1.fp32}`);

  const out = tempDir();
  const r = runQtool(['calibrate', mlp, '--data', repoPath('samples', 'digits', 'calib_x.npy'), '--method', 'max', '--per-tensor', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const int8 = await top1.score(new Uint8Array(readFileSync(join(out, 'model.int8.onnx'))), 'int8');
  assert.equal(int8.drop, top1.fp32 - int8.value);
  assert.equal(int8.value, int8.top1);
  assert.equal(top1.scorePredictions(int8.predictions), int8.value, 'predictions made elsewhere score the same');
  assert.ok(int8.sqnrDb !== null && int8.sqnrDb > 15 && int8.sqnrDb < 80, `INT8 output SQNR ${int8.sqnrDb} dB`);
  assert.ok(int8.agreement! > 90 && int8.agreement! <= 100);
});
