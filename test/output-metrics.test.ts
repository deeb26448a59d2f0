// Metrics for outputs that are not [N, classes]: the rule by shape, per-position
// agreement for [N, T, C], SQNR for maps, a figure per output of a model with
// several, and the scorer on PaddleOCR's PP-OCRv4 recognizer ([N, T, 6625]).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { onnx } from '../src/onnx/proto/onnx.js';
import { cloneModel, encodeModel, loadModel, type Model } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { makeTensor, tensorToArray } from '../src/onnx/tensor.js';
import { loadDataset } from '../src/data/dataset.js';
import { collectOutputs, type OutputValues } from '../src/runtime/outputs.js';
import { outputFigure, outputKind, positionsPerSample } from '../src/metrics/output-figure.js';
import { AGREEMENT, dropOf, SQNR, SQNR_CAP_DB, sqnrValue } from '../src/metrics/metric.js';
import { OutputScorer } from '../src/metrics/output-scorer.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { evalReportSchema } from '../src/report/schemas/eval.js';
import { sensitivityReportSchema } from '../src/report/schemas/sensitivity.js';
import { partialReportSchema } from '../src/report/schemas/partial.js';
import { InputError } from '../src/util/errors.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';
import { writeNpy } from './lib/npy-write.js';
import { fillNormal, mulberry32 } from './lib/random.js';
import { saveModel } from './lib/save-model.js';
import { checkFinal, run, statuses, writeConfig } from './lib/qtool-run.js';

const output = (name: string, dims: number[], values: number[] | Float32Array): OutputValues =>
  ({ name, dims, cols: dims.reduce((a, b) => a * b, 1), values: Float32Array.from(values) });

test('the rule by shape: [N, C] per sample, [N, T, C] per position, everything else a map', () => {
  assert.equal(outputKind([10]), 'classes');
  assert.equal(outputKind([25, 6625]), 'positions');
  assert.equal(outputKind([1, 640, 640]), 'map', 'a detector probability map [N, 1, H, W]');
  assert.equal(outputKind([1]), 'map', '[N, 1] has no classes to choose between');
  assert.equal(outputKind([]), 'map', '[N]');
  assert.equal(outputKind([4, 1]), 'map', '[N, T, 1]');
  assert.deepEqual([positionsPerSample([10]), positionsPerSample([25, 6625]), positionsPerSample([1, 8, 8])], [1, 25, 0]);
});

test('per-position agreement: a hand-computed [2, 3, 4] case', () => {
  // Two samples, three positions, four classes; the argmax at each position is written out below.
  const ref = output('seq', [3, 4], [
    0.9, 0.0, 0.1, 0.0, /* 0 */ 0.0, 0.8, 0.1, 0.1, /* 1 */ 0.1, 0.1, 0.7, 0.1, /* 2 */
    0.0, 0.0, 0.0, 1.0, /* 3 */ 0.6, 0.4, 0.0, 0.0, /* 0 */ 0.2, 0.3, 0.5, 0.0, /* 2 */
  ]);
  const test_ = output('seq', [3, 4], [
    0.8, 0.1, 0.1, 0.0, /* 0 same */ 0.0, 0.4, 0.5, 0.1, /* 2 differs */ 0.1, 0.1, 0.7, 0.1, /* 2 same */
    0.0, 0.0, 0.1, 0.9, /* 3 same */ 0.4, 0.6, 0.0, 0.0, /* 1 differs */ 0.2, 0.3, 0.5, 0.0, /* 2 same */
  ]);
  const f = outputFigure(ref, test_, 2);
  assert.equal(f.kind, 'positions');
  assert.equal(f.metric, 'agreement');
  assert.equal(f.agreement, (100 * 4) / 6, '4 of 6 positions agree');
  assert.equal(f.value, f.agreement);
  // As rows of a [N, C] output the same numbers would be one 12-class prediction per sample: 2 of 2 differ.
  const asRows = outputFigure(output('rows', [12], ref.values), output('rows', [12], test_.values), 2);
  assert.equal(asRows.kind, 'classes');
  assert.notEqual(asRows.agreement, f.agreement);
});

