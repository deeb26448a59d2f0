// Tensors that cannot be quantized stay float, with a reason (issue 12): a
// Hugging Face BERT whose attention masks hold -inf calibrates, its masks are
// named `infinite`, a dead Relu is `constant`, NaN is still bad input, and
// every later stage keeps the same tensors float.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { onnx } from '../src/onnx/proto/onnx.js';
import { loadModel, type Model } from '../src/onnx/model.js';
import { makeTensor } from '../src/onnx/tensor.js';
import { inferElemTypes } from '../src/onnx/types.js';
import { TensorHistogram } from '../src/calib/histogram.js';
import { floatReasonOf } from '../src/calib/float-reason.js';
import { planQuantization } from '../src/quant/plan.js';
import { withoutFloatTensors } from '../src/quant/float-tensors.js';
import { buildRecipeModel, loadRecipe, withFloatLayers } from '../src/quant/recipe.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { calibrationSchema, type Calibration } from '../src/report/schemas/calibration.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { expectBadInput, repoPath, runQtool, tempDir } from './lib/helpers.js';
import { mulberry32 } from './lib/random.js';
import { writeNpy } from './lib/npy-write.js';
import { saveModel } from './lib/save-model.js';
import { InputError } from '../src/util/errors.js';

const BERT = (f: string) => repoPath('test', 'fixtures', 'bert-tiny', f);

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const readCalibration = (dir: string): Calibration => calibrationSchema.parse(readJson(join(dir, 'calibration.json')));

/** Tensors a QuantizeLinear reads in a model file. */
function quantizedTensors(path: string): Set<string> {
  return new Set((loadModel(path).model.graph!.node ?? []).filter((n) => n.op_type === 'QuantizeLinear').map((n) => n.input![0]));
}

const opCount = (path: string, op: string): number => (loadModel(path).model.graph!.node ?? []).filter((n) => n.op_type === op).length;

const floatInput = (name: string, width: number) =>
  onnx.ValueInfoProto.create({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'batch' }, { dim_value: width }] } } } });

function modelOf(g: onnx.IGraphProto): Model {
  return onnx.ModelProto.create({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph: onnx.GraphProto.create(g) });
}

/**
 * x[4] -> MatMul(W1 < 0) -> Relu -> dead -> Reshape -> flat -> MatMul(W2) -+-> Add -> y
 *      `-> MatMul(W3) -------------------------------------------------------'
 * With x >= 0 the Relu's output is 0 for every sample: a dead unit, constant.
 */
function deadReluModel(): Model {
  const rng = mulberry32(7);
  const weights = (n: number, sign: number) => Float32Array.from({ length: n }, () => sign * (0.1 + rng()));
  return modelOf({
    name: 'dead-relu',
    input: [floatInput('x', 4)],
    output: [onnx.ValueInfoProto.create({ name: 'y', type: { tensor_type: { elem_type: 1 } } })],
    initializer: [
      makeTensor('W1', 'float32', [4, 6], weights(24, -1)),
      makeTensor('W2', 'float32', [6, 3], weights(18, 1)),
      makeTensor('W3', 'float32', [4, 3], Float32Array.from({ length: 12 }, () => rng() - 0.5)),
      makeTensor('shape', 'int64', [2], BigInt64Array.of(-1n, 6n)),
    ],
    node: [
      onnx.NodeProto.create({ op_type: 'MatMul', input: ['x', 'W1'], output: ['h'], name: 'mm1' }),
      onnx.NodeProto.create({ op_type: 'Relu', input: ['h'], output: ['dead'], name: 'relu' }),
      onnx.NodeProto.create({ op_type: 'Reshape', input: ['dead', 'shape'], output: ['flat'], name: 'reshape' }),
      onnx.NodeProto.create({ op_type: 'MatMul', input: ['flat', 'W2'], output: ['a'], name: 'mm2' }),
      onnx.NodeProto.create({ op_type: 'MatMul', input: ['x', 'W3'], output: ['b'], name: 'mm3' }),
      onnx.NodeProto.create({ op_type: 'Add', input: ['a', 'b'], output: ['y'], name: 'add' }),
    ],
  });
}

