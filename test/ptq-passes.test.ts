// The data-driven recipe passes: SmoothQuant keeps the FP32 function to float
// tolerance in onnxruntime (the transformer sample, the BERT fixture and the
// outlier transformer) and flattens the outlier channels; bias correction
// keeps it in expectation (each layer's output mean with quantized weights
// moves to the FP32 one on the calibration data); both are recorded in
// calibration.json and replayed by the later stages to the same INT8 model;
// --select best compares the recipe with and without each requested pass;
// a layer kept in float gets its uncorrected bias back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloneModel, encodeModel, loadModel, type Model } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { makeTensor, tensorToArray } from '../src/onnx/tensor.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { collectOutputs } from '../src/runtime/outputs.js';
import { channelStatistics, channelStatKey, type ChannelStatRequest } from '../src/calib/channel-stats.js';
import { applyPasses, fitPasses, PASSES } from '../src/quant/passes/index.js';
import { calibrate } from '../src/stages/calibrate/calibrate.js';
import { parseMethods } from '../src/calib/methods.js';
import type { PassRecord } from '../src/quant/passes/pass.js';
import { findQuantizableLayers } from '../src/quant/quantizable.js';
import { dequantizedLayerWeight } from '../src/quant/qdq.js';
import { buildRecipeBytes, buildRecipeModel, calibratedRecipe, fitRecipe, floatRecipeModel, onlyLayers, withFloatLayers } from '../src/quant/recipe.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';
import { headNpy } from './lib/npy-write.js';
import { makeOutlierModel, makeOutlierTransformer, OUTLIER, OUTLIER_TRANSFORMER } from './lib/outlier.js';
import { calibrateReportSchema, selectedResult } from '../src/report/schemas/calibrate.js';

const MNIST_CALIB = repoPath('samples', 'mnist', 'calib_x.npy');
const TRANSFORMER = repoPath('samples', 'transformer', 'model.onnx');
const BERT = (f: string) => repoPath('test', 'fixtures', 'bert-tiny', f);

const dataFor = (model: Model, path: string) => loadDataset(path, graphInputs(model.graph!));

async function fitted(model: Model, ds: Dataset, passes: { name: string; params: Record<string, unknown> }[], perChannel = true) {
  return fitPasses(model, passes, { data: ds, batchSize: 50, perChannel });
}

/** Largest |a - b| over every output, and the largest |a|. */
async function outputGap(a: Model, b: Model, ds: Dataset, limit: number): Promise<{ diff: number; scale: number }> {
  const opts = { batchSize: 50, limit };
  const [x, y] = [await collectOutputs(encodeModel(a), 'a', ds, opts), await collectOutputs(encodeModel(b), 'b', ds, opts)];
  let diff = 0;
  let scale = 0;
  for (const [k, o] of x.outputs.entries()) {
    for (let i = 0; i < o.values.length; i++) {
      scale = Math.max(scale, Math.abs(o.values[i]!));
      diff = Math.max(diff, Math.abs(o.values[i]! - y.outputs[k]!.values[i]!));
    }
  }
  return { diff, scale };
}

const smoothRecord = (records: PassRecord[]) => records.find((r) => r.name === 'smooth-quant')!;

test('smooth-quant leaves the FP32 outputs of the transformer sample unchanged in onnxruntime', async () => {
  const fp32 = loadModel(TRANSFORMER).model;
  const ds = dataFor(fp32, MNIST_CALIB);
  const r = await fitted(fp32, ds, [{ name: 'smooth-quant', params: {} }]);
  const rec = smoothRecord(r.records);
  assert.equal(rec.params.alpha, 0.5);
  const found = rec.params.groups as { input: string; layers: string[]; scales: number[] }[];
  // Each block's two pre-LayerNorms feed Q/K/V and the MLP; the final one feeds a ReduceMean.
  assert.equal(found.length, 4, found.map((g) => g.input).join(', '));
  // Q, K and V read one LayerNorm output: one group, one scale vector.
  assert.deepEqual(found.map((g) => g.layers.length), [3, 1, 3, 1]);
  assert.ok(found.every((g) => g.scales.some((s) => Math.abs(Math.log(s)) > 0.1)), 'every group is rescaled');
  const { diff, scale } = await outputGap(fp32, r.model, ds, 200);
  assert.ok(diff <= 1e-4 * scale, `largest output difference ${diff} (outputs up to ${scale})`);
});