test('per-position agreement equals a brute force over random [N, T, C] tensors', () => {
  const rng = mulberry32(12);
  for (const [n, t, c] of [[1, 1, 2], [3, 7, 5], [8, 25, 37], [2, 40, 6625]]) {
    const ref = fillNormal(new Float32Array(n * t * c), rng);
    // A candidate that is the reference plus noise, so that some argmaxes flip and most do not.
    const cand = Float32Array.from(ref, (v) => v + 0.3 * (rng() - 0.5));
    let same = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < t; j++) {
        const at = (a: Float32Array) => {
          let best = 0;
          for (let k = 1; k < c; k++) if (a[(i * t + j) * c + k] > a[(i * t + j) * c + best]) best = k;
          return best;
        };
        if (at(ref) === at(cand)) same++;
      }
    }
    const f = outputFigure(output('y', [t, c], ref), output('y', [t, c], cand), n);
    assert.equal(f.agreement, (100 * same) / (n * t), `[${n}, ${t}, ${c}]`);
    let signal = 0;
    let noise = 0;
    ref.forEach((v, i) => { signal += v * v; noise += (v - cand[i]) ** 2; });
    assert.ok(Math.abs(f.sqnrDb! - 10 * Math.log10(signal / noise)) < 1e-6, `SQNR ${f.sqnrDb}`);
  }
});

test('a map is scored by SQNR: value in dB clamped to [0, 100], FP32 at the cap, the drop in dB below it', () => {
  const ref = output('prob', [1, 2, 2], [0.1, 0.9, 0.5, 0.2, 0.3, 0.7, 0.8, 0.4]);
  const cand = output('prob', [1, 2, 2], [0.1, 0.8, 0.5, 0.2, 0.3, 0.7, 0.9, 0.4]);
  const f = outputFigure(ref, cand, 2);
  assert.equal(f.kind, 'map');
  assert.equal(f.metric, 'sqnr');
  assert.equal(f.agreement, null);
  const signal = [0.1, 0.9, 0.5, 0.2, 0.3, 0.7, 0.8, 0.4].reduce((a, v) => a + Math.fround(v) ** 2, 0);
  const noise = (Math.fround(0.9) - Math.fround(0.8)) ** 2 + (Math.fround(0.8) - Math.fround(0.9)) ** 2;
  assert.ok(Math.abs(f.value - 10 * Math.log10(signal / noise)) < 1e-4, `${f.value} dB`);
  assert.equal(outputFigure(ref, ref, 2).value, SQNR_CAP_DB, 'identical outputs score the cap');
  assert.deepEqual([sqnrValue(null), sqnrValue(250), sqnrValue(-3), sqnrValue(31.5)], [100, 100, 0, 31.5]);
  assert.equal(dropOf(SQNR, SQNR_CAP_DB, 31.5), 68.5, 'dB below the cap');
});

/**
 * x [N, 4] -> three outputs, each after its own MatMul (all quantizable):
 * logits [N, 3], seq [N, 2, 3] (Reshape), prob [N, 1, 2, 2] (Reshape, Sigmoid).
 */
function threeOutputModel(seed: number): Model {
  const rng = mulberry32(seed);
  const w = (name: string, cols: number) => makeTensor(name, 'float32', [4, cols], fillNormal(new Float32Array(4 * cols), rng));
  const shape = (name: string, dims: number[]) => makeTensor(name, 'int64', [dims.length], BigInt64Array.from(dims.map(BigInt)));
  const value = (name: string, dims: (number | string)[]) => onnx.ValueInfoProto.create({
    name, type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  });
  const node = (op: string, input: string[], out: string) => onnx.NodeProto.create({ op_type: op, input, output: [out], name: out });
  const g = onnx.GraphProto.create({
    name: 'three-outputs',
    input: [value('x', ['N', 4])],
    output: [value('logits', ['N', 3]), value('seq', ['N', 2, 3]), value('prob', ['N', 1, 2, 2])],
    initializer: [w('W1', 3), w('W2', 6), w('W3', 4), shape('seq_shape', [-1, 2, 3]), shape('map_shape', [-1, 1, 2, 2])],
    node: [
      node('MatMul', ['x', 'W1'], 'logits'),
      node('MatMul', ['x', 'W2'], 's'), node('Reshape', ['s', 'seq_shape'], 'seq'),
      node('MatMul', ['x', 'W3'], 'm'), node('Reshape', ['m', 'map_shape'], 'mr'), node('Sigmoid', ['mr'], 'prob'),
    ],
  });
  return onnx.ModelProto.create({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph: g });
}