/** x -> Log -> l -> MatMul(W) -> y: zeros in x make -inf in l, negatives NaN. */
function logModel(): Model {
  return modelOf({
    name: 'log',
    input: [floatInput('x', 4)],
    output: [onnx.ValueInfoProto.create({ name: 'y', type: { tensor_type: { elem_type: 1 } } })],
    initializer: [makeTensor('W', 'float32', [4, 3], Float32Array.from({ length: 12 }, (_, i) => i / 12 - 0.5))],
    node: [
      onnx.NodeProto.create({ op_type: 'Log', input: ['x'], output: ['l'], name: 'log' }),
      onnx.NodeProto.create({ op_type: 'MatMul', input: ['l', 'W'], output: ['y'], name: 'mm' }),
    ],
  });
}

function uniformData(path: string, rows: number, width: number, map: (v: number, i: number) => number = (v) => v): string {
  const rng = mulberry32(11);
  writeNpy(path, { dtype: 'float32', shape: [rows, width], data: Float32Array.from({ length: rows * width }, (_, i) => map(rng(), i)) });
  return path;
}

test('reasons from the streamed statistics: +-inf and float32 extremes are infinite, one value is constant, NaN is none', () => {
  assert.equal(floatReasonOf(TensorHistogram.of(Float32Array.of(0, 1, -Infinity))), 'infinite');
  assert.equal(floatReasonOf(TensorHistogram.of(Float32Array.of(-Infinity, -Infinity))), 'infinite', 'nothing finite at all');
  // torch.finfo(float32).min, as transformers' eager attention writes masks.
  assert.equal(floatReasonOf(TensorHistogram.of(Float32Array.of(0, 0.5, -3.4028234663852886e38))), 'infinite');
  assert.equal(floatReasonOf(TensorHistogram.of(Float32Array.of(2e30, 1))), 'infinite');
  assert.equal(floatReasonOf(TensorHistogram.of(Float32Array.of(-1e9, 1))), undefined, 'a -1e9 mask is finite: quantized like any range');
  const constant = TensorHistogram.of(Float32Array.of(0.25, 0.25));
  constant.merge(TensorHistogram.of(Float32Array.of(0.25)));
  assert.equal(floatReasonOf(constant), 'constant');
  constant.update(Float32Array.of(0.5));
  assert.equal(floatReasonOf(constant), undefined);
  const nan = TensorHistogram.of(Float32Array.of(NaN, 1, 2));
  assert.equal(nan.nan, 1);
  assert.equal(floatReasonOf(nan), undefined, 'NaN is the caller\'s error, not a reason to stay float');
});

test('a float tensor leaves the plan with its fold and its shared-scale pairs; the partner keeps its own range', () => {
  const g = deadReluModel().graph!;
  const plan = planQuantization(g, { foldActivations: true });
  assert.deepEqual(plan.tensors, ['x', 'dead', 'flat', 'a', 'b']);
  assert.deepEqual(plan.folded.map((f) => [f.from, f.to]), [['h', 'dead']]);
  assert.deepEqual([...plan.sharedScale], [['flat', 'dead']]);
  const cut = withoutFloatTensors(plan, [{ tensor: 'dead', reason: 'constant' }]);
  assert.deepEqual(cut.tensors, ['x', 'flat', 'a', 'b']);
  assert.deepEqual(cut.folded, [], 'the Relu runs again: no Q/DQ pair applies it');
  assert.deepEqual([...cut.sharedScale], []);
  assert.equal(cut.layers.length, 3, 'layers stay quantized (int8 weights) with float activations');
  assert.throws(() => withoutFloatTensors(plan, [{ tensor: 'h', reason: 'constant' }]), /not a planned tensor/);
  // Integer tensors are never planned: the Reshape's int64 shape is read by a same-scale op.
  const types = inferElemTypes(g);
  assert.ok(plan.tensors.every((t) => types.get(t) === 'float32'));
});