test('smooth-quant on post-LayerNorm BERT: every LayerNorm output also feeds a residual Add, so no exact fold exists and nothing changes', async () => {
  const fp32 = loadModel(BERT('model.onnx')).model;
  const r = await fitted(fp32, dataFor(fp32, BERT('calib.npz')), [{ name: 'smooth-quant', params: {} }]);
  assert.deepEqual(smoothRecord(r.records).params.groups, []);
  assert.deepEqual(smoothRecord(r.records).effect, { smoothed: [] });
});

test('smooth-quant on the outlier transformer: FP32 unchanged, and the LayerNorm output no longer has outlier channels', async () => {
  const dir = tempDir();
  const model = join(dir, 'outlier.onnx');
  makeOutlierTransformer(TRANSFORMER, model, OUTLIER_TRANSFORMER);
  const fp32 = loadModel(model).model;
  const ds = dataFor(fp32, MNIST_CALIB);
  const r = await fitted(fp32, ds, [{ name: 'smooth-quant', params: { alpha: 0.5 } }]);
  const { diff, scale } = await outputGap(fp32, r.model, ds, 200);
  assert.ok(diff <= 1e-4 * scale, `largest output difference ${diff} (outputs up to ${scale})`);
  const x = `${OUTLIER_TRANSFORMER.layerNorm}_output_0`;
  const req: ChannelStatRequest[] = [{ tensor: x, kind: 'absmax', axis: 'last', channels: 64 }];
  const spread = async (m: Model) => {
    const v = [...(await channelStatistics(m, req, ds, { batchSize: 100, label: 'stats' })).get(channelStatKey(x, 'absmax'))!].sort((a, b) => a - b);
    return v[v.length - 1]! / v[v.length >> 1]!;
  };
  const [before, after] = [await spread(fp32), await spread(r.model)];
  assert.ok(before > 100, `outlier channels: largest/median max|x| ${before}`);
  assert.ok(after < 10, `after smoothing: largest/median max|x| ${after}`);
});

/**
 * The model with every quantizable layer's weight replaced by Q(W) (per
 * tensor), and beside each layer a float twin (`W`, `b` given by layer name)
 * reading the same input: the twin's output is W x~ + b.
 */
function quantizedWithTwins(model: Model, twins?: Map<string, { w: Float32Array; b?: Float32Array }>): Model {
  const m = cloneModel(model);
  const g = m.graph!;
  const layers = findQuantizableLayers(g);
  const byWeight = new Map(layers.map((l) => [l.weight, l]));
  g.initializer = g.initializer!.map((t) => {
    const l = byWeight.get(t.name!);
    return l ? makeTensor(t.name!, 'float32', l.weightDims, dequantizedLayerWeight(l, tensorToArray(t).data as Float32Array, false)) : t;
  });
  for (const l of twins ? layers : []) {
    const t = twins!.get(l.name)!;
    const inputs = [l.node.input![0]!, `${l.name}_twin_w`];
    g.initializer.push(makeTensor(inputs[1]!, 'float32', l.weightDims, t.w));
    if (t.b) { inputs.push(`${l.name}_twin_b`); g.initializer.push(makeTensor(inputs[2]!, 'float32', [t.b.length], t.b)); }
    g.node!.push({ op_type: l.node.op_type, name: `${l.name}_twin`, input: inputs, output: [`${l.name}_twin`], attribute: l.node.attribute });
  }
  return m;
}

