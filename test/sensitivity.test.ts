// `qtool sensitivity` on a network with an outlier channel (made from the
// trained ResNet sample, see lib/outlier.ts) and on the MLP sample: real
// onnxruntime sessions, one variant per layer and mode.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/onnx/model.js';
import { createSession, ort } from '../src/runtime/session.js';
import { readNpy } from '../src/data/npy.js';
import { sensitivityReportSchema, type SensitivityReport } from '../src/report/schemas/sensitivity.js';
import { buildRecipeModel, layerTensors, onlyLayers, withFloatLayers } from '../src/quant/recipe.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { proxyGraph } from '../src/stages/sensitivity/proxy.js';
import { repoPath, runQtool, tempDir, expectBadInput } from './lib/helpers.js';
import { OUTLIER, setupOutlierCase, type OutlierCase } from './lib/outlier.js';

const RESNET = repoPath('samples', 'resnet', 'model.onnx');
const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);

let c: OutlierCase;
/** calibration.json of the MLP sample: another model's, for the outlier model. */
let mlpCalibration: string;
before(() => {
  c = setupOutlierCase(tempDir());
  const dir = tempDir();
  const r = runQtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max', '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  mlpCalibration = join(dir, 'calibration.json');
});

function sensitivityJson(args: string[]): SensitivityReport {
  const out = tempDir();
  const r = runQtool(['sensitivity', ...args, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = sensitivityReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(sensitivityReportSchema.parse(JSON.parse(readFileSync(join(out, 'sensitivity.json'), 'utf8'))), report);
  return report;
}

async function logits(path: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await createSession(loadModel(path).bytes, path);
  const y = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  await s.release();
  return y[s.outputNames[0]].data as Float32Array;
}

test('the outlier model computes what the trained sample computes (onnxruntime)', async () => {
  const a = readNpy(c.evalX);
  const x = Float32Array.from(a.data as Uint8Array);
  const ref = await logits(RESNET, x, a.shape);
  const out = await logits(c.model, x, a.shape);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ref[i] - out[i]));
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
  }
  assert.ok(maxDiff <= 1e-4 * maxAbs, `logits differ by ${maxDiff} (max |logit| ${maxAbs})`);
  // ...while one channel's weights are now 50x the rest.
  const w = (p: string) => loadModel(p).model.graph!.initializer!.find((t) => t.name === 'onnx::Conv_155')!;
  assert.notDeepEqual(w(RESNET).raw_data, w(c.model).raw_data);
});

test('a layer is its op with the Q/DQ pairs on its inputs and output: fallback drops them, quantize keeps only them', () => {
  const q = loadCalibratedModel(loadModel(c.model), c.calibration).recipe;
  const conv = q.plan.layers.find((l) => l.name === OUTLIER.conv)!;
  const input = '/stem/stem.2/Relu_output_0';
  const output = '/stages/stages.0/Relu_output_0'; // the Relu after the conv, folded into its output range
  assert.deepEqual(layerTensors(q.plan, conv), [input, output]);
  assert.ok(q.plan.folded.some((f) => f.to === output));

  const fallbackRecipe = withFloatLayers(q, [conv.name]);
  const fallback = fallbackRecipe.plan;
  assert.equal(fallback.layers.length, q.plan.layers.length - 1);
  assert.deepEqual(q.plan.tensors.filter((t) => !fallback.tensors.includes(t)), [input, output]);
  // Without their Q/DQ pairs, the Relus are ops again.
  assert.ok(!fallback.folded.some((f) => f.to === input || f.to === output));
  const g = buildRecipeModel(fallbackRecipe).graph!;
  const n = g.node!.find((x) => x.name === conv.name)!;
  assert.deepEqual(n.input, [input, conv.weight, conv.bias]);
  assert.ok(g.node!.some((x) => x.op_type === 'Relu' && x.output![0] === output));
  assert.ok(!g.node!.some((x) => x.op_type === 'QuantizeLinear' && (x.input![0] === input || x.input![0] === output)));

  const onlyRecipe = onlyLayers(q, [conv.name]);
  const only = onlyRecipe.plan;
  assert.deepEqual(only.layers.map((l) => l.name), [conv.name]);
  assert.deepEqual(only.tensors, [input, output]);
  const qg = buildRecipeModel(onlyRecipe).graph!;
  assert.equal(qg.node!.filter((x) => x.op_type === 'QuantizeLinear').length, 2);
  assert.equal(qg.node!.filter((x) => x.op_type === 'DequantizeLinear').length, 2 + 2, 'two activations, the weight and the bias');
});

test('fallback and quantize both rank the rescaled pair first, and so does the proxy', () => {
  const r = sensitivityJson([c.model, '--calibration', c.calibration, '--data', c.evalX, '--labels', c.evalY, '--mode', 'both']);
  assert.equal(r.metric, 'top1');
  assert.deepEqual(r.modes, ['fallback', 'quantize']);
  assert.equal(r.layers.length, 16);
  assert.equal(r.timings.variants, 32);
  assert.ok(r.quantized.drop! > 5, `per-tensor INT8 drop ${r.quantized.drop} should be several points`);
  assert.deepEqual([...r.layers.map((l) => l.rank)].sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i + 1));

  const pair = [OUTLIER.conv, c.next].sort();
  assert.deepEqual(r.ranking.slice(0, 2).sort(), pair);
  const layer = (n: string) => r.layers.find((l) => l.name === n)!;
  for (const n of pair) {
    // Either layer in float removes the outlier activation's Q/DQ pair: most of the drop comes back.
    assert.ok(layer(n).fallback!.impact > r.quantized.drop! / 2, `${n} recovers ${layer(n).fallback!.impact}`);
    assert.ok(layer(n).quantize!.impact > 5, `${n} alone loses ${layer(n).quantize!.impact}`);
  }
  for (const l of r.layers.filter((x) => !pair.includes(x.name))) {
    assert.ok(Math.abs(l.quantize!.impact) < 2, `${l.name} alone loses ${l.quantize!.impact}`);
    assert.ok(l.fallback!.impact < 5, `${l.name} recovers ${l.fallback!.impact}`);
  }
  // The proxy: one run, per-channel SQNR of each layer's own quantization.
  assert.deepEqual(r.proxyRanking.slice(0, 2).sort(), pair);
  for (const l of r.layers) {
    if (pair.includes(l.name)) assert.ok(l.proxy.localSqnrDb! < 15, `${l.name} own SQNR ${l.proxy.localSqnrDb}`);
    else assert.ok(l.proxy.localSqnrDb! > 25, `${l.name} own SQNR ${l.proxy.localSqnrDb}`);
    assert.equal(l.proxy.outputSqnrDb, undefined, 'no FP32 copy runs: the output SQNR against FP32 is not written');
  }
  assert.ok(r.timings.proxySeconds > 0 && r.timings.fp32PassSeconds > 0 && r.timings.medianVariantSeconds! > 0);
});

