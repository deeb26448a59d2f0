// OnnxTfGraph on the bundled sample models: the same logits as
// onnxruntime-node (batch 64, and another batch size through the same graph,
// so the exporters' shape subgraphs must follow the batch), finite and
// non-zero gradients for every trainable weight under a cross-entropy loss,
// no leaked tensors; and foldBatchNorm checked with onnxruntime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Scalar } from '@tensorflow/tfjs';
import ort from 'onnxruntime-node';
import { onnx } from '../src/onnx/proto/onnx.js';
import { encodeModel, loadModel, type Model } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { makeTensor } from '../src/onnx/tensor.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { batchFeeds } from '../src/data/batches.js';
import { loadLabels } from '../src/data/labels.js';
import { loadTf } from '../src/qat/tf.js';
import { OnnxTfGraph, tensorsFromFeeds } from '../src/qat/executor.js';
import { foldBatchNormReport } from '../src/quant/passes/fold-batchnorm.js';
import { repoPath } from './lib/helpers.js';
import { mulberry32 } from './lib/random.js';

const { tf, backend } = await loadTf();

interface Sample { name: string; model: string; x: string; y: string }

const SAMPLES: Sample[] = [
  { name: 'mlp', model: 'samples/mlp/model.onnx', x: 'samples/digits/eval_x.npy', y: 'samples/digits/eval_y.npy' },
  { name: 'resnet', model: 'samples/resnet/model.onnx', x: 'samples/mnist/eval_x.npy', y: 'samples/mnist/eval_y.npy' },
  { name: 'mobilenet', model: 'samples/mobilenet/model.onnx', x: 'samples/mnist/eval_x.npy', y: 'samples/mnist/eval_y.npy' },
  { name: 'transformer', model: 'samples/transformer/model.onnx', x: 'samples/mnist/eval_x.npy', y: 'samples/mnist/eval_y.npy' },
  { name: 'lenet-dynamo (torch.export exporter)', model: 'test/fixtures/lenet-dynamo/model.onnx', x: 'samples/mnist/eval_x.npy', y: 'samples/mnist/eval_y.npy' },
];

const BATCH = 64;
const OTHER_BATCH = 7;
/** Gradients on a small batch: the pure-JS backend is slow at conv backprop. */
const GRAD_BATCH = 8;
const TOLERANCE = 1e-3;

async function ortLogits(session: ort.InferenceSession, ds: Dataset, start: number, size: number): Promise<Float32Array> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(batchFeeds(ds, start, size))) feeds[name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
  const out = await session.run(feeds);
  return out[session.outputNames[0]!]!.data as Float32Array;
}