test('bias correction keeps each layer\'s output in expectation: E[Q(W) x + b\'] = E[W x + b] on the calibration data, x the input with quantized weights', async () => {
  const fp32 = loadModel(repoPath('samples', 'resnet', 'model.onnx')).model;
  const ds = dataFor(fp32, MNIST_CALIB);
  const folded = applyPasses(fp32, []).model;
  const r = await fitted(fp32, ds, [{ name: 'bias-correction', params: {} }], false);
  const rec = r.records.find((x) => x.name === 'bias-correction')!;
  const residuals = rec.params.residuals as number[];
  assert.equal(rec.params.weights, 'per-tensor');
  assert.ok(residuals.length >= 2 && residuals[residuals.length - 1]! <= 0.01 * residuals[0]!, `rounds converge: ${residuals}`);
  const layers = findQuantizableLayers(folded.graph!);
  assert.equal((rec.params.corrections as unknown[]).length, layers.length, 'every Conv and the Gemm');
  const param = (name?: string) => (name ? tensorToArray(folded.graph!.initializer!.find((t) => t.name === name)!).data as Float32Array : undefined);
  const twins = new Map(layers.map((l) => [l.name, { w: param(l.weight)!, b: param(l.bias) }]));
  const mean = (tensor: string, l: (typeof layers)[number]): ChannelStatRequest => ({ tensor, kind: 'mean', axis: 'second', channels: l.weightDims[l.channelAxis]! });
  const requests = layers.flatMap((l) => [mean(l.node.output![0]!, l), mean(`${l.name}_twin`, l)]);
  const stats = await channelStatistics(quantizedWithTwins(r.model, twins), requests, ds, { batchSize: 100, label: 'means' });
  let gap = 0;
  let shift = 0;
  for (const l of layers) {
    const [q, t] = [stats.get(channelStatKey(l.node.output![0]!, 'mean'))!, stats.get(channelStatKey(`${l.name}_twin`, 'mean'))!];
    const s = (rec.params.corrections as { layer: string; shift: number[] }[]).find((c) => c.layer === l.name)!.shift;
    for (let c = 0; c < q.length; c++) { gap += Math.abs(q[c]! - t[c]!); shift += Math.abs(s[c]!); }
  }
  assert.ok(gap <= 0.02 * shift, `summed |E[Q(W) x + b'] - E[W x + b]| ${gap}, summed |correction| ${shift}`);

  // Through the whole model: each layer's output mean with quantized weights moves towards FP32's.
  const outputs = layers.map((l) => mean(l.node.output![0]!, l));
  const means = (m: Model) => channelStatistics(m, outputs, ds, { batchSize: 100, label: 'means' });
  const [want, plain, corrected] = [await means(folded), await means(quantizedWithTwins(folded)), await means(quantizedWithTwins(r.model))];
  let before = 0;
  let after = 0;
  for (const q of outputs) {
    const k = channelStatKey(q.tensor, 'mean');
    for (let c = 0; c < q.channels; c++) { before += Math.abs(plain.get(k)![c]! - want.get(k)![c]!); after += Math.abs(corrected.get(k)![c]! - want.get(k)![c]!); }
  }
  console.log(`# ResNet sample, per-tensor weights: summed |E[y~] - E[y]| over every layer's channels ${before.toFixed(3)} uncorrected, ${after.toFixed(3)} corrected`);
  assert.ok(after < 0.7 * before, `summed |E[y~] - E[y]|: ${before} uncorrected, ${after} corrected`);
  // A pure replay: the recorded parameters give the same model again.
  const replay = applyPasses(fp32, [{ name: 'bias-correction', params: rec.params }]);
  assert.ok(Buffer.from(encodeModel(replay.model)).equals(Buffer.from(encodeModel(r.model))));
});

