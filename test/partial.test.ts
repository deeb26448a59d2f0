// `qtool partial`: the greedy search on its own, then end to end on the
// outlier network (lib/outlier.ts), fp16 float layers, a budget no set of float
// layers can meet, bad input, and the chain script CI runs.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from '../src/onnx/proto/onnx.js';
import { loadModel } from '../src/onnx/model.js';
import { greedySearch } from '../src/stages/partial/greedy.js';
import { budgetOf } from '../src/stages/partial/partial.js';
import { fromFloat16Bits, toFloat16Bits } from '../src/stages/partial/float16.js';
import { calibrationSchema } from '../src/report/schemas/calibration.js';
import { evalReportSchema } from '../src/report/schemas/eval.js';
import { partialReportSchema, type PartialReport } from '../src/report/schemas/partial.js';
import { sensitivityReportSchema, type SensitivityReport } from '../src/report/schemas/sensitivity.js';
import { repoPath, runQtool, tempDir, expectBadInput } from './lib/helpers.js';
import { makeAddOutlierModel, setupOutlierCase, type OutlierCase } from './lib/outlier.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);

// ---------------------------------------------------------------- the search

/** An evaluator from a table of drops by number of float layers, counting calls. */
function fakeDrops(drops: number[]) {
  const calls: string[][] = [];
  return { calls, evaluate: async (floatLayers: string[]) => { calls.push(floatLayers); return { drop: drops[floatLayers.length] }; } };
}

test('greedy: float layers in ranking order, stopping at the first step within the budget', async () => {
  const f = fakeDrops([9, 4, 0.5000000000000142, 0.1, 0]);
  const r = await greedySearch(['a', 'b', 'c', 'd'], { maxDrop: 0.5 }, f.evaluate);
  // 97.0 - 96.5 in floating point is 0.5000000000000142: within a 0.5 budget.
  assert.deepEqual(f.calls, [[], ['a'], ['a', 'b']]);
  assert.equal(r.met, true);
  assert.equal(r.chosen, 2);
  assert.deepEqual(r.steps[r.chosen].floatLayers, ['a', 'b']);
});

test('greedy: an unmet budget keeps the lowest drop with the fewest float layers; --keep-float measures every step to K', async () => {
  const f = fakeDrops([9, 3, 2, 2, 2.5]);
  const r = await greedySearch(['a', 'b', 'c', 'd'], { maxDrop: 1 }, f.evaluate);
  assert.equal(f.calls.length, 5);
  assert.equal(r.met, false);
  assert.equal(r.chosen, 2);

  const k = fakeDrops([9, 0, 0, 5]);
  const kr = await greedySearch(['a', 'b', 'c', 'd'], { keepFloat: 3 }, k.evaluate);
  assert.deepEqual(k.calls.map((c) => c.length), [0, 1, 2, 3]);
  assert.equal(kr.chosen, 3);
  assert.equal(kr.met, true);
  await assert.rejects(greedySearch(['a'], { keepFloat: 2 }, k.evaluate), RangeError);
});

test('the budget: exactly one of --max-drop and --keep-float, neither negative', () => {
  assert.deepEqual(budgetOf({ maxDrop: 0.5 }), { maxDrop: 0.5 });
  assert.deepEqual(budgetOf({ keepFloat: 0 }), { keepFloat: 0 });
  assert.throws(() => budgetOf({}), /exactly one of --max-drop POINTS and --keep-float K/);
  assert.throws(() => budgetOf({ maxDrop: 1, keepFloat: 1 }), /exactly one/);
  assert.throws(() => budgetOf({ maxDrop: -0.1 }), /--max-drop takes accuracy points >= 0/);
  assert.throws(() => budgetOf({ maxDrop: NaN }), /--max-drop takes accuracy points >= 0/);
  assert.throws(() => budgetOf({ keepFloat: 1.5 }), /--keep-float takes a whole number of layers >= 0/);
  assert.throws(() => budgetOf({ keepFloat: -1 }), /--keep-float takes a whole number of layers >= 0/);
});

test('float16 bit patterns match numpy (rounding to nearest even, subnormals, overflow)', () => {
  // numpy: np.array([...], np.float32).astype(np.float16).view(np.uint16)
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00],
    [1e6, 0x7c00], [6.1035156e-05, 0x0400], [5.9604645e-08, 0x0001], [2.9802322e-08, 0x0000], [1.00048828125, 0x3c00],
    [1.00146484375, 0x3c02], [3.14159265, 0x4248], [Infinity, 0x7c00], [-1e-3, 0x9419],
  ];
  for (const [v, bits] of cases) assert.equal(toFloat16Bits(v), bits, `${v}`);
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
  for (const v of [0.1, -3.5, 1234.5, 1e-4]) assert.ok(Math.abs(fromFloat16Bits(toFloat16Bits(v)) - v) <= Math.abs(v) * 2 ** -11);
});