function tfLogits(g: OnnxTfGraph, ds: Dataset, start: number, size: number): { data: Float32Array; shape: number[] } {
  const feeds = tensorsFromFeeds(tf, batchFeeds(ds, start, size));
  const out = g.forward(feeds);
  const y = out[g.outputs[0]!.name]!;
  const result = { data: y.dataSync() as Float32Array, shape: y.shape };
  tf.dispose([...Object.values(out), ...Object.values(feeds)]);
  return result;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const report: string[] = [];

for (const s of SAMPLES) {
  test(`${s.name}: same logits as onnxruntime (batch ${BATCH} and ${OTHER_BATCH}), finite non-zero gradients`, async () => {
    const loaded = loadModel(repoPath(s.model));
    const ds = loadDataset(repoPath(s.x), graphInputs(loaded.model.graph!));
    const session = await ort.InferenceSession.create(loaded.bytes, { logSeverityLevel: 3 });
    const g = new OnnxTfGraph(loaded.model, tf);
    const before = tf.memory().numTensors;
    try {
      const diffs: number[] = [];
      for (const [start, size] of [[0, BATCH], [BATCH, OTHER_BATCH]] as const) {
        const want = await ortLogits(session, ds, start, size);
        const got = tfLogits(g, ds, start, size);
        assert.deepEqual(got.shape, [size, 10]);
        const d = maxAbsDiff(got.data, want);
        diffs.push(d);
        assert.ok(d < TOLERANCE, `${s.name} batch ${size}: max |tfjs - onnxruntime| = ${d}`);
      }

      const labels = loadLabels(repoPath(s.y), ds.count, repoPath(s.x));
      const vars = g.variables();
      assert.ok(vars.size > 0, 'the model has trainable weights');
      const feeds = tensorsFromFeeds(tf, batchFeeds(ds, 0, GRAD_BATCH));
      const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(labels.subarray(0, GRAD_BATCH), 'int32'), 10));
      const { value, grads } = tf.variableGrads(() => {
        const out = g.forward(feeds);
        return tf.losses.softmaxCrossEntropy(onehot, out[g.outputs[0]!.name]!) as Scalar;
      }, [...vars.values()]);
      const loss = value.dataSync()[0]!;
      assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
      for (const [name, v] of vars) {
        const grad = grads[v.name];
        assert.ok(grad, `no gradient for '${name}'`);
        assert.deepEqual(grad.shape, v.shape, `gradient shape of '${name}'`);
        const gd = grad.dataSync();
        let maxAbs = 0;
        for (const x of gd) {
          assert.ok(Number.isFinite(x), `non-finite gradient for '${name}'`);
          maxAbs = Math.max(maxAbs, Math.abs(x));
        }
        assert.ok(maxAbs > 0, `zero gradient for '${name}'`);
      }
      tf.dispose([value, ...Object.values(grads), ...Object.values(feeds), onehot]);
      assert.equal(tf.memory().numTensors, before, 'forward and gradients leave no tensors behind');
      report.push(`${s.name}: max |diff| ${diffs.map((d) => d.toExponential(2)).join(' (batch 64), ')} (batch 7); ${vars.size} variables, loss ${loss.toFixed(4)}`);
    } finally {
      g.dispose();
      await session.release();
    }
  });
}


// ---------------------------------------------------------------------------

test('forward returns only what was asked for, never a weight itself, and rejects unknown names and missing feeds', () => {
  const m = loadModel(repoPath('samples/mlp/model.onnx')).model;
  const g = new OnnxTfGraph(m, tf);
  try {
    const x = tf.randomUniform([3, 64], 0, 16);
    const mid = '/net/net.0/Gemm_output_0';
    const out = g.forward({ input: x }, { outputs: [mid, 'net.0.weight'] });
    assert.deepEqual(Object.keys(out).sort(), [mid, 'net.0.weight'].sort());
    assert.deepEqual(out[mid]!.shape, [3, 128]);
    const w = g.variables().get('net.0.weight')!;
    assert.notEqual(out['net.0.weight'], w, 'a copy, so that disposing it keeps the weight');
    tf.dispose(Object.values(out));
    assert.ok(!w.isDisposed);
    assert.throws(() => g.forward({ input: x }, { outputs: ['nope'] }), /'nope' is not a tensor of this graph/);
    assert.throws(() => g.forward({}), /missing feed for graph input 'input'/);
    x.dispose();
  } finally {
    g.dispose();
  }
});

test('scalar initializers and settings-only initializers stay constants; two graphs of one model coexist', () => {
  const fixture = repoPath('test/fixtures/lenet-dynamo/model.onnx');
  const m = loadModel(fixture).model;
  const a = new OnnxTfGraph(m, tf);
  const b = new OnnxTfGraph(m, tf);
  try {
    const names = [...a.variables().keys()].sort();
    assert.ok(names.includes('conv1.weight') && names.includes('fc3.bias'));
    assert.ok(!names.includes('val_1'), 'the scalar normalisation constants are not trained');
    assert.deepEqual([...b.variables().keys()].sort(), names);
  } finally {
    a.dispose();
    b.dispose();
  }
  const g = new OnnxTfGraph(loadModel(repoPath('samples/mobilenet/model.onnx')).model, tf);
  try {
    const names = [...g.variables().keys()];
    assert.ok(names.includes('stem.1.weight') && names.includes('stem.1.bias'), 'BN scale and bias are weights');
    assert.ok(!names.some((n) => n.endsWith('running_mean') || n.endsWith('running_var')), 'BN statistics are not');
  } finally {
    g.dispose();
  }
});

