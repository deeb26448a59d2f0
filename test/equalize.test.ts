// Cross-layer equalization (the equalize pass): the FP32 function is
// unchanged in onnxruntime, the paired layers' per-channel weight ranges
// match, and on the outlier ResNet (one channel rescaled 50x, which costs
// per-tensor max calibration dozens of points) PTQ gets back to FP32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { encodeModel, loadModel } from '../src/onnx/model.js';
import { graphInputs, initializerMap } from '../src/onnx/graph.js';
import { tensorToArray } from '../src/onnx/tensor.js';
import { loadDataset } from '../src/data/dataset.js';
import { collectOutputs } from '../src/runtime/outputs.js';
import { equalize } from '../src/quant/passes/equalize.js';
import { foldBatchNormReport } from '../src/quant/passes/fold-batchnorm.js';
import { calibrate } from '../src/stages/calibrate/calibrate.js';
import { parseMethods } from '../src/calib/methods.js';
import { repoPath, tempDir } from './lib/helpers.js';
import { makeOutlierModel, OUTLIER } from './lib/outlier.js';
import { headNpy } from './lib/npy-write.js';

test('only exact pairs: none through GELU (mlp) or ReLU6 (mobilenet), whose caps do not scale per channel', () => {
  for (const name of ['mlp', 'mobilenet']) {
    const eq = equalize(foldBatchNormReport(loadModel(repoPath('samples', name, 'model.onnx')).model).model);
    assert.deepEqual(eq.pairs, [], name);
  }
});

for (const [name, data] of [['resnet', 'mnist']] as const) {
  test(`${name}: equalization leaves the FP32 outputs unchanged in onnxruntime`, async () => {
    const fp32 = loadModel(repoPath('samples', name, 'model.onnx'));
    const folded = foldBatchNormReport(fp32.model).model;
    const eq = equalize(folded);
    assert.ok(eq.pairs.length >= 5, `${eq.pairs.length} pairs`);
    assert.ok(eq.rounds > 0);
    for (const p of eq.pairs) assert.ok(p.spreadAfter <= p.spreadBefore * 1.0001, `${p.first}: channel spread ${p.spreadBefore} -> ${p.spreadAfter}`);
    const ds = loadDataset(repoPath('samples', data, 'calib_x.npy'), graphInputs(fp32.model.graph!));
    const opts = { batchSize: 64, limit: 256 };
    const a = await collectOutputs(fp32.bytes, 'fp32', ds, opts);
    const b = await collectOutputs(encodeModel(eq.model), 'equalized', ds, opts);
    let maxAbs = 0;
    let diff = 0;
    for (let i = 0; i < a.values.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a.values[i]!));
      diff = Math.max(diff, Math.abs(a.values[i]! - b.values[i]!));
    }
    assert.ok(diff <= 1e-4 * maxAbs, `${name}: largest output difference ${diff} (outputs up to ${maxAbs})`);
  });
}

test('a rescaled channel is equalized: both layers of the pair end with matching per-channel ranges', () => {
  const dir = tempDir();
  const model = join(dir, 'outlier.onnx');
  const { next } = makeOutlierModel(repoPath('samples', 'resnet', 'model.onnx'), model, OUTLIER);
  const eq = equalize(loadModel(model).model);
  const pair = eq.pairs.find((p) => p.first === OUTLIER.conv)!;
  assert.equal(pair.second, next);
  assert.ok(pair.spreadBefore > 40 && pair.spreadAfter < 10, `spread ${pair.spreadBefore} -> ${pair.spreadAfter}`);
  const inits = initializerMap(eq.model.graph!);
  const node = (n: string) => eq.model.graph!.node!.find((x) => x.name === n)!;
  const w1 = tensorToArray(inits.get(node(OUTLIER.conv).input![1]!)!);
  const w2 = tensorToArray(inits.get(node(next).input![1]!)!);
  const [c1, per1] = [w1.dims[0]!, w1.data.length / w1.dims[0]!];
  const [cout, cin] = [w2.dims[0]!, w2.dims[1]!];
  const spatial = w2.data.length / (cout * cin);
  for (let c = 0; c < c1; c++) {
    let r1 = 0;
    let r2 = 0;
    for (let i = c * per1; i < (c + 1) * per1; i++) r1 = Math.max(r1, Math.abs(Number(w1.data[i])));
    for (let o = 0; o < cout; o++) for (let k = 0; k < spatial; k++) r2 = Math.max(r2, Math.abs(Number(w2.data[(o * cin + c) * spatial + k])));
    // The last layer of a chain is not shared, so the pair's ranges meet only up to the other pairs' pull.
    assert.ok(Math.abs(Math.log(r1 / r2)) < 0.5, `channel ${c}: ${r1} vs ${r2}`);
  }
});

test('the outlier ResNet: per-tensor max PTQ loses dozens of points, and --equalize brings it within 0.5 of FP32', async () => {
  const dir = tempDir();
  const model = join(dir, 'outlier.onnx');
  makeOutlierModel(repoPath('samples', 'resnet', 'model.onnx'), model, OUTLIER);
  const mnist = (f: string) => repoPath('samples', 'mnist', f);
  const evalX = headNpy(mnist('eval_x.npy'), join(dir, 'eval_x.npy'), 1000);
  const evalY = headNpy(mnist('eval_y.npy'), join(dir, 'eval_y.npy'), 1000);
  const run = async (equalize: boolean) => (await calibrate(
    { model, data: mnist('calib_x.npy'), eval: evalX, labels: evalY },
    { methods: parseMethods('max', []), perChannel: false, activationType: 'uint8', select: 'max', equalize, batchSize: 64, outDir: join(dir, String(equalize)) },
  )).report;
  const plain = await run(false);
  const eq = await run(true);
  const drop = (r: typeof plain) => r.methods[0]!.drop!;
  console.log(`# outlier ResNet, per-tensor max on 1000 digits: FP32 ${plain.fp32.top1}%, drop ${drop(plain).toFixed(2)} without, ${drop(eq).toFixed(2)} with --equalize`);
  assert.ok(drop(plain) > 10, `without equalization the drop is ${drop(plain)}`);
  assert.ok(drop(eq) <= 0.5, `with equalization the drop is ${drop(eq)}`);
});