test('a layer kept in float gets its FP32 bias back (bias correction undone for it alone); the quantized layers keep their corrections', async () => {
  const fp32 = loadModel(repoPath('samples', 'resnet', 'model.onnx')).model;
  const ds = dataFor(fp32, headNpy(MNIST_CALIB, join(tempDir(), 'calib.npy'), 100));
  const equalize = { name: 'equalize', params: {} };
  const prepared = await fitRecipe(fp32, { passes: [equalize, { name: 'bias-correction', params: {} }], activationType: 'uint8' }, { data: ds, batchSize: 50, perChannel: true });
  const qparams = new Map(prepared.plan.tensors.map((t) => [t, { scale: 0.05, zeroPoint: 128, type: 'uint8' as const }]));
  const recipe = calibratedRecipe(prepared, qparams, { perChannel: true, activationType: 'uint8', method: 'max' });
  const layers = recipe.full.layers;
  // The reference: the same passes without bias correction (BatchNorm folded, layers equalized).
  const plain = applyPasses(fp32, [equalize]).model;
  assert.ok((prepared.passes.find((p) => p.name === 'equalize')!.effect.pairs as unknown[]).length > 0, 'equalization rescaled some pairs');
  const biasOf = (m: Model, layer: (typeof layers)[number]) => {
    const node = m.graph!.node!.find((n) => n.name === layer.node.name)!;
    return tensorToArray(m.graph!.initializer!.find((t) => t.name === node.input![2])!).data as Float32Array;
  };
  const near = (got: Float32Array, want: Float32Array, corrected: Float32Array) =>
    got.every((v, i) => Math.abs(v - want[i]!) <= 2.4e-7 * Math.max(Math.abs(want[i]!), Math.abs(corrected[i]!)));
  const [first, second] = [layers[0]!, layers[1]!];
  assert.ok(!near(biasOf(recipe.model, first), biasOf(plain, first), biasOf(recipe.model, first)), 'the correction moved the first bias');

  const partial = withFloatLayers(recipe, [first.name]);
  assert.ok(near(biasOf(partial.model, first), biasOf(plain, first), biasOf(recipe.model, first)), 'the float layer reads its FP32 bias');
  for (const l of layers.slice(1)) assert.deepEqual(biasOf(partial.model, l), biasOf(recipe.model, l), `${l.name} keeps its correction`);
  assert.deepEqual(biasOf(recipe.model, first), biasOf(recipe.fullModel, first), 'the full recipe is left as it was');
  // The written model holds the float layer's bias as a float initializer: the FP32 one.
  const written = buildRecipeModel(partial);
  assert.ok(near(biasOf(written, first), biasOf(plain, first), biasOf(recipe.model, first)));
  // Derived again from a derived recipe: from the corrected model, not the one with the first layer undone.
  const again = withFloatLayers(partial, [second.name]);
  assert.deepEqual(biasOf(again.model, first), biasOf(recipe.model, first));
  assert.ok(near(biasOf(again.model, second), biasOf(plain, second), biasOf(recipe.model, second)));
  // Sensitivity's quantize mode: only the second layer quantized, so only it keeps its correction.
  const only = onlyLayers(recipe, [second.name]);
  assert.deepEqual(biasOf(only.model, second), biasOf(recipe.model, second));
  assert.ok(near(biasOf(only.model, first), biasOf(plain, first), biasOf(recipe.model, first)));
  // Every layer float: the FP32 model's function, to float rounding (the sensitivity proxy's reference);
  // equalization needs no undo: it keeps the FP32 function whichever layers are float.
  const gap = await outputGap(floatRecipeModel(recipe), fp32, ds, 100);
  assert.ok(gap.diff <= 1e-5 * Math.max(1, gap.scale), `every layer float vs FP32: max |diff| ${gap.diff}`);
  const corrected = await outputGap(recipe.model, fp32, ds, 100);
  assert.ok(corrected.diff > 100 * gap.diff, `the corrected FP32 graph is off: ${corrected.diff}`);
});

test('calibrate records the fitted passes; a later stage replays them to the same INT8 model; options and bad values', () => {
  const dir = tempDir();
  const calib = headNpy(MNIST_CALIB, join(dir, 'calib.npy'), 200);
  const out = join(dir, 'out');
  const r = runQtool(['calibrate', TRANSFORMER, '--data', calib, '--method', 'max', '--smooth-quant', '--bias-correction', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const cal = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8'));
  assert.deepEqual(cal.passes.map((p: PassRecord) => p.name).slice(-2), ['smooth-quant', 'bias-correction']);
  assert.equal(cal.passes.at(-2).params.alpha, 0.5);
  assert.equal(cal.options.smoothQuant, 0.5);
  assert.equal(cal.options.biasCorrection, true);
  const loaded = loadCalibratedModel(loadModel(TRANSFORMER), join(out, 'calibration.json'));
  assert.ok(Buffer.from(buildRecipeBytes(loaded.recipe)).equals(readFileSync(join(out, 'model.int8.onnx'))), 'the replayed recipe writes model.int8.onnx byte for byte');

  const alpha = runQtool(['calibrate', TRANSFORMER, '--data', calib, '--method', 'max', '--smooth-quant', '0.8', '--out', join(dir, 'a'), '--json']);
  assert.equal(alpha.code, 0, alpha.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 'a', 'calibration.json'), 'utf8')).passes.at(-1).params.alpha, 0.8);
  const bad = runQtool(['calibrate', TRANSFORMER, '--data', calib, '--smooth-quant', '2', '--out', join(dir, 'b')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--smooth-quant: expected alpha in \[0, 1\], got '2'/);
});