test('a dead Relu is constant: calibrate keeps it float and runs the Relu; partial and QAT keep it float too', async () => {
  const dir = tempDir();
  const model = join(dir, 'dead.onnx');
  saveModel(deadReluModel(), model);
  const data = uniformData(join(dir, 'x.npy'), 32, 4);
  const out = join(dir, 'out');
  const r = runQtool(['calibrate', model, '--data', data, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  // The Reshape of the dead output and the MatMul of it hold zeros too: each found constant on its own statistics.
  const dead = ['dead', 'flat', 'a'];
  assert.deepEqual(report.floatTensors, dead.map((tensor) => ({ tensor, reason: 'constant' })));
  assert.equal(report.quantizedTensors, 2);
  assert.equal(report.foldedActivations, 0);
  const cal = readCalibration(out);
  assert.deepEqual(cal.floatTensors, report.floatTensors);
  assert.deepEqual(cal.tensors.map((t) => t.name), ['x', 'b']);

  const int8 = join(out, 'model.int8.onnx');
  assert.deepEqual([...quantizedTensors(int8)].sort(), ['b', 'x']);
  assert.equal(opCount(int8, 'Relu'), 1, 'the Relu is not folded away');
  const s = await ort.InferenceSession.create(int8);
  const y = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [1, 4]) });
  assert.deepEqual(y.y.dims, [1, 3]);

  // sensitivity, partial and QAT load the same decision from calibration.json.
  const sens = runQtool(['sensitivity', model, '--calibration', join(out, 'calibration.json'), '--data', data, '--out', out]);
  assert.equal(sens.code, 0, sens.stderr);
  const partial = runQtool(['partial', model, '--calibration', join(out, 'calibration.json'), '--sensitivity', join(out, 'sensitivity.json'),
    '--data', data, '--keep-float', '1', '--out', out]);
  assert.equal(partial.code, 0, partial.stderr);
  const partialModel = join(out, 'model.partial.onnx');
  for (const t of dead) assert.ok(!quantizedTensors(partialModel).has(t), `partial quantizes '${t}'`);
  assert.equal(opCount(partialModel, 'Relu'), 1);
  const qat = runQtool(['qat-finetune', model, '--calibration', join(out, 'calibration.json'), '--train', data, '--distill',
    '--epochs', '1', '--out', join(dir, 'qat')]);
  assert.equal(qat.code, 0, qat.stderr);
  const qatModel = join(dir, 'qat', 'model.qat.onnx');
  assert.deepEqual([...quantizedTensors(qatModel)].sort(), ['b', 'x']);
  assert.equal(opCount(qatModel, 'Relu'), 1);
});

