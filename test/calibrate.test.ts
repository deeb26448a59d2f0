// `qtool calibrate` end to end on the bundled samples: real onnxruntime
// sessions, real data, INT8 models that onnxruntime runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { onnx } from '../src/onnx/proto/onnx.js';
import { loadModel } from '../src/onnx/model.js';
import { makeTensor } from '../src/onnx/tensor.js';
import { calibrationSchema } from '../src/report/schemas/calibration.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { expectBadInput, onnxTestData, repoPath, runQtool, tempDir } from './lib/helpers.js';
import { headNpy, writeNpy } from './lib/npy-write.js';
import { saveModel } from './lib/save-model.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);

function calibrateMlp(out: string, ...extra: string[]) {
  return runQtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--out', out, ...extra]);
}

function opCounts(path: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of loadModel(path).model.graph!.node ?? []) counts[n.op_type!] = (counts[n.op_type!] ?? 0) + 1;
  return counts;
}

test('calibrate compares every method on held-out data and writes a QDQ model onnxruntime runs', async () => {
  const out = tempDir();
  const r = calibrateMlp(out, '--method', 'all', '--eval', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy'), '--select', 'best', '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(report.methods.map((m) => m.method), ['max', 'entropy', 'percentile-99.99', 'percentile-99.999', 'mse']);
  const best = report.methods.find((m) => m.method === report.selected.method)!;
  for (const m of report.methods) assert.ok(best.top1! >= m.top1!, `${best.method} is not the best`);
  assert.ok(best.drop! <= 0.3, `best INT8 drop ${best.drop} points`);
  assert.ok(report.methods.every((m) => m.sqnrDb !== null && m.sqnrDb > 20), 'INT8 outputs follow FP32');

  const cal = calibrationSchema.parse(JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')));
  assert.equal(cal.model.sha256, loadModel(MLP).sha256);
  assert.equal(cal.layers.length, 3);
  for (const t of cal.tensors) {
    assert.ok(t.selected.min <= 0 && t.selected.max >= 0, `${t.name} range contains 0`);
    assert.equal(t.selected.type, 'uint8');
  }
  // The INT8 model: every Gemm reads dequantized int8 weights; onnxruntime loads and runs it.
  const ops = opCounts(join(out, 'model.int8.onnx'));
  assert.equal(ops.Gemm, 3);
  assert.ok(ops.QuantizeLinear >= 5 && ops.DequantizeLinear >= 5 + 3);
  const q = loadModel(join(out, 'model.int8.onnx')).model;
  const int8Weights = q.graph!.initializer!.filter((t) => t.data_type === onnx.TensorProto.DataType.INT8 && t.dims!.length === 2);
  assert.equal(int8Weights.length, 3);
  const s = await ort.InferenceSession.create(join(out, 'model.int8.onnx'));
  const y = await s.run({ input: new ort.Tensor('float32', new Float32Array(64 * 2).fill(3), [2, 64]) });
  assert.deepEqual(y.logits.dims, [2, 10]);
});

test('ranges do not depend on the batch size (1 vs 32)', () => {
  const a = tempDir();
  const b = tempDir();
  assert.equal(calibrateMlp(a, '--batch-size', '1').code, 0);
  assert.equal(calibrateMlp(b, '--batch-size', '32').code, 0);
  const ca = calibrationSchema.parse(JSON.parse(readFileSync(join(a, 'calibration.json'), 'utf8')));
  const cb = calibrationSchema.parse(JSON.parse(readFileSync(join(b, 'calibration.json'), 'utf8')));
  assert.deepEqual(ca.tensors.map((t) => [t.histogram, t.ranges, t.selected]), cb.tensors.map((t) => [t.histogram, t.ranges, t.selected]));
});

test('without --eval the default method is named with its reason', () => {
  const out = tempDir();
  const r = calibrateMlp(out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.selected.method, 'mse');
  assert.match(report.selected.reason, /default/);
  assert.equal(report.methods.length, 0);
});

test('--per-tensor writes one weight scale per layer; --activation-type int8 warns and writes int8 zero points', () => {
  const out = tempDir();
  const r = calibrateMlp(out, '--per-tensor', '--activation-type', 'int8', '--method', 'max');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /int8 activations .* slower/);
  const g = loadModel(join(out, 'model.int8.onnx')).model.graph!;
  const scales = g.initializer!.filter((t) => t.name!.endsWith('_scale') && t.name!.includes('weight'));
  assert.ok(scales.length === 3 && scales.every((t) => t.dims!.length === 0), 'scalar weight scales');
  const zps = g.initializer!.filter((t) => t.name!.endsWith('_zero_point') && !t.name!.includes('weight') && !t.name!.includes('bias'));
  assert.ok(zps.length > 0 && zps.every((t) => t.data_type === onnx.TensorProto.DataType.INT8));
});

test('--clip-activation gelu=10 caps both GELUs and reports what the cap removed', () => {
  const out = tempDir();
  const r = calibrateMlp(out, '--clip-activation', 'gelu=10', '--method', 'max', '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.clippedActivations.length, 2);
  for (const c of report.clippedActivations) {
    assert.ok(c.maxBefore > 10, `GELU max ${c.maxBefore} should exceed the cap on this model`);
    assert.ok(c.fractionAboveCap > 0 && c.fractionAboveCap < 0.5);
  }
  const cal = calibrationSchema.parse(JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')));
  const capped = cal.tensors.filter((t) => t.name.endsWith('_clip10'));
  assert.equal(capped.length, 2);
  for (const t of capped) assert.ok(t.ranges.max.max <= 10);
  assert.equal(opCounts(join(out, 'model.int8.onnx')).Min, 2);
  // The range before the cap (GELU's small negative values) and the one the INT8 model uses after it.
  for (const c of report.clippedActivations) {
    const t = capped.find((x) => x.name === `${c.tensor}_clip10`)!;
    assert.ok(c.minBefore! < 0 && c.minBefore! > -0.2, `GELU min ${c.minBefore}`);
    assert.deepEqual(c.after, { min: t.selected.min, max: t.selected.max });
    assert.equal(c.after!.max, 10);
  }
  const summary = calibrateMlp(tempDir(), '--clip-activation', 'gelu=10', '--method', 'max');
  assert.match(summary.stdout, /GELU10: \S+ \[-0\.\d+, \d+\.\d+\] -> capped at 10, quantized as \[-0\.\d+, 10\.00\] \(max\)/);
});


test('--clip-activation gelu=10 --select best on the transformer sample: every method scored with and without the cap, the chosen recipe recorded as it ran', () => {
  const dir = tempDir();
  const mnist = (f: string) => repoPath('samples', 'mnist', f);
  const out = join(dir, 'out');
  const r = runQtool(['calibrate', repoPath('samples', 'transformer', 'model.onnx'), '--data', headNpy(mnist('calib_x.npy'), join(dir, 'calib.npy'), 100),
    '--eval', headNpy(mnist('eval_x.npy'), join(dir, 'eval_x.npy'), 200), '--labels', headNpy(mnist('eval_y.npy'), join(dir, 'eval_y.npy'), 200),
    '--method', 'max,mse', '--clip-activation', 'gelu=10', '--select', 'best', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(report.methods.map((m) => [m.method, m.variant]),
    [['max', undefined], ['mse', undefined], ['max', 'without clip-gelu'], ['mse', 'without clip-gelu']]);
  assert.ok(report.methods.every((m) => m.top1 !== null && m.top1 > 90), report.methods.map((m) => m.top1).join());
  // Both GELU outputs, their range before the cap (GELU's negative tail) and the capped tensor's range after.
  assert.equal(report.clippedActivations.length, 2);
  for (const c of report.clippedActivations) assert.ok(c.minBefore! < 0 && c.maxBefore > 0 && c.after !== null && c.after!.max <= Math.min(10, c.maxBefore));
  // calibration.json holds the selected variant's passes: the cap only when it was kept.
  const cal = calibrationSchema.parse(JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')));
  const capped = report.selected.variant === undefined;
  assert.equal(cal.passes!.some((p) => p.name === 'clip-gelu'), capped);
  assert.equal(cal.clipGelu, capped ? 10 : null);
  assert.equal(opCounts(join(out, 'model.int8.onnx')).Min ?? 0, capped ? 2 : 0);
});

test('bad input: one line, exit 2, nothing written', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  // A model with nothing to quantize: ONNX's own Relu test model.
  expectBadInput('calibrate', [join(onnxTestData, 'test_relu', 'model.onnx'), '--data', DIGITS('calib_x.npy')], /opset|no quantizable op/, out);
  // Data that does not fit the model.
  expectBadInput('calibrate', [MLP, '--data', repoPath('samples', 'mnist', 'calib_x.npy')], /calib_x\.npy: .*does not fit input 'input'/, out);
  expectBadInput('calibrate', [MLP, '--data', DIGITS('calib_x.npy'), '--method', 'kl'], /unknown method 'kl'/, out);
  expectBadInput('calibrate', [MLP, '--data', DIGITS('calib_x.npy'), '--percentile', '100.5'], /'100\.5' is not a percentile/, out);
  expectBadInput('calibrate', [MLP, '--data', DIGITS('calib_x.npy'), '--percentile', '0'], /'0' is not a percentile/, out);
  expectBadInput('calibrate', [MLP, '--data', DIGITS('calib_x.npy'), '--select', 'best'], /--select best needs --eval/, out);
});

test('a tensor holding NaN during calibration is named', () => {
  // x -> Sqrt -> MatMul(W): negative inputs make Sqrt emit NaN into the quantized MatMul input.
  const dir = tempDir();
  const g = onnx.GraphProto.create({
    name: 'nan',
    input: [onnx.ValueInfoProto.create({ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'batch' }, { dim_value: 4 }] } } } })],
    output: [onnx.ValueInfoProto.create({ name: 'y', type: { tensor_type: { elem_type: 1 } } })],
    initializer: [makeTensor('W', 'float32', [4, 3], Float32Array.from({ length: 12 }, (_, i) => i / 12 - 0.5))],
    node: [
      onnx.NodeProto.create({ op_type: 'Sqrt', input: ['x'], output: ['root'], name: 'sqrt' }),
      onnx.NodeProto.create({ op_type: 'MatMul', input: ['root', 'W'], output: ['y'], name: 'mm' }),
    ],
  });
  const modelPath = join(dir, 'nan.onnx');
  saveModel(onnx.ModelProto.create({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph: g }), modelPath);
  const data = join(dir, 'x.npy');
  writeNpy(data, { dtype: 'float32', shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, i) => i - 3) });
  expectBadInput('calibrate', [modelPath, '--data', data], /x\.npy: tensor 'root' holds 3 NaN values/, join(dir, 'out'));
});