test('the proxy graph: the quantized model, float weights of its layers, shadows and probes, last probe first', () => {
  const { recipe } = loadCalibratedModel(loadModel(MLP), mlpCalibration);
  const qdq = buildRecipeModel(recipe);
  const before = { nodes: qdq.graph!.node!.length, inits: qdq.graph!.initializer!.length };
  const { model, sums } = proxyGraph(recipe, qdq);
  const g = model.graph!;
  const layers = recipe.plan.layers;
  assert.deepEqual({ nodes: qdq.graph!.node!.length, inits: qdq.graph!.initializer!.length }, before, 'the caller\'s model is left alone');
  // No FP32 copy: only the layers' weights and biases are added, in float.
  const params = layers.flatMap((l) => (l.bias ? [l.weight, l.bias] : [l.weight]));
  const added = g.initializer!.filter((t) => t.name!.startsWith('qtool_float/'));
  assert.deepEqual(added.map((t) => t.name).sort(), params.map((p) => `qtool_float/${p}`).sort());
  assert.ok(added.every((t) => t.data_type === 1));
  assert.equal(g.node!.filter((n) => n.name!.endsWith('__qtool_shadow')).length, layers.length);
  assert.deepEqual(g.output!.map((o) => o.name), sums.flatMap((s) => [s.signal, s.noise]));
  // ORT walks back from the last node nothing reads first: the first layer's probe must come last.
  const at = (name: string) => g.node!.findIndex((n) => n.output![0] === name);
  assert.ok(layers.length > 1);
  for (let i = 1; i < sums.length; i++) assert.ok(at(sums[i - 1].noise) > at(sums[i].noise), `probe ${i - 1} after probe ${i}`);
});

test('without labels the metric is agreement; --metric sqnr gives each layer its share of the output noise', () => {
  const args = [MLP, '--calibration', mlpCalibration, '--data', DIGITS('eval_x.npy')];

  const a = sensitivityJson([...args, '--mode', 'fallback']);
  assert.equal(a.metric, 'agreement');
  assert.equal(a.fp32.top1, null);
  assert.equal(a.quantized.top1, null);
  for (const l of a.layers) {
    assert.equal(l.fallback!.top1, null);
    assert.equal(l.fallback!.impact, l.fallback!.agreement! - a.quantized.agreement!);
    assert.equal(l.quantize, null);
  }

  const s = sensitivityJson([...args, '--mode', 'quantize', '--metric', 'sqnr']);
  assert.equal(s.impactUnit, '% of output noise');
  const shares = s.layers.map((l) => l.quantize!.impact);
  for (const v of shares) assert.ok(v > 0 && v < 100, `share ${v}`);
  // Quantization noise from different layers adds up (to first order).
  const total = shares.reduce((x, y) => x + y, 0);
  assert.ok(total > 60 && total < 160, `shares sum to ${total} %`);
  // The ranking follows the shares.
  assert.deepEqual(s.ranking, [...s.layers].sort((x, y) => y.quantize!.impact - x.quantize!.impact).map((l) => l.name));
});


test('bad input: one line, exit 2, nothing written', () => {
  const dir = tempDir();
  const data = ['--data', c.evalX, '--labels', c.evalY];
  expectBadInput('sensitivity', [c.model, '--calibration', mlpCalibration, ...data], /calibration\.json: was made for another model \(.*mlp/);
  expectBadInput('sensitivity', [c.model, '--calibration', join(dir, 'missing.json'), ...data], /missing\.json: no such file/);
  const notJson = join(dir, 'broken.json');
  writeFileSync(notJson, '{"schema": "qtool/calibration@1", ');
  expectBadInput('sensitivity', [c.model, '--calibration', notJson, ...data], /broken\.json: not valid JSON/);
  expectBadInput('sensitivity', [c.model, '--calibration', join(mlpCalibration, '..', 'calibrate.json'), ...data], /calibrate\.json: not a valid report: schema/);
  expectBadInput('sensitivity', [c.model, '--calibration', c.calibration, '--data', DIGITS('eval_x.npy')], /eval_x\.npy: .*does not fit input 'input'/);
  expectBadInput('sensitivity', [c.model, '--calibration', c.calibration, '--data', c.evalX, '--metric', 'top1'], /--metric top1 needs --labels/);
  expectBadInput('sensitivity', [c.model, '--calibration', c.calibration, ...data, '--mode', 'all'], /--mode: expected fallback, quantize or both/);
  expectBadInput('sensitivity', [c.model, '--calibration', c.calibration, ...data, '--max-samples', '-5'], /--max-samples takes a positive whole number/);
});
