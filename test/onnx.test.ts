// The ONNX layer against ONNX's own backend test suite: models decode, save
// back to bytes onnxruntime runs identically, and TensorProtos read right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { onnx } from '../src/onnx/proto/onnx.js';
import { decodeModel, encodeModel, loadModel } from '../src/onnx/model.js';
import { graphInputs, topologicalOrder } from '../src/onnx/graph.js';
import { exposeTensorsInBytes } from '../src/onnx/rewrite.js';
import { tensorToArray } from '../src/onnx/tensor.js';
import { InputError } from '../src/util/errors.js';
import { exposeTensors } from './lib/expose-tensors.js';
import { onnxTestData, repoPath } from './lib/helpers.js';

const CASES = ['test_conv_with_strides_padding', 'test_gemm_default_single_elem_vector_bias', 'test_matmul_2d', 'test_layer_normalization_2d_axis0', 'test_maxpool_2d_pads', 'test_quantizelinear_axis', 'test_softmax_example'];

function readPb(path: string) {
  return tensorToArray(onnx.TensorProto.decode(readFileSync(path)));
}

for (const name of CASES) {
  test(`round trip keeps ${name} running identically in onnxruntime`, async () => {
    const dir = join(onnxTestData, name);
    const m = loadModel(join(dir, 'model.onnx'));
    const bytes = encodeModel(m.model);
    assert.deepEqual(Buffer.from(bytes), m.bytes, 'byte-identical re-encoding');
    const s1 = await ort.InferenceSession.create(m.bytes);
    const s2 = await ort.InferenceSession.create(bytes);
    const set = join(dir, 'test_data_set_0');
    const feeds: Record<string, ort.Tensor> = {};
    graphInputs(m.model.graph!).forEach((spec, i) => {
      const v = readPb(join(set, `input_${i}.pb`));
      feeds[spec.name] = new ort.Tensor(v.type as ort.Tensor.Type, v.data as ort.Tensor.DataType, v.dims);
    });
    const [o1, o2] = [await s1.run(feeds), await s2.run(feeds)];
    const expected = readPb(join(set, 'output_0.pb'));
    const name0 = s1.outputNames[0];
    assert.deepEqual(Array.from(o2[name0].data as ArrayLike<number>), Array.from(o1[name0].data as ArrayLike<number>));
    const got = o1[name0].data as ArrayLike<number>;
    for (let i = 0; i < expected.data.length; i++) {
      assert.ok(Math.abs(Number(got[i]) - Number(expected.data[i])) <= 1e-4 + 1e-4 * Math.abs(Number(expected.data[i])), `${name} output ${i}`);
    }
  });
}

test('TensorProto readers decode every storage form in the backend suite', () => {
  let checked = 0;
  for (const name of readdirSync(onnxTestData).slice(0, 400)) {
    const set = join(onnxTestData, name, 'test_data_set_0');
    if (!existsSync(set)) continue;
    // Only cases whose inputs are all plain tensors (not sequences or optionals).
    const g = onnx.ModelProto.decode(readFileSync(join(onnxTestData, name, 'model.onnx'))).graph!;
    if (!(g.input ?? []).every((i) => i.type?.tensor_type)) continue;
    for (const f of readdirSync(set).filter((f) => f.startsWith('input_'))) {
      const t = onnx.TensorProto.decode(readFileSync(join(set, f)));
      if (t.data_type === onnx.TensorProto.DataType.STRING || !t.data_type || t.data_type > 13) continue;
      const v = tensorToArray(t);
      assert.equal(v.data.length, v.dims.reduce((a, b) => a * b, 1), `${name}/${f}`);
      checked++;
    }
  }
  assert.ok(checked > 300, `checked ${checked} tensors`);
});

test('topological order puts producers before consumers on a real export', () => {
  const m = loadModel(repoPath('samples', 'transformer', 'model.onnx'));
  const g = m.model.graph!;
  const shuffled = { ...g, node: [...(g.node ?? [])].reverse() };
  const order = topologicalOrder(shuffled);
  const seen = new Set<string>([...(g.input ?? []).map((i) => i.name!), ...(g.initializer ?? []).map((i) => i.name!)]);
  for (const n of order) {
    for (const i of n.input ?? []) if (i) assert.ok(seen.has(i), `${n.name} reads ${i} before it is produced`);
    for (const o of n.output ?? []) seen.add(o);
  }
});

test('bad model bytes are one-line input errors naming the file', () => {
  const good = readFileSync(join(onnxTestData, 'test_matmul_2d', 'model.onnx'));
  assert.throws(() => decodeModel(good.subarray(0, good.length - 7), 'cut.onnx'), (e: Error) => e instanceof InputError && /^cut\.onnx: truncated/.test(e.message));
  assert.throws(() => decodeModel(Buffer.from('{"not": "onnx"}'), 'x.json'), (e: Error) => e instanceof InputError && /^x\.json: .*not an ONNX model/.test(e.message));
  assert.throws(() => decodeModel(new Uint8Array(0), 'empty.onnx'), /empty\.onnx: is empty/);
  const noInputs = onnx.ModelProto.decode(good);
  noInputs.graph!.input = [];
  assert.throws(() => decodeModel(encodeModel(noInputs), 'n.onnx'), /n\.onnx: the model has no inputs/);
});

test('exposing tensors by appending to the bytes equals re-encoding the model', async () => {
  const m = loadModel(repoPath('samples', 'resnet', 'model.onnx'));
  const names = (m.model.graph!.node ?? []).filter((n) => n.op_type === 'Relu').slice(0, 3).map((n) => n.output![0]);
  const appended = exposeTensorsInBytes(m.bytes, m.model, names);
  const reencoded = encodeModel(exposeTensors(m.model, names));
  // onnxruntime's protobuf merges the appended graph into the model's (protobufjs would replace it).
  const [sa, sb] = [await ort.InferenceSession.create(appended), await ort.InferenceSession.create(reencoded)];
  assert.deepEqual(sa.outputNames, ['logits', ...names]);
  assert.deepEqual(sa.outputNames, sb.outputNames);
  const feeds = { input: new ort.Tensor('float32', Float32Array.from({ length: 2 * 784 }, (_, i) => (i * 37) % 256), [2, 1, 28, 28]) };
  const [a, b] = [await sa.run(feeds), await sb.run(feeds)];
  for (const n of ['logits', ...names]) assert.deepEqual(Array.from(a[n].data as Float32Array), Array.from(b[n].data as Float32Array), n);
});