// ---------------------------------------------------------------- end to end

let c: OutlierCase;
let sens: SensitivityReport;
let sensPath: string;
/** The MLP with an outlier on an Add no layer owns (lib/outlier.ts), calibrated and ranked. */
const add = { dir: '', model: '', calibration: '', sensitivity: '' };
const DIGITS_EVAL = ['--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')];
before(() => {
  c = setupOutlierCase(tempDir());
  const out = tempDir();
  const r = runQtool(['sensitivity', c.model, '--calibration', c.calibration, '--data', c.evalX, '--labels', c.evalY, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  sensPath = join(out, 'sensitivity.json');
  sens = sensitivityReportSchema.parse(JSON.parse(readFileSync(sensPath, 'utf8')));

  add.dir = tempDir();
  add.model = join(add.dir, 'add-outlier.onnx');
  makeAddOutlierModel(MLP, add.model, { feature: 43, scale: 1000 });
  assert.equal(runQtool(['calibrate', add.model, '--data', DIGITS('calib_x.npy'), '--method', 'max', '--out', add.dir]).code, 0);
  add.calibration = join(add.dir, 'calibration.json');
  assert.equal(runQtool(['sensitivity', add.model, '--calibration', add.calibration, ...DIGITS_EVAL, '--out', add.dir]).code, 0);
  add.sensitivity = join(add.dir, 'sensitivity.json');
});

function partialJson(out: string, ...budget: string[]): { code: number; report: PartialReport; stderr: string } {
  const r = runQtool(['partial', c.model, '--calibration', c.calibration, '--sensitivity', sensPath, '--data', c.evalX, '--labels', c.evalY, ...budget, '--out', out, '--json']);
  const report = partialReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(partialReportSchema.parse(JSON.parse(readFileSync(join(out, 'partial.json'), 'utf8'))), report);
  return { code: r.code, report, stderr: r.stderr };
}

function evalTop1(model: string, data: string, labels: string): number {
  const r = runQtool(['eval', model, '--data', data, '--labels', labels, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return evalReportSchema.parse(JSON.parse(r.stdout)).top1!;
}

test('the outlier case: calibrate -> sensitivity -> partial --max-drop 0.5 ends within half a point of FP32, most layers quantized', () => {
  const out = tempDir();
  const { code, report: r, stderr } = partialJson(out, '--max-drop', '0.5');
  assert.equal(code, 0, stderr);
  assert.equal(r.met, true);
  assert.ok(r.curve[0].drop > 5, `fully quantized drop ${r.curve[0].drop}`);
  assert.ok(r.result.drop <= 0.5);
  // Greedy: one more float layer per step, stopping at the first within budget.
  assert.deepEqual(r.curve.map((p) => p.floatLayers), r.curve.map((_, i) => i));
  assert.ok(r.curve.slice(0, -1).every((p) => p.drop > 0.5));
  assert.deepEqual(r.floatLayers, sens.ranking.slice(0, r.floatLayers.length));
  assert.ok(r.floatLayers.length <= 2 && r.totalLayers === 16, `${r.floatLayers.length} of ${r.totalLayers} layers in float`);

  // Measured independently: qtool eval of the written model and of FP32 on the same samples.
  const model = join(out, 'model.partial.onnx');
  const fp32 = evalTop1(c.model, c.evalX, c.evalY);
  const partial = evalTop1(model, c.evalX, c.evalY);
  assert.equal(partial, r.result.accuracy);
  assert.ok(fp32 - partial <= 0.5, `FP32 ${fp32} %, partial ${partial} %`);
  // The float layers read float weights; the others int8 weights behind DequantizeLinear.
  const g = loadModel(model).model.graph!;
  const cal = calibrationSchema.parse(JSON.parse(readFileSync(c.calibration, 'utf8')));
  const floatWeights = new Set(cal.layers.filter((l) => r.floatLayers.includes(l.name)).map((l) => l.weight));
  for (const n of g.node!.filter((x) => x.op_type === 'Conv')) {
    assert.equal(floatWeights.has(n.input![1]), r.floatLayers.includes(n.name!), `${n.name} weight ${n.input![1]}`);
  }
  assert.equal(g.initializer!.filter((t) => t.data_type === onnx.TensorProto.DataType.INT8 && t.dims!.length === 4).length, 15 - r.floatLayers.length);
});

test('--keep-float K with --float-type fp16: K+1 steps, the float layers stored in half precision behind a Cast', () => {
  const a = partialJson(tempDir(), '--keep-float', '2');
  const outB = tempDir();
  const b = partialJson(outB, '--keep-float', '2', '--float-type', 'fp16');
  for (const x of [a, b]) {
    assert.equal(x.code, 0, x.stderr);
    assert.deepEqual(x.report.curve.map((p) => p.floatLayers), [0, 1, 2]);
    assert.deepEqual(x.report.floatLayers, sens.ranking.slice(0, 2));
  }
  assert.equal(b.report.floatType, 'fp16');
  // Half-precision weights cost at most a sample or two here.
  assert.ok(Math.abs(a.report.result.accuracy - b.report.result.accuracy) <= 0.4);
  assert.ok(b.report.result.sizeBytes < a.report.result.sizeBytes);

  const g = loadModel(join(outB, 'model.partial.onnx')).model.graph!;
  const half = g.initializer!.filter((t) => t.data_type === onnx.TensorProto.DataType.FLOAT16);
  assert.equal(half.length, 4, 'weight and bias of two layers');
  const casts = new Map(g.node!.filter((n) => n.op_type === 'Cast').map((n) => [n.output![0], n]));
  for (const name of b.report.floatLayers) {
    const conv = g.node!.find((n) => n.name === name)!;
    for (const i of conv.input!.slice(1)) {
      const cast = casts.get(i);
      assert.ok(cast, `${name} reads ${i} through a Cast`);
      assert.ok(half.some((t) => t.name === cast.input![0]));
      assert.equal(Number(cast.attribute![0].i), onnx.TensorProto.DataType.FLOAT);
    }
  }
  // onnxruntime runs it, with the accuracy the report states.
  assert.equal(evalTop1(join(outB, 'model.partial.onnx'), c.evalX, c.evalY), b.report.result.accuracy);
});

test('a budget no set of float layers can meet: the best model is written, the report says so, exit 1', () => {
  // The outlier sits on an Add that no layer owns: even all layers in float keep its Q/DQ pairs.
  const out = join(add.dir, 'partial');
  const r = runQtool(['partial', add.model, '--calibration', add.calibration, '--sensitivity', add.sensitivity, ...DIGITS_EVAL, '--max-drop', '0.5', '--out', out, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^qtool: error: budget not met: even with all 3 layers in float/);
  const report = partialReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.met, false);
  assert.deepEqual(report.curve.map((p) => p.floatLayers), [0, 1, 2, 3]);
  assert.ok(report.curve.every((p) => p.drop > 0.5));
  const best = Math.min(...report.curve.map((p) => p.drop));
  assert.equal(report.result.drop, best);
  assert.equal(report.result.floatLayers, report.curve.find((p) => p.drop === best)!.floatLayers);
  assert.match(report.message, /budget not met/);
  // The written model is that best one.
  const top1 = evalTop1(join(out, 'model.partial.onnx'), DIGITS('eval_x.npy'), DIGITS('eval_y.npy'));
  assert.equal(top1, report.result.accuracy);
});


test('bad input: one line, exit 2, nothing written', () => {
  const dir = tempDir();
  const base = [c.model, '--calibration', c.calibration, '--sensitivity', sensPath, '--data', c.evalX, '--labels', c.evalY];
  expectBadInput('partial', [...base, '--max-drop', '0.5', '--keep-float', '2'], /exactly one of --max-drop POINTS and --keep-float K/);
  expectBadInput('partial', [...base, '--max-drop', '-1'], /--max-drop takes accuracy points >= 0, got -1/);
  expectBadInput('partial', [...base, '--keep-float', '-2'], /--keep-float takes a whole number of layers >= 0, got -2/);
  expectBadInput('partial', [...base, '--keep-float', '17'], /--keep-float 17: the model has only 16 quantizable layers/);

  // Reports for another model (the Add-outlier MLP's), missing or broken.
  const withReports = (cal: string, s: string) => [c.model, '--calibration', cal, '--sensitivity', s, '--data', c.evalX, '--labels', c.evalY, '--max-drop', '1'];
  expectBadInput('partial', withReports(c.calibration, add.sensitivity), /sensitivity\.json: was made for another model \(.*add-outlier\.onnx/);
  expectBadInput('partial', withReports(add.calibration, sensPath), /calibration\.json: was made for another model/);
  expectBadInput('partial', withReports(c.calibration, join(dir, 'none.json')), /none\.json: no such file/);
  expectBadInput('partial', withReports(c.calibration, c.calibration), /calibration\.json: not a valid report: schema/);
  const cut = join(dir, 'cut.json');
  writeFileSync(cut, readFileSync(sensPath, 'utf8').slice(0, 200));
  expectBadInput('partial', withReports(c.calibration, cut), /cut\.json: not valid JSON/);
});