test('-inf stays float as infinite; NaN in a planned tensor is still bad input naming it', async () => {
  const dir = tempDir();
  const model = join(dir, 'log.onnx');
  saveModel(logModel(), model);
  // One zero per row: log(0) = -inf.
  const zeros = uniformData(join(dir, 'zeros.npy'), 8, 4, (v, i) => (i % 4 === 0 ? 0 : v + 0.5));
  const out = join(dir, 'out');
  const r = runQtool(['calibrate', model, '--data', zeros, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 tensor stays float: 1 infinite \(e\.g\. attention masks\)/);
  assert.deepEqual(readCalibration(out).floatTensors, [{ tensor: 'l', reason: 'infinite' }]);
  // Negatives as well as zeros: NaN wins over -inf, as before this change.
  const negative = uniformData(join(dir, 'neg.npy'), 8, 4, (v, i) => (i % 4 === 0 ? 0 : i % 4 === 1 ? -1 : v));
  expectBadInput('calibrate', [model, '--data', negative], /neg\.npy: tensor 'l' holds 8 NaN values during calibration/, join(dir, 'out2'));
});

test('Hugging Face BERT: the attention masks stay float as infinite, the INT8 model runs and follows FP32', async () => {
  const expected = readJson(BERT('expected.json')) as { mask_tensors: string[]; eval_top1: number };
  const out = tempDir();
  const r = runQtool(['calibrate', BERT('model.onnx'), '--data', BERT('calib.npz'), '--eval', BERT('eval.npz'), '--labels', BERT('eval_labels.npy'),
    '--method', 'all', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  // The masks and the scores they are added to (scores + -inf).
  assert.match(r.stdout, /4 tensors stay float: 4 infinite \(e\.g\. attention masks\)/);
  const report = calibrateReportSchema.parse(readJson(join(out, 'calibrate.json')));
  const float = new Map(report.floatTensors.map((f) => [f.tensor, f.reason]));
  for (const mask of expected.mask_tensors) assert.equal(float.get(mask), 'infinite', `${mask}`);
  assert.equal(report.floatTensors.length, 4);
  assert.equal(report.methods.length, 5);
  for (const m of report.methods) assert.ok(m.sqnrDb !== null && m.sqnrDb > 25, `${m.method}: output SQNR ${m.sqnrDb} dB`);
  const selected = report.methods.find((m) => m.method === report.selected.method)!;
  assert.ok(Math.abs(selected.drop!) <= 1, `top-1 drop ${selected.drop} points`);

  // Only float32 tensors are planned (int64 ids, bool masks never are), and none of the float ones.
  const fp32 = loadModel(BERT('model.onnx'));
  const types = inferElemTypes(fp32.model.graph!);
  const cal = readCalibration(out);
  assert.ok(cal.tensors.length > 0 && cal.tensors.every((t) => types.get(t.name) === 'float32'));
  const int8 = join(out, 'model.int8.onnx');
  const quantized = quantizedTensors(int8);
  for (const f of float.keys()) assert.ok(!quantized.has(f), `'${f}' has a QuantizeLinear`);
  assert.equal(quantized.size, cal.tensors.length);

  // report.html lists them with their reason.
  assert.equal(runQtool(['report', out]).code, 0);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /4 planned tensors stay float/);
  for (const mask of expected.mask_tensors) assert.ok(html.includes(`<td>${mask}</td><td>infinite</td>`), `${mask} in report.html`);

  // onnxruntime runs it on int64 ids with a padded row, at another sequence length than calibrated.
  const s = await ort.InferenceSession.create(int8);
  const ids = BigInt64Array.from({ length: 2 * 12 }, (_, i) => BigInt(3 + ((i * 37) % 990)));
  const mask = BigInt64Array.from({ length: 2 * 12 }, (_, i) => (i >= 12 + 7 ? 0n : 1n));
  const y = await s.run({
    input_ids: new ort.Tensor('int64', ids, [2, 12]),
    attention_mask: new ort.Tensor('int64', mask, [2, 12]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(24), [2, 12]),
  });
  assert.deepEqual(y.logits.dims, [2, 2]);
  assert.ok([...(y.logits.data as Float32Array)].every(Number.isFinite));

  // The later stages load the same decision (the CLI stages on the dead Relu above; here the recipe they
  // get): the full plan and a partial one with the first layers in float leave the masks float.
  const recipe = loadCalibratedModel(fp32, join(out, 'calibration.json')).recipe;
  assert.deepEqual(recipe.floatTensors, cal.floatTensors);
  const partial = withFloatLayers(recipe, recipe.full.layers.slice(0, 2).map((l) => l.name));
  const partialPath = join(out, 'partial.onnx');
  saveModel(buildRecipeModel(partial), partialPath);
  const partialQuantized = quantizedTensors(partialPath);
  assert.ok(partialQuantized.size > 0 && partialQuantized.size < quantized.size);
  for (const f of float.keys()) assert.ok(!recipe.full.tensors.includes(f) && !partialQuantized.has(f), `'${f}' is quantized`);

  // A calibration.json that keeps a tensor float which the plan does not quantize is refused.
  const bad = { ...cal, floatTensors: [...cal.floatTensors, { tensor: '/bert/Expand_output_0', reason: 'infinite' as const }] };
  assert.throws(() => loadRecipe(fp32.model, bad, 'calibration.json'), (e: unknown) => e instanceof InputError && /Expand_output_0.*re-run qtool calibrate/.test(e.message));
  const overlap = { ...cal, floatTensors: [{ tensor: cal.tensors[0].name, reason: 'constant' as const }] };
  assert.throws(() => calibrationSchema.parse(overlap), /listed twice/);
  assert.ok(expected.eval_top1 > 80, 'the fixture is a trained model');
});
