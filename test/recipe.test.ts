// The quantization recipe (src/quant/recipe.ts): passes applied and
// recorded, calibration.json replayed into the same recipe by the later
// stages, a recorded pass effect that no longer holds refused, and float
// layers cut from the one calibrated plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel, loadModel } from '../src/onnx/model.js';
import { buildRecipeModel, prepareRecipe, withFloatLayers, onlyLayers } from '../src/quant/recipe.js';
import { PASSES } from '../src/quant/passes/index.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';
import { QTOOL_VERSION } from '../src/util/version.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const MOBILENET = repoPath('samples', 'mobilenet', 'model.onnx');
const TRANSFORMER = repoPath('samples', 'transformer', 'model.onnx');

function calibrated(): { dir: string; path: string } {
  const dir = tempDir();
  const r = runQtool(['calibrate', MLP, '--data', repoPath('samples', 'digits', 'calib_x.npy'), '--method', 'max,mse', '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  return { dir, path: join(dir, 'calibration.json') };
}

test('passes: the opset upgrade, constant and BatchNorm folding always run first, the others only when asked, each recorded with its parameters and effect', () => {
  assert.deepEqual(PASSES.map((p) => p.name), ['upgrade-opset', 'fold-constants', 'fold-batchnorm', 'fuse-hardswish', 'equalize', 'smooth-quant', 'clip-gelu', 'bias-correction']);
  const mobilenet = prepareRecipe(loadModel(MOBILENET).model, { passes: [], activationType: 'uint8' });
  assert.deepEqual(mobilenet.passes.map((p) => p.name), ['upgrade-opset', 'fold-constants', 'fold-batchnorm', 'fuse-hardswish']);
  assert.deepEqual(mobilenet.passes[0]!.effect, { rewritten: [] }, 'exported at opset 13 or above');
  assert.deepEqual(mobilenet.passes[1]!.effect, { folded: [] }, 'PyTorch writes weights as initializers');
  const folded = mobilenet.passes[2]!.effect.folded as string[];
  assert.ok(folded.length > 5, `${folded.length} BatchNormalization nodes folded`);
  assert.ok(!mobilenet.model.graph!.node!.some((n) => n.op_type === 'BatchNormalization'));

  const fp32 = loadModel(TRANSFORMER).model;
  const capped = prepareRecipe(fp32, { passes: [{ name: 'clip-gelu', params: { cap: 10 } }], activationType: 'uint8' });
  assert.deepEqual(capped.passes.map((p) => [p.name, p.params]), [['upgrade-opset', {}], ['fold-constants', {}], ['fold-batchnorm', {}], ['fuse-hardswish', {}], ['clip-gelu', { cap: 10 }]]);
  const clipped = capped.passes[4]!.effect.clipped as { tensor: string }[];
  assert.ok(clipped.length >= 2, 'one cap per GELU');
  assert.equal(capped.model.graph!.node!.filter((n) => n.op_type === 'Min').length, clipped.length);
  assert.equal(fp32.graph!.node!.filter((n) => n.op_type === 'Min').length, 0, 'the FP32 model is not modified');

  assert.throws(() => prepareRecipe(fp32, { passes: [{ name: 'equalise', params: {} }], activationType: 'uint8' }), /unknown quantization pass 'equalise'/);
  assert.throws(() => prepareRecipe(fp32, { passes: [{ name: 'clip-gelu', params: { cap: -1 } }], activationType: 'uint8' }), /'clip-gelu': invalid parameters/);
  // Data-driven passes are fitted by calibrate; a replay without their fitted parameters is refused.
  assert.throws(() => prepareRecipe(fp32, { passes: [{ name: 'bias-correction', params: {} }], activationType: 'uint8' }), /bias-correction: no fitted corrections/);
  assert.throws(() => prepareRecipe(fp32, { passes: [{ name: 'smooth-quant', params: { alpha: 0.5 } }], activationType: 'uint8' }), /smooth-quant: no fitted scales/);
});

test('calibration.json replays into the recipe calibrate wrote model.int8.onnx from', () => {
  const { dir, path } = calibrated();
  const fp32 = loadModel(MLP);
  const { calibration, recipe } = loadCalibratedModel(fp32, path);
  assert.deepEqual(calibration.passes, recipe.passes);
  assert.equal(recipe.method, calibration.selectedMethod);
  assert.deepEqual([...recipe.qparams.keys()], recipe.plan.tensors);
  for (const t of calibration.tensors) {
    const q = recipe.qparams.get(t.name)!;
    assert.deepEqual([q.scale, q.zeroPoint, q.type], [t.selected.scale, t.selected.zeroPoint, t.selected.type]);
  }
  // The same bytes as calibrate's model: nothing is re-derived differently.
  assert.deepEqual(Buffer.from(encodeModel(buildRecipeModel(recipe))), readFileSync(join(dir, 'model.int8.onnx')));
});

test('a calibration.json whose recorded pass effect no longer holds is refused; one without passes (first format) still loads', () => {
  // Edited on its own: beside the file, the folder's qtool-manifest.json would refuse any edit.
  const path = join(tempDir(), 'calibration.json');
  copyFileSync(calibrated().path, path);
  const fp32 = loadModel(MLP);
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  const expected = loadCalibratedModel(fp32, path).recipe;

  const edited = structuredClone(raw);
  edited.passes[2].effect.folded = ['/net/BatchNormalization'];
  writeFileSync(path, JSON.stringify(edited));
  assert.throws(() => loadCalibratedModel(fp32, path), /another effect of the 'fold-batchnorm' pass .*re-run qtool calibrate/);

  // A pass from a later qtool: named, with the way out.
  const later = structuredClone(raw);
  later.passes.push({ name: 'sparsify', params: {}, effect: {} });
  writeFileSync(path, JSON.stringify(later));
  assert.throws(() => loadCalibratedModel(fp32, path), (e: Error & { exitCode?: number }) => e.exitCode === 2
    && e.message === `${path}: records the 'sparsify' pass, which qtool ${QTOOL_VERSION} does not know: upgrade qtool to read it`);

  const legacy = structuredClone(raw);
  delete legacy.passes;
  writeFileSync(path, JSON.stringify(legacy));
  const old = loadCalibratedModel(fp32, path).recipe;
  assert.deepEqual(old.passes, expected.passes);
  assert.deepEqual([...old.qparams], [...expected.qparams]);
});

test('float layers: the plan and its qparams are cut from the calibrated recipe, the rest unchanged', () => {
  const { path } = calibrated();
  const { recipe } = loadCalibratedModel(loadModel(MLP), path);
  const [first, second] = recipe.full.layers.map((l) => l.name);
  const none = withFloatLayers(recipe, []);
  assert.deepEqual(Buffer.from(encodeModel(buildRecipeModel(none))), Buffer.from(encodeModel(buildRecipeModel(recipe))));

  const partial = withFloatLayers(recipe, [second!]);
  assert.deepEqual(partial.floatLayers, [second]);
  assert.deepEqual(partial.plan.layers.map((l) => l.name), recipe.full.layers.map((l) => l.name).filter((n) => n !== second));
  assert.deepEqual([...partial.qparams.keys()], partial.plan.tensors);
  for (const [t, q] of partial.qparams) assert.deepEqual(q, recipe.qparams.get(t), `${t} keeps its calibrated parameters`);
  assert.ok(partial.plan.tensors.length < recipe.plan.tensors.length);
  assert.equal(partial.full, recipe.full, 'the full plan is shared');

  const only = onlyLayers(recipe, [first!]);
  assert.deepEqual(only.plan.layers.map((l) => l.name), [first]);
  assert.throws(() => withFloatLayers(recipe, ['nope']), /no quantizable layer 'nope'/);
});