/** The FP32 model, a copy with every weight perturbed, and data, in a temporary folder. */
function threeOutputCase(): { dir: string; fp32: string; perturbed: string; data: string } {
  const dir = tempDir();
  const fp32 = join(dir, 'three.onnx');
  const model = threeOutputModel(3);
  saveModel(model, fp32);
  const noisy = cloneModel(model);
  const rng = mulberry32(4);
  noisy.graph!.initializer = noisy.graph!.initializer!.map((t) => {
    const a = tensorToArray(t);
    if (a.type !== 'float32') return t;
    return makeTensor(t.name!, 'float32', a.dims, Float32Array.from(a.data as Float32Array, (v) => v + 0.4 * (rng() - 0.5)));
  });
  const perturbed = join(dir, 'perturbed.onnx');
  saveModel(noisy, perturbed);
  const data = join(dir, 'x.npy');
  writeNpy(data, { dtype: 'float32', shape: [64, 4], data: fillNormal(new Float32Array(64 * 4), mulberry32(5)) });
  return { dir, fp32, perturbed, data };
}

test('a model with three outputs gets a figure per output; the metric is the primary output\'s', async () => {
  const c = threeOutputCase();
  const fp32 = loadModel(c.fp32);
  const ds = loadDataset(c.data, graphInputs(fp32.model.graph!));
  const perturbed = encodeModel(loadModel(c.perturbed).model);

  const scorer = await OutputScorer.create(fp32.bytes, c.fp32, ds, { batchSize: 16 });
  assert.equal(scorer.metric, AGREEMENT);
  assert.deepEqual(scorer.primary, { name: 'logits', dims: [3], kind: 'classes' });
  const s = await scorer.score(perturbed, 'perturbed');
  assert.deepEqual(s.outputs.map((o) => [o.name, o.kind, o.metric, o.dims]), [
    ['logits', 'classes', 'agreement', [3]], ['seq', 'positions', 'agreement', [2, 3]], ['prob', 'map', 'sqnr', [1, 2, 2]],
  ]);
  // Each figure against the outputs computed here and compared by the figure function, one by one.
  const a = await collectOutputs(fp32.bytes, 'fp32', ds, { batchSize: 64 });
  const b = await collectOutputs(perturbed, 'perturbed', ds, { batchSize: 64 });
  s.outputs.forEach((o, i) => assert.deepEqual(o, outputFigure(a.outputs[i], b.outputs[i], 64)));
  assert.equal(s.predictions.length, 64);
  assert.equal(s.value, s.outputs[0].agreement);
  assert.equal(s.agreement, s.outputs[0].agreement);
  assert.equal(s.drop, 100 - s.value);
  assert.ok(s.outputs[1].agreement! < 100 && s.outputs[2].sqnrDb! < 60, 'the perturbation shows in every output');

  // The budget on another output: per-position agreement on seq, SQNR on the map.
  const onSeq = await OutputScorer.create(fp32.bytes, c.fp32, ds, { batchSize: 16, output: 'seq' });
  const seq = await onSeq.score(perturbed, 'perturbed');
  assert.equal(seq.value, s.outputs[1].agreement);
  assert.equal(seq.predictions.length, 64 * 2, 'one prediction per position');
  const onMap = await OutputScorer.create(fp32.bytes, c.fp32, ds, { batchSize: 16, output: 'prob' });
  assert.deepEqual([onMap.metric, onMap.fp32], [SQNR, SQNR_CAP_DB]);
  const map = await onMap.score(perturbed, 'perturbed');
  assert.deepEqual([map.value, map.drop, map.agreement, map.predictions.length], [s.outputs[2].value, SQNR_CAP_DB - s.outputs[2].value, null, 0]);
  const self = await onMap.score(fp32.bytes, 'fp32');
  assert.deepEqual([self.value, self.drop], [SQNR_CAP_DB, 0]);

  await assert.rejects(OutputScorer.create(fp32.bytes, c.fp32, ds, { batchSize: 16, output: 'nope' }),
    (e: Error) => e instanceof InputError && /no output 'nope' \(its outputs: logits, seq, prob\)/.test(e.message));
  await assert.rejects(OutputScorer.create(fp32.bytes, c.fp32, ds, { batchSize: 16, output: 'prob', labels: new Int32Array(64), labelsPath: 'y.npy' }),
    (e: Error) => e instanceof InputError && /y\.npy: class labels score an \[N, classes\] output; output 'prob' is \[N, 1, 2, 2\]/.test(e.message));
});