test('a few optimizer steps through forward() lower the loss (mlp)', () => {
  const loaded = loadModel(repoPath('samples/mlp/model.onnx'));
  const ds = loadDataset(repoPath('samples/digits/train_x.npy'), graphInputs(loaded.model.graph!));
  const labels = loadLabels(repoPath('samples/digits/train_y.npy'), ds.count, repoPath('samples/digits/train_x.npy'));
  const g = new OnnxTfGraph(loaded.model, tf);
  const feeds = tensorsFromFeeds(tf, batchFeeds(ds, 0, 64));
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(labels.subarray(0, 64), 'int32'), 10));
  // Start from a perturbed model so that there is something to learn back.
  for (const v of g.variables().values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.05, 'float32', 1))));
  const opt = tf.train.adam(1e-3);
  const loss = (): Scalar => tf.losses.softmaxCrossEntropy(onehot, g.forward(feeds)[g.outputs[0]!.name]!) as Scalar;
  try {
    const first = tf.tidy(() => loss().dataSync()[0]!);
    for (let i = 0; i < 20; i++) opt.minimize(loss, true, [...g.variables().values()])?.dispose();
    const last = tf.tidy(() => loss().dataSync()[0]!);
    assert.ok(last < first * 0.9, `loss ${first} -> ${last}`);
  } finally {
    opt.dispose();
    tf.dispose([...Object.values(feeds), onehot]);
    g.dispose();
  }
});

// ---------------------------------------------------------------------------
// foldBatchNorm

function vi(name: string, dims: (number | string)[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensor_type: { elem_type: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  });
}

function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + r() * (hi - lo));
}

function bnParams(prefix: string, c: number, seed: number): onnx.TensorProto[] {
  return [
    makeTensor(`${prefix}.weight`, 'float32', [c], rand(c, seed, 0.5, 1.5)),
    makeTensor(`${prefix}.bias`, 'float32', [c], rand(c, seed + 1)),
    makeTensor(`${prefix}.running_mean`, 'float32', [c], rand(c, seed + 2)),
    makeTensor(`${prefix}.running_var`, 'float32', [c], rand(c, seed + 3, 0.2, 2)),
  ];
}

function bnNode(prefix: string, x: string, y: string): onnx.NodeProto {
  return onnx.NodeProto.create({
    op_type: 'BatchNormalization', name: prefix, input: [x, `${prefix}.weight`, `${prefix}.bias`, `${prefix}.running_mean`, `${prefix}.running_var`], output: [y],
    attribute: [{ name: 'epsilon', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1e-3 }],
  });
}

function convNode(name: string, inputs: string[], y: string, group = 1): onnx.NodeProto {
  const T = onnx.AttributeProto.AttributeType;
  return onnx.NodeProto.create({
    op_type: 'Conv', name, input: inputs, output: [y],
    attribute: [{ name: 'pads', type: T.INTS, ints: [1, 1, 1, 1] }, { name: 'group', type: T.INT, i: group }],
  });
}

/** conv (bias) -> BN -> depthwise conv (no bias) -> BN; a conv whose output also feeds an Add (not folded); a shared weight. */
function synthetic(): Model {
  const inits = [
    makeTensor('c1.weight', 'float32', [4, 3, 3, 3], rand(108, 1)), makeTensor('c1.bias', 'float32', [4], rand(4, 2)), ...bnParams('bn1', 4, 10),
    makeTensor('dw.weight', 'float32', [4, 1, 3, 3], rand(36, 3)), ...bnParams('bn2', 4, 20),
    makeTensor('c3.weight', 'float32', [4, 4, 3, 3], rand(144, 4)), ...bnParams('bn3', 4, 30),
    ...bnParams('bn4', 4, 40),
  ];
  const nodes = [
    convNode('c1', ['x', 'c1.weight', 'c1.bias'], 'c1_out'), bnNode('bn1', 'c1_out', 'bn1_out'),
    convNode('dw', ['bn1_out', 'dw.weight'], 'dw_out', 4), bnNode('bn2', 'dw_out', 'bn2_out'),
    convNode('c3', ['bn2_out', 'c3.weight'], 'c3_out'), bnNode('bn3', 'c3_out', 'bn3_out'),
    onnx.NodeProto.create({ op_type: 'Add', name: 'skip', input: ['c3_out', 'bn3_out'], output: ['sum'] }),
    // c3.weight is shared with c4: folding bn4 must not change c3's weight.
    convNode('c4', ['sum', 'c3.weight'], 'c4_out'), bnNode('bn4', 'c4_out', 'y'),
  ];
  return onnx.ModelProto.create({
    ir_version: 8, opset_import: [{ domain: '', version: 15 }],
    graph: { name: 'fold', node: nodes, input: [vi('x', ['n', 3, 6, 6])], output: [vi('y', ['n', 4, 6, 6])], initializer: inits },
  });
}

