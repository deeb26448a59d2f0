// The calibration pass (src/calib/collect.ts) on the BERT fixture: batches cut
// by the byte budget of exposed tensors give the same statistics as one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, encodeModel } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { loadDataset } from '../src/data/dataset.js';
import { prepareRecipe } from '../src/quant/recipe.js';
import { collectHistograms } from '../src/calib/collect.js';
import { DEFAULT_PERCENTILES, parseMethods } from '../src/calib/methods.js';
import { assignQParams } from '../src/stages/calibrate/assign.js';
import { repoPath } from './lib/helpers.js';

const BERT = (f: string) => repoPath('test', 'fixtures', 'bert-tiny', f);

test('calibration pass: a byte budget below one sample runs batches of 1; histograms and every method\'s ranges bit-identical to batches of 64', async () => {
  const fp32 = loadModel(BERT('model.onnx'));
  const prepared = prepareRecipe(fp32.model, { passes: [], activationType: 'uint8' });
  const bytes = encodeModel(prepared.model);
  const ds = loadDataset(BERT('calib.npz'), graphInputs(fp32.model.graph!));
  const tensors = prepared.plan.tensors;
  const whole = await collectHistograms(bytes, prepared.model, fp32.path, ds, tensors, { batchSize: 64, batchBytes: 2 ** 40 });
  const tiny = await collectHistograms(bytes, prepared.model, fp32.path, ds, tensors, { batchSize: 64, batchBytes: 1 });
  assert.equal(whole.batchSize, 64);
  assert.equal(tiny.batchSize, 1);
  assert.ok(tensors.length > 50, `${tensors.length} planned tensors`);
  // The attention masks (-inf) are among them: the non-finite path is exercised too.
  assert.ok(tensors.some((t) => whole.histograms.get(t)!.nonFinite > 0));
  let unbatched = 0;
  for (const t of tensors) {
    const [a, b] = [tiny.histograms.get(t)!, whole.histograms.get(t)!];
    if (a.count === b.count) {
      assert.deepEqual(a.toJSON(), b.toJSON(), t);
      continue;
    }
    // A tensor without a batch axis (the position embeddings, [1, seq, hidden]) is counted once per
    // session.run: the same values, so the same histogram up to one factor, and the same ranges.
    unbatched++;
    const factor = a.count / b.count;
    assert.equal(factor, 64 / 2, t); // 64 runs of 1 sample against the first sample alone and then 63
    assert.deepEqual([a.min, a.max, a.range], [b.min, b.max, b.range], t);
    assert.deepEqual(Array.from(a.bins), Array.from(b.bins, (c) => c * factor), t);
  }
  assert.ok(unbatched < 5, `${unbatched} tensors without a batch axis`);
  for (const method of parseMethods('all', DEFAULT_PERCENTILES)) {
    const plan = { tensors, sharedScale: prepared.plan.sharedScale, fixedRange: prepared.plan.fixedRange };
    assert.deepEqual(assignQParams(tiny.histograms, plan, method, 'uint8'), assignQParams(whole.histograms, plan, method, 'uint8'), method.id);
  }
});