test('calibrate runs each pass once per variant: the passes variants (and the layer check) share run once in all; the chosen recipe replays byte for byte', async () => {
  const dir = tempDir();
  const mnist = (f: string) => repoPath('samples', 'mnist', f);
  const counts = new Map<string, number>();
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  // Every pass's apply and fit counted for the length of one calibrate call.
  const originals = PASSES.map((p) => ({ pass: p, apply: p.apply, fit: p.fit }));
  for (const { pass, apply, fit } of originals) {
    const p = pass as { apply: typeof apply; fit?: typeof fit };
    p.apply = (m, params) => { count(`apply ${pass.name}`); return apply.call(pass, m, params); };
    if (fit) p.fit = (m, params, ctx) => { count(`fit ${pass.name}`); return fit.call(pass, m, params, ctx); };
  }
  let report;
  try {
    ({ report } = await calibrate(
      { model: TRANSFORMER, data: headNpy(MNIST_CALIB, join(dir, 'calib.npy'), 100), eval: headNpy(mnist('eval_x.npy'), join(dir, 'eval.npy'), 100) },
      { methods: parseMethods('max', []), perChannel: true, activationType: 'uint8', select: 'best', equalize: true, smoothQuant: 0.5, clipGelu: 10,
        biasCorrection: true, batchSize: 50, outDir: join(dir, 'out') },
    ));
  } finally {
    for (const { pass, apply, fit } of originals) Object.assign(pass, { apply, fit });
  }
  assert.deepEqual(report.methods.map((m) => m.variant),
    [undefined, 'without equalize', 'without smooth-quant', 'without bias-correction', 'without clip-gelu']);
  // Variants: every pass (E S C B), and E S C B less one each. Distinct leading runs: E once (the layer check's too),
  // S after E and alone (2), C after ES, S, E (3), B after ESC, SC, EC, ES (4). Before sharing, every variant ran from scratch.
  assert.deepEqual(Object.fromEntries([...counts].sort()), {
    'apply bias-correction': 4, 'apply clip-gelu': 3, 'apply equalize': 1, 'apply fold-batchnorm': 1, 'apply fold-constants': 1,
    'apply fuse-hardswish': 1, 'apply smooth-quant': 2, 'apply upgrade-opset': 1, 'fit bias-correction': 4, 'fit smooth-quant': 2,
  });
  const loaded = loadCalibratedModel(loadModel(TRANSFORMER), join(dir, 'out', 'calibration.json'));
  assert.ok(Buffer.from(buildRecipeBytes(loaded.recipe)).equals(readFileSync(join(dir, 'out', 'model.int8.onnx'))), 'the replayed recipe writes model.int8.onnx byte for byte');
});

test('--select best compares with and without each requested pass: on the outlier ResNet the equalized recipe wins and is recorded', () => {
  const dir = tempDir();
  const model = join(dir, 'outlier.onnx');
  makeOutlierModel(repoPath('samples', 'resnet', 'model.onnx'), model, OUTLIER);
  const mnist = (f: string) => repoPath('samples', 'mnist', f);
  const evalX = headNpy(mnist('eval_x.npy'), join(dir, 'eval_x.npy'), 500);
  const evalY = headNpy(mnist('eval_y.npy'), join(dir, 'eval_y.npy'), 500);
  const out = join(dir, 'out');
  const r = runQtool(['calibrate', model, '--data', headNpy(MNIST_CALIB, join(dir, 'calib.npy'), 300), '--eval', evalX, '--labels', evalY,
    '--per-tensor', '--method', 'max', '--equalize', '--select', 'best', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(report.methods.map((m) => [m.method, m.variant]), [['max', undefined], ['max', 'without equalize']]);
  const [withPass, without] = report.methods.map((m) => m.top1!);
  assert.ok(withPass! > without! + 10, `with equalization ${withPass}%, without ${without}%`);
  assert.equal(report.selected.variant, undefined);
  assert.equal(selectedResult(report), report.methods[0]);
  const cal = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8'));
  assert.ok(cal.passes.some((p: PassRecord) => p.name === 'equalize'), 'the selected recipe is the equalized one');
  assert.match(report.passes!.map((p) => `${p.name}: ${p.summary}`).join('\n'), /^equalize: \d+ pairs in \d+ rounds; widest per-channel weight range spread/);
  // report.html lists both rows and what the pass did.
  const html = runQtool(['report', out]);
  assert.equal(html.code, 0, html.stderr);
  const page = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(page, /max \(without equalize\)/);
  assert.match(page, /Recipe passes of the selected model: equalize: \d+ pairs/);
});