async function runOrt(model: Model, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 3, graphOptimizationLevel: 'disabled' });
  try {
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, dims) });
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

test('foldBatchNorm: folds Conv->BN pairs (with and without bias, depthwise, shared weights), keeps outputs equal in onnxruntime', async () => {
  const m = synthetic();
  const { model: f, folded } = foldBatchNormReport(m);
  // bn3 stays: c3's output also feeds the Add.
  assert.deepEqual(folded, ['bn1', 'bn2', 'bn4']);
  const ops = f.graph!.node!.map((n) => n.op_type);
  assert.deepEqual(ops, ['Conv', 'Conv', 'Conv', 'BatchNormalization', 'Add', 'Conv']);
  const names = new Set(f.graph!.initializer!.map((t) => t.name));
  assert.ok(names.has('c1.weight') && names.has('c1.bias') && names.has('dw.weight') && names.has('bn2.bias'), 'names kept where possible');
  assert.ok(!names.has('bn1.running_mean') && !names.has('bn2.weight'), 'folded BN parameters removed');
  assert.ok(names.has('c3.weight') && [...names].some((n) => n?.startsWith('c3.weight_bn_folded')), 'a shared weight gets a folded copy');
  assert.equal(m.graph!.node!.length, 9, 'the input model is untouched');
  const x = rand(2 * 3 * 6 * 6, 99, -2, 2);
  const [a, b] = [await runOrt(m, x, [2, 3, 6, 6]), await runOrt(f, x, [2, 3, 6, 6])];
  const d = maxAbsDiff(a, b);
  const scale = Math.max(1, ...Array.from(a, Math.abs));
  assert.ok(d < 1e-5 * scale, `folded vs original: max |diff| ${d} on values up to ${scale}`);
});

test('foldBatchNorm on the mobilenet sample: no BatchNormalization left, onnxruntime outputs unchanged, tfjs runs it', async () => {
  const loaded = loadModel(repoPath('samples/mobilenet/model.onnx'));
  const before = loaded.model.graph!.node!.filter((n) => n.op_type === 'BatchNormalization').length;
  const f = foldBatchNormReport(loaded.model).model;
  assert.ok(before > 0);
  assert.equal(f.graph!.node!.filter((n) => n.op_type === 'BatchNormalization').length, 0);
  const ds = loadDataset(repoPath('samples/mnist/eval_x.npy'), graphInputs(f.graph!));
  const feed = batchFeeds(ds, 0, 32).input!;
  const x = feed.data as Float32Array;
  const [a, b] = [await runOrt(loaded.model, x, feed.dims), await runOrt(f, x, feed.dims)];
  const d = maxAbsDiff(a, b);
  assert.ok(d < 1e-3, `folded vs original logits: max |diff| ${d}`);
  const g = new OnnxTfGraph(f, tf);
  try {
    const got = tfLogits(g, ds, 0, 32);
    const dt = maxAbsDiff(got.data, a);
    assert.ok(dt < 1e-3, `tfjs on the folded model vs onnxruntime on the original: ${dt}`);
    report.push(`mobilenet folded: ${before} BN folded; max |diff| onnxruntime ${d.toExponential(2)}, tfjs ${dt.toExponential(2)}`);
  } finally {
    g.dispose();
  }
});

test('report (informational)', () => {
  console.log(`# backend ${backend}\n# ${report.join('\n# ')}`);
});