test('calibrate --select best without labels: a figure per output in calibrate.json and the table', () => {
  const c = threeOutputCase();
  const out = join(c.dir, 'out');
  const r = runQtool(['calibrate', c.fp32, '--data', c.data, '--eval', c.data, '--method', 'max,percentile,mse', '--select', 'best', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(report.metric, { name: 'agreement', output: 'logits', fp32: 100 });
  assert.ok(report.methods.some((m) => m.method === 'max') && report.methods.some((m) => m.method === 'mse'), report.methods.map((m) => m.method).join());
  for (const m of report.methods) {
    assert.deepEqual(m.outputs!.map((o) => o.name), ['logits', 'seq', 'prob']);
    assert.equal(m.value, m.outputs![0].agreement);
    assert.equal(m.sqnrDb, m.outputs![0].sqnrDb);
  }
  const best = Math.max(...report.methods.map((m) => m.value!));
  const chosen = report.methods.find((m) => m.method === report.selected.method)!;
  assert.equal(chosen.value, best, report.selected.reason);

  const table = runQtool(['calibrate', c.fp32, '--data', c.data, '--eval', c.data, '--method', 'max,mse', '--select', 'best', '--out', out]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /compared by agreement with FP32 .* on output logits/);
  assert.match(table.stdout, /seq agree %/);
  assert.match(table.stdout, /prob SQNR dB/);
});

test('qtool eval reports every output against the reference', () => {
  const c = threeOutputCase();
  const r = runQtool(['eval', c.perturbed, '--data', c.data, '--reference', c.fp32, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = evalReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(report.outputs.map((o) => [o.name, o.kind]), [['logits', 'classes'], ['seq', 'positions'], ['prob', 'map']]);
  assert.equal(report.agreement, report.outputs[0].agreement);
  const text = runQtool(['eval', c.perturbed, '--data', c.data, '--reference', c.fp32]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /seq \[N, 2, 3\]: agreement per position \d+\.\d+ %, SQNR -?\d+\.\d dB/);
  assert.match(text.stdout, /prob \[N, 1, 2, 2\]: SQNR -?\d+\.\d dB/);
  // Labels for a first output that is not [N, C] are refused naming the file.
  const labels = join(c.dir, 'y.npy');
  writeNpy(labels, { dtype: 'int64', shape: [64], data: new BigInt64Array(64) });
  const seqFirst = join(c.dir, 'seq-first.onnx');
  const m = loadModel(c.fp32).model;
  m.graph!.output = [m.graph!.output![1], m.graph!.output![0]];
  saveModel(m, seqFirst);
  const bad = runQtool(['eval', seqFirst, '--data', c.data, '--labels', labels]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /y\.npy: class labels score an \[N, classes\] output; the model's first output 'seq' is \[N, 2, 3\]/);
});

const OCR_REC = repoPath('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_rec_infer.onnx');

test('PP-OCRv4 recognizer [N, T, 6625]: agreement per position, against itself and a perturbed head', async () => {
  const fp32 = loadModel(OCR_REC);
  const dir = tempDir();
  const data = join(dir, 'lines.npy');
  // Two "text lines" 48 x 160: T = 160 / 8 = 20 positions each.
  writeNpy(data, { dtype: 'float32', shape: [2, 3, 48, 160], data: Float32Array.from(fillNormal(new Float32Array(2 * 3 * 48 * 160), mulberry32(6)), (v) => 0.5 * v) });
  const ds = loadDataset(data, graphInputs(fp32.model.graph!));
  const scorer = await OutputScorer.create(fp32.bytes, OCR_REC, ds, { batchSize: 2 });
  assert.equal(scorer.metric, AGREEMENT);
  assert.equal(scorer.primary.kind, 'positions');
  assert.equal(scorer.primary.dims[1], 6625);
  const self = await scorer.score(fp32.bytes, 'fp32');
  assert.deepEqual([self.value, self.drop, self.sqnrDb, self.predictions.length], [100, 0, null, 2 * scorer.primary.dims[0]]);

  // The classifier head (the last MatMul's Constant weight) with noise: some positions change their argmax, not all.
  const model = cloneModel(fp32.model);
  const g = model.graph!;
  const head = [...g.node!].reverse().find((n) => n.op_type === 'MatMul')!;
  const weight = g.node!.find((n) => n.op_type === 'Constant' && n.output![0] === head.input![1])!;
  const t = tensorToArray(weight.attribute![0].t!);
  const rng = mulberry32(7);
  const noisy = Float32Array.from(t.data as Float32Array, (v) => v + (rng() - 0.5));
  weight.attribute![0].t = makeTensor(weight.output![0], 'float32', t.dims, noisy);
  const perturbed = encodeModel(model);
  const s = await scorer.score(perturbed, 'perturbed');
  const a = await collectOutputs(fp32.bytes, 'fp32', ds, { batchSize: 2 });
  const b = await collectOutputs(perturbed, 'perturbed', ds, { batchSize: 2 });
  const [T, C] = a.outputs[0].dims;
  let same = 0;
  for (let p = 0; p < 2 * T; p++) {
    let ia = 0;
    let ib = 0;
    for (let k = 1; k < C; k++) {
      if (a.values[p * C + k] > a.values[p * C + ia]) ia = k;
      if (b.values[p * C + k] > b.values[p * C + ib]) ib = k;
    }
    if (ia === ib) same++;
  }
  assert.equal(s.value, (100 * same) / (2 * T), `${same} of ${2 * T} positions`);
  assert.ok(same > 0 && same < 2 * T, `${same} of ${2 * T} positions agree`);
  assert.ok(s.sqnrDb !== null && s.sqnrDb < 60, `${s.sqnrDb} dB`);
});

test('--output names the output the budget is on: calibrate, sensitivity and partial on a map by SQNR', () => {
  const c = threeOutputCase();
  const out = join(c.dir, 'out');
  const json = (args: string[]) => {
    const r = runQtool([...args, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const cal = calibrateReportSchema.parse(json(['calibrate', c.fp32, '--data', c.data, '--eval', c.data, '--method', 'max,mse', '--select', 'best', '--output', 'prob']));
  assert.deepEqual(cal.metric, { name: 'sqnr', output: 'prob', fp32: SQNR_CAP_DB });
  const chosen = cal.methods.find((m) => m.method === cal.selected.method)!;
  assert.equal(chosen.value, sqnrValue(chosen.outputs![2].sqnrDb));
  assert.equal(chosen.agreement, null);
  assert.match(cal.selected.reason, /best output SQNR against FP32/);

  const calibration = join(out, 'calibration.json');
  const sens = sensitivityReportSchema.parse(json(['sensitivity', c.fp32, '--calibration', calibration, '--data', c.data, '--output', 'prob']));
  assert.equal(sens.metric, 'sqnr', 'no class axis: SQNR by default');
  assert.equal(sens.quantized.agreement, null);
  assert.equal(sens.quantized.sqnrDb, chosen.sqnrDb);
  assert.deepEqual(sens.quantized.outputs, chosen.outputs, 'the fully quantized model: calibrate\'s selected one');
  const refused = runQtool(['sensitivity', c.fp32, '--calibration', calibration, '--data', c.data, '--output', 'prob', '--metric', 'agreement', '--out', join(c.dir, 'x')]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--metric agreement: output 'prob' \(\[N, 1, 2, 2\]\) has no class axis/);

  // A budget just under the fully quantized model's drop: at least one layer goes to float.
  const budget = SQNR_CAP_DB - chosen.value! - 1;
  const r = runQtool(['partial', c.fp32, '--calibration', calibration, '--sensitivity', join(out, 'sensitivity.json'), '--data', c.data,
    '--output', 'prob', '--max-drop', String(budget), '--out', out, '--json']);
  const p = partialReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(r.code, p.met ? 0 : 1, r.stderr);
  assert.equal(p.accuracyMetric, 'sqnr');
  assert.equal(p.fp32.accuracy, SQNR_CAP_DB);
  assert.equal(p.curve[0].drop, SQNR_CAP_DB - chosen.value!);
  for (const s of p.curve) {
    assert.equal(s.accuracy, sqnrValue(s.sqnrDb));
    assert.equal(s.drop, SQNR_CAP_DB - s.accuracy);
    assert.equal(s.agreement, null);
    assert.deepEqual(s.outputs!.map((o) => o.name), ['logits', 'seq', 'prob']);
    assert.equal(s.outputs![2].sqnrDb, s.sqnrDb);
  }
  assert.ok(p.result.floatLayers >= 1, 'the budget needs a float layer');
  assert.equal(p.met, p.result.drop <= budget);
  assert.match(p.message, /output SQNR drop \d+\.\d+ (<= \S+ )?dB/);
});

test('PP-OCRv4 detector [N, 1, H, W]: a probability map, scored by SQNR', async () => {
  const det = repoPath('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_det_infer.onnx');
  const fp32 = loadModel(det);
  const dir = tempDir();
  const data = join(dir, 'pages.npy');
  writeNpy(data, { dtype: 'float32', shape: [2, 3, 64, 96], data: fillNormal(new Float32Array(2 * 3 * 64 * 96), mulberry32(8)) });
  const ds = loadDataset(data, graphInputs(fp32.model.graph!));
  const scorer = await OutputScorer.create(fp32.bytes, det, ds, { batchSize: 2 });
  assert.deepEqual([scorer.metric, scorer.fp32, scorer.primary.kind, scorer.primary.dims], [SQNR, SQNR_CAP_DB, 'map', [1, 64, 96]]);
  const self = await scorer.score(fp32.bytes, 'fp32');
  assert.deepEqual([self.value, self.drop, self.agreement, self.predictions.length], [SQNR_CAP_DB, 0, null, 0]);
  assert.equal(self.outputs[0].metric, 'sqnr');
});

test('qat-finetune refuses a model whose first output is a map: it measures accuracy by an argmax', () => {
  const c = threeOutputCase();
  const mapFirst = join(c.dir, 'map-first.onnx');
  const m = loadModel(c.fp32).model;
  m.graph!.output = [m.graph!.output![2], m.graph!.output![0]];
  saveModel(m, mapFirst);
  const out = join(c.dir, 'out');
  const cal = runQtool(['calibrate', mapFirst, '--data', c.data, '--method', 'max', '--out', out]);
  assert.equal(cal.code, 0, cal.stderr);
  const r = runQtool(['qat-finetune', mapFirst, '--calibration', join(out, 'calibration.json'), '--train', c.data, '--distill', '--epochs', '1', '--out', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /map-first\.onnx: output 'prob' \(\[N, 1, 2, 2\]\) has no class axis/);
});

test('qtool run with every stage on the map (output prob in the config): the metric is SQNR, the budget dB below the cap', () => {
  const c = threeOutputCase();
  const output = { output: 'prob' };
  // A budget of 0.5 dB below "identical": calibrate's model misses it, partial must keep layers in float.
  const config = writeConfig(c.dir, {
    model: c.fp32, data: { calibration: c.data, eval: c.data }, maxDrop: 0.5,
    calibrate: { method: 'max', select: 'best', ...output }, sensitivity: output, partial: output,
  });
  const out = join(c.dir, 'out');
  const { report } = run(config, out);
  assert.equal(report.metric, 'sqnr');
  assert.equal(report.fp32.accuracy, SQNR_CAP_DB);
  assert.deepEqual(statuses(report).slice(0, 3), ['calibrate:ran', 'sensitivity:ran', 'partial:ran']);
  const partial = report.stages.find((s) => s.name === 'partial')!;
  assert.equal(partial.drop, SQNR_CAP_DB - partial.accuracy!);
  assert.equal(report.final.metBudget, report.final.drop <= 0.5);
  assert.match(report.final.message, / dB/, 'the messages count the budget in dB');
  assert.doesNotMatch(report.final.message, /points/);
  checkFinal(out, report);
});
