// Models as other tools store them: weights in an external-data side file
// (read, and written past a size limit), and layers inside If/Loop/Scan
// bodies (every command runs; the bodies' layers are named and stay float).
// The fixtures are made by Python's onnx: test/fixtures/graph-io/make_fixtures.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from '../src/onnx/proto/onnx.js';
import { encodeModel, loadModel, type Model } from '../src/onnx/model.js';
import { consumerMap, graphProblem, nodeReads, outerReads, topologicalOrder } from '../src/onnx/graph.js';
import { makeTensor, tensorToArray } from '../src/onnx/tensor.js';
import { splitExternalData } from '../src/onnx/external-data.js';
import { inferElemTypes } from '../src/onnx/types.js';
import { planQuantization } from '../src/quant/plan.js';
import { findSubgraphLayers } from '../src/quant/quantizable.js';
import { foldBatchNormReport } from '../src/quant/passes/fold-batchnorm.js';
import { foldConstantWeights } from '../src/quant/passes/fold-constants.js';
import { withOutput } from '../src/report/commit.js';
import { modelFiles, writeModelArtifact } from '../src/report/write-model.js';
import { ort } from '../src/runtime/session.js';
import { batchFeeds } from '../src/data/batches.js';
import { collectOutputs } from '../src/runtime/outputs.js';
import { loadDataset } from '../src/data/dataset.js';
import { graphInputs } from '../src/onnx/graph.js';
import { calibrationSchema } from '../src/report/schemas/calibration.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { inspectReportSchema } from '../src/report/schemas/inspect.js';
import { inspectModel } from '../src/stages/inspect.js';
import { calibrate } from '../src/stages/calibrate/calibrate.js';
import { calibrateOptions } from '../src/stages/calibrate/options.js';
import { InputError } from '../src/util/errors.js';
import { manifestSchema } from '../src/report/schemas/manifest.js';
import { sha256 } from '../src/util/files.js';
import { evalReportSchema } from '../src/report/schemas/eval.js';
import { onnxTestData, repoPath, runQtool, tempDir, type CliResult } from './lib/helpers.js';

const FIXTURES = (...p: string[]) => repoPath('test', 'fixtures', 'graph-io', ...p);
const MLP = repoPath('samples', 'mlp', 'model.onnx');
const EXTERNAL = FIXTURES('external', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const CALIB = ['--data', DIGITS('calib_x.npy')];
const LABELLED = ['--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')];

function ok(args: string[]): CliResult {
  const r = runQtool(args);
  assert.equal(r.code, 0, `qtool ${args.join(' ')}: ${r.stderr}`);
  return r;
}

function oneLine(r: CliResult, pattern: RegExp, code = 2): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}

/** The first output of a model over the digits eval split, as onnxruntime computes it from the model's bytes. */
async function outputsOf(bytes: Uint8Array, model: Model): Promise<Float32Array> {
  const ds = loadDataset(DIGITS('eval_x.npy'), graphInputs(model.graph!));
  return (await collectOutputs(bytes, 'model', ds, { batchSize: 64 })).values;
}

const initializers = (m: Model) => Object.fromEntries((m.graph!.initializer ?? []).map((t) => [t.name, Array.from(tensorToArray(t).data as Float32Array)]));

// ---------------------------------------------------------------- external data: reading

test('a model saved with external data by Python\'s onnx loads with the same weights, and inspect sees the same model', () => {
  const ext = loadModel(EXTERNAL);
  const plain = loadModel(MLP);
  assert.ok(readFileSync(EXTERNAL).length < 4096, 'the fixture keeps its weights in the side file');
  assert.deepEqual(initializers(ext.model), initializers(plain.model));
  // Constant nodes' values were moved too (size_threshold=0) and are read back.
  const constants = (m: Model) => (m.graph!.node ?? []).filter((n) => n.op_type === 'Constant').map((n) => Array.from(tensorToArray(n.attribute![0].t!).data as Float32Array));
  assert.deepEqual(constants(ext.model), constants(plain.model));
  const [a, b] = [inspectReportSchema.parse(JSON.parse(ok(['inspect', EXTERNAL, '--json']).stdout)), inspectModel(plain)];
  assert.deepEqual(a.quantizableLayers, b.quantizableLayers);
  assert.equal(a.parameters, b.parameters);
  // The SHA-256 in reports is of the model with its weights read in: the same model stored either way has the
  // same hash (reports made for one are accepted for the other), and onnxruntime gets the same bytes.
  assert.equal(a.model.sha256, ext.sha256);
  assert.equal(ext.sha256, plain.sha256);
  assert.deepEqual(Buffer.from(ext.bytes), Buffer.from(plain.bytes));
});

test('calibrate on the external-data model, writing its INT8 model with external data, gives the calibration and INT8 outputs of the model without either', async () => {
  const [ext, plain] = [tempDir(), tempDir()];
  // A 1,000-byte limit (the real one is 1.8 GB) makes calibrate write model.int8.onnx + model.int8.onnx.data.
  const r = runQtool(['calibrate', EXTERNAL, ...CALIB, '--out', ext, '--json'], { QTOOL_TEST_FAULTS: 'model-limit=1000' });
  assert.equal(r.code, 0, r.stderr);
  ok(['calibrate', MLP, ...CALIB, '--out', plain]);
  const [a, b] = [ext, plain].map((o) => calibrationSchema.parse(JSON.parse(readFileSync(join(o, 'calibration.json'), 'utf8'))));
  assert.deepEqual(a!.tensors, b!.tensors);
  assert.deepEqual(a!.layers, b!.layers);

  const model = join(ext, 'model.int8.onnx');
  const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.selected.sizeBytes, readFileSync(model).length + readFileSync(`${model}.data`).length);
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(ext, 'qtool-manifest.json'), 'utf8')));
  assert.equal(manifest.files['model.int8.onnx.data']!.sha256, sha256(readFileSync(`${model}.data`)));
  assert.ok(!existsSync(join(plain, 'model.int8.onnx.data')));

  const [ma, mb] = [model, join(plain, 'model.int8.onnx')].map((p) => loadModel(p));
  assert.deepEqual(await outputsOf(ma!.bytes, ma!.model), await outputsOf(mb!.bytes, mb!.model));
  const ev = evalReportSchema.parse(JSON.parse(ok(['eval', model, ...LABELLED, '--reference', MLP, '--json']).stdout));
  assert.ok(ev.agreement! >= 95, `agreement ${ev.agreement}`);
});

test('external data: a missing or short side file and a location out of the model\'s folder are one-line input errors naming the model', () => {
  const dir = tempDir();
  const model = join(dir, 'model.onnx');
  copyFileSync(EXTERNAL, model);
  oneLine(runQtool(['inspect', model]), /model\.onnx: tensor '.*': external data file 'model\.onnx\.data' is missing beside the model/);
  copyFileSync(FIXTURES('external', 'model.onnx.data'), join(dir, 'model.onnx.data'));
  truncateSync(join(dir, 'model.onnx.data'), 1000);
  assert.throws(() => loadModel(model), (e: Error) => e instanceof InputError && /model\.onnx: tensor '.*': external data bytes \[\d+, \d+\) lie beyond the end of 'model\.onnx\.data' \(1000 bytes\)/.test(e.message));

  const inner = join(dir, 'inner');
  mkdirSync(inner);
  copyFileSync(FIXTURES('external', 'model.onnx.data'), join(dir, 'model.onnx.data'));
  const m = onnx.ModelProto.decode(readFileSync(EXTERNAL));
  for (const t of m.graph!.initializer!) t.external_data!.find((e) => e.key === 'location')!.value = '../model.onnx.data';
  const escaping = join(inner, 'model.onnx');
  writeFileSync(escaping, encodeModel(m));
  oneLine(runQtool(['calibrate', escaping, ...CALIB, '--out', join(dir, 'out')]), /inner\/model\.onnx: tensor '.*': external data location '\.\.\/model\.onnx\.data' leaves the model's folder/);
  assert.ok(!existsSync(join(dir, 'out')) || readdirSync(join(dir, 'out')).length === 0, 'nothing written');
});

// ---------------------------------------------------------------- external data: writing

test('splitting a model into .onnx and .data leaves the model as it was and records aligned byte ranges', () => {
  const { model } = loadModel(MLP);
  const before = encodeModel(model);
  const split = splitExternalData(model, { location: 'm.onnx.data', minTensorBytes: 1024 });
  assert.deepEqual(encodeModel(model), before, 'the caller\'s model (and its shared tensors) unchanged');
  const stored = onnx.ModelProto.decode(split.model);
  const moved = stored.graph!.initializer!.filter((t) => t.data_location === onnx.TensorProto.DataLocation.EXTERNAL);
  // Small tensors (the 10 output biases, 40 bytes) stay inline.
  assert.deepEqual(moved.map((t) => t.name), model.graph!.initializer!.filter((t) => (t.raw_data?.length ?? 0) >= 1024).map((t) => t.name));
  assert.equal(split.moved, moved.length);
  for (const t of moved) {
    const kv = Object.fromEntries(t.external_data!.map((e) => [e.key, e.value]));
    assert.equal(kv.location, 'm.onnx.data');
    assert.equal(Number(kv.offset) % 64, 0);
    const original = model.graph!.initializer!.find((x) => x.name === t.name)!;
    assert.deepEqual(Buffer.from(split.data.subarray(Number(kv.offset), Number(kv.offset) + Number(kv.length))), Buffer.from(original.raw_data!));
  }
});

test('a model over the limit is written as .onnx + .data, both in the manifest; it round-trips through loadModel and onnxruntime loads it from the path', async () => {
  const dir = tempDir();
  const path = join(dir, 'model.int8.onnx');
  const { model, bytes } = loadModel(MLP);
  const written = await withOutput(dir, 'test', async () => writeModelArtifact(path, bytes, { maxInlineBytes: 1000 }));
  assert.deepEqual(written.files, [path, `${path}.data`]);
  assert.deepEqual(modelFiles(path), written.files, 'qtool run records both files of the stage');
  assert.equal(written.sizeBytes, readFileSync(path).length + readFileSync(`${path}.data`).length);
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'qtool-manifest.json'), 'utf8')));
  assert.deepEqual(Object.keys(manifest.files).sort(), ['model.int8.onnx', 'model.int8.onnx.data']);
  assert.ok(readFileSync(path).length < 4096);

  const back = loadModel(path);
  assert.deepEqual(initializers(back.model), initializers(model));
  assert.equal(back.sha256, loadModel(MLP).sha256, 'the hash of the model with its weights, however stored');
  const expected = await outputsOf(bytes, model);
  assert.deepEqual(await outputsOf(back.bytes, back.model), expected);
  // onnxruntime reads the side file itself when given the path.
  const session = await ort.InferenceSession.create(path);
  try {
    const ds = loadDataset(DIGITS('eval_x.npy'), graphInputs(model.graph!));
    const feeds = Object.fromEntries(Object.entries(batchFeeds(ds, 0, 64)).map(([k, f]) => [k, new ort.Tensor(f.type as 'float32', f.data as Float32Array, f.dims)]));
    const got = (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
    assert.deepEqual(Array.from(got), Array.from(expected.subarray(0, got.length)));
  } finally {
    await session.release();
  }

  // Under the limit: one file, as before.
  const small = tempDir();
  const inline = await withOutput(small, 'test', async () => writeModelArtifact(join(small, 'm.onnx'), bytes));
  assert.deepEqual(inline.files, [join(small, 'm.onnx')]);
  assert.deepEqual(modelFiles(join(small, 'm.onnx')), inline.files);
  assert.deepEqual(readFileSync(join(small, 'm.onnx')), Buffer.from(bytes));
});

// ---------------------------------------------------------------- subgraphs: the graph walks

const IF = FIXTURES('if', 'model.onnx');
const LOOP = FIXTURES('loop', 'model.onnx');
const ifNode = (m: Model) => m.graph!.node!.find((n) => n.op_type === 'If')!;
const branch = (m: Model, name: string) => ifNode(m).attribute!.find((a) => a.name === name)!.g!;

test('what a subgraph reads from the outer graph counts as read by its node: consumers, order, checks', () => {
  const { model } = loadModel(IF);
  const node = ifNode(model);
  // onnx.helper stores attributes sorted by name: else_branch (reads g) first.
  assert.deepEqual(outerReads(node), ['g', 'h']);
  assert.deepEqual(nodeReads(node), ['cond', 'g', 'h']);
  const consumers = consumerMap(model.graph!);
  assert.deepEqual(consumers.get('g')!.map((n) => n.op_type), ['Relu', 'If']);
  // Listed last-first, the nodes are still ordered producers first.
  const reversed = { ...model.graph!, node: [...model.graph!.node!].reverse() };
  const order = topologicalOrder(reversed).map((n) => n.name);
  assert.ok(order.indexOf('outer/Relu') < order.indexOf('cond_1'));
  assert.ok(order.indexOf('outer/Gemm') < order.indexOf('cond_1'));
  // A branch reading a tensor nobody defines is named as such.
  const broken = onnx.ModelProto.decode(readFileSync(IF));
  branch(broken, 'else_branch').node![0]!.input![0] = 'nowhere';
  assert.match(graphProblem(broken.graph!)!, /node cond_1 reads 'nowhere' inside a subgraph, which no node/);
  // Output types of If and Loop come from their bodies.
  assert.equal(inferElemTypes(model.graph!).get('logits'), 'float32');
  assert.equal(inferElemTypes(loadModel(LOOP).model.graph!).get('v'), 'float32');
});

test('a Relu is not folded into its producer\'s range when a branch reads the tensor before it', () => {
  const { model } = loadModel(IF);
  assert.deepEqual(planQuantization(model.graph!, { foldActivations: true }).folded, []);
  const readsH = onnx.ModelProto.decode(readFileSync(IF));
  branch(readsH, 'else_branch').node![0]!.input![0] = 'h';
  assert.deepEqual(planQuantization(readsH.graph!, { foldActivations: true }).folded.map((f) => f.to), ['h']);
});

/** x -> Conv -> c -> BatchNormalization -> y, and an If whose then branch reads `c` (optionally) and a Constant `k`. */
function convBnIf(branchReadsC: boolean): Model {
  const f = (name: string, dims: number[], v: number[]) => makeTensor(name, 'float32', dims, Float32Array.from(v));
  const io = (name: string, elem: number, dims: number[]) => onnx.ValueInfoProto.create({
    name, type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
  });
  const read = branchReadsC ? 'c' : 'y';
  const thenBranch = onnx.GraphProto.create({
    name: 'then', node: [onnx.NodeProto.create({ op_type: 'Identity', input: [read], output: ['t'], name: 'then/Identity' })], output: [io('t', 1, [1, 2, 2, 2])],
  });
  const elseBranch = onnx.GraphProto.create({
    name: 'else', node: [onnx.NodeProto.create({ op_type: 'Identity', input: ['y'], output: ['e'], name: 'else/Identity' })], output: [io('e', 1, [1, 2, 2, 2])],
  });
  const graph = onnx.GraphProto.create({
    name: 'g',
    node: [
      onnx.NodeProto.create({ op_type: 'Conv', input: ['x', 'w', 'b'], output: ['c'], name: 'conv' }),
      onnx.NodeProto.create({ op_type: 'BatchNormalization', input: ['c', 'gamma', 'beta', 'mean', 'var'], output: ['y'], name: 'bn' }),
      onnx.NodeProto.create({
        op_type: 'If', input: ['cond'], output: ['z'], name: 'cond_1',
        attribute: [
          onnx.AttributeProto.create({ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: thenBranch }),
          onnx.AttributeProto.create({ name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: elseBranch }),
        ],
      }),
    ],
    input: [io('x', 1, [1, 2, 2, 2]), io('cond', 9, [])],
    output: [io('z', 1, [1, 2, 2, 2])],
    initializer: [f('w', [2, 2, 1, 1], [1, 0.5, -0.25, 2]), f('b', [2], [0.1, -0.2]), f('gamma', [2], [1.5, 0.5]), f('beta', [2], [0, 1]), f('mean', [2], [0.2, -0.1]), f('var', [2], [1, 4])],
  });
  return onnx.ModelProto.create({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph });
}

test('BatchNorm folding leaves a Conv whose output a branch reads, and the folded model still runs', async () => {
  assert.deepEqual(foldBatchNormReport(convBnIf(true)).folded, []);
  const folded = foldBatchNormReport(convBnIf(false));
  assert.deepEqual(folded.folded, ['bn']);
  assert.equal(graphProblem(folded.model.graph!), null);
  const x = new ort.Tensor('float32', Float32Array.from({ length: 8 }, (_, i) => i / 4 - 1), [1, 2, 2, 2]);
  const run = async (m: Model, cond: boolean) => {
    const s = await ort.InferenceSession.create(encodeModel(m));
    try {
      return Array.from((await s.run({ x, cond: new ort.Tensor('bool', [cond], []) })).z!.data as Float32Array);
    } finally {
      await s.release();
    }
  };
  for (const cond of [true, false]) {
    const [a, b] = [await run(convBnIf(false), cond), await run(folded.model, cond)];
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5, `${v} vs ${b[i]}`));
  }
});

test('constant folding keeps a Constant that a branch reads, even when the weight it computed is folded', () => {
  const model = convBnIf(false);
  const g = model.graph!;
  // w comes from Constant k through Identity; the then branch reads k.
  const w = g.initializer!.shift()!;
  g.node!.unshift(
    onnx.NodeProto.create({ op_type: 'Constant', output: ['k'], name: 'k', attribute: [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: w })] }),
    onnx.NodeProto.create({ op_type: 'Identity', input: ['k'], output: ['w'], name: 'w_identity' }),
  );
  const then = g.node!.find((n) => n.op_type === 'If')!.attribute![0]!.g!;
  then.node!.push(onnx.NodeProto.create({ op_type: 'Add', input: ['t', 'k_sum'], output: ['t2'], name: 'then/Add' }));
  then.node!.unshift(onnx.NodeProto.create({ op_type: 'ReduceSum', input: ['k'], output: ['k_sum'], name: 'then/ReduceSum' }));
  then.output![0]!.name = 't2';
  assert.equal(graphProblem(g), null);
  const r = foldConstantWeights(model);
  assert.deepEqual(r.folded, ['w']);
  assert.equal(graphProblem(r.model.graph!), null);
  assert.deepEqual(r.model.graph!.node!.map((n) => n.op_type), ['Constant', 'Conv', 'BatchNormalization', 'If']);
});

test('the layers inside subgraphs are found with where they are', () => {
  const layers = findSubgraphLayers(loadModel(IF).model.graph!);
  assert.deepEqual(layers.map((l) => [l.name, l.opType, l.owner, l.subgraph]), [
    ['else/MatMul', 'MatMul', "If 'cond_1'", "If 'cond_1' else_branch"],
    ['else/MatMul_1', 'MatMul', "If 'cond_1'", "If 'cond_1' else_branch"],
    ['then/Gemm', 'Gemm', "If 'cond_1'", "If 'cond_1' then_branch"],
    ['then/Gemm_1', 'Gemm', "If 'cond_1'", "If 'cond_1' then_branch"],
  ]);
  assert.deepEqual(findSubgraphLayers(loadModel(MLP).model.graph!), []);
});

// ---------------------------------------------------------------- subgraphs: every command

for (const [kind, model, owner, inBodies, unsupported] of [
  ['If', IF, "If 'cond_1'", 4, 'If'],
  ['Loop', LOOP, "Loop 'loop_1'", 1, 'Loop'],
] as const) {
  test(`a model with ${kind === 'If' ? 'an' : 'a'} ${kind} goes through every command; the body layers are named and stay float; INT8 matches FP32`, () => {
    const note = new RegExp(`${inBodies} layers? inside subgraphs \\(${owner}\\) stays? float`);
    assert.match(ok(['inspect', model]).stdout, note);
    const inspected = inspectReportSchema.parse(JSON.parse(ok(['inspect', model, '--json']).stdout));
    assert.equal(inspected.subgraphLayers.length, inBodies);
    assert.ok(inspected.subgraphLayers.every((l) => l.owner === owner));

    const out = tempDir();
    const cal = ok(['calibrate', model, ...CALIB, '--eval', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy'), '--out', out]);
    assert.match(cal.stdout, note);
    const report = calibrateReportSchema.parse(JSON.parse(readFileSync(join(out, 'calibrate.json'), 'utf8')));
    assert.deepEqual(report.subgraphLayers!.map((l) => l.name), inspected.subgraphLayers.map((l) => l.name));
    assert.ok(report.quantizedLayers >= 1);
    for (const m of report.methods) {
      assert.ok(m.agreement! >= 95, `${m.method}: agreement ${m.agreement}`);
      assert.ok(m.sqnrDb! >= 30, `${m.method}: SQNR ${m.sqnrDb}`);
    }
    // The INT8 model keeps the outer tensors its body reads (loadModel checks), and runs.
    const int8 = loadModel(join(out, 'model.int8.onnx'));
    assert.ok(int8.model.graph!.node!.some((n) => n.op_type === 'QuantizeLinear'));
    const ev = evalReportSchema.parse(JSON.parse(ok(['eval', join(out, 'model.int8.onnx'), ...LABELLED, '--reference', model, '--json']).stdout));
    assert.ok(ev.agreement! >= 95);

    const calibration = join(out, 'calibration.json');
    ok(['sensitivity', model, '--calibration', calibration, ...LABELLED, '--mode', 'both', '--out', out]);
    ok(['partial', model, '--calibration', calibration, '--sensitivity', join(out, 'sensitivity.json'), ...LABELLED, '--max-drop', '1', '--out', out]);
    loadModel(join(out, 'model.partial.onnx'));
    oneLine(runQtool(['qat-finetune', model, '--calibration', calibration, '--train', DIGITS('train_x.npy'), '--train-labels', DIGITS('train_y.npy'), '--epochs', '1', '--out', out]),
      new RegExp(`qat-finetune cannot train this model: unsupported ONNX op '${unsupported}'`));
  });
}

test('ONNX backend-suite models with If, Loop and Scan go through inspect, and calibrate refuses them in one line (nothing to quantize, or an opset change without an adapter)', async () => {
  const names = readdirSync(onnxTestData).filter((d) => /^test_(if|loop|scan)|^test_range_.*_expanded$/.test(d));
  assert.ok(names.length >= 8, names.join(', '));
  for (const name of names) {
    const model = join(onnxTestData, name, 'model.onnx');
    const r = inspectReportSchema.parse(inspectModel(loadModel(model)));
    assert.ok(['If', 'Loop', 'Scan'].some((op) => r.opCounts[op]), `${name}: ${Object.keys(r.opCounts)}`);
    // In-process (a CLI run per model costs seconds): the same InputError the CLI prints in one line, exit 2.
    const out = join(tempDir(), 'o');
    await assert.rejects(calibrate({ model, data: DIGITS('calib_x.npy') }, calibrateOptions({}, out)),
      (e: Error) => e instanceof InputError && /model\.onnx: (no quantizable op|cannot raise opset \d+ to 13: node .* has no adapter)/.test(e.message) && !e.message.includes('\n'));
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'nothing written');
  }
  // And one through the CLI.
  oneLine(runQtool(['calibrate', join(onnxTestData, 'test_if_opt', 'model.onnx'), ...CALIB, '--out', join(tempDir(), 'o')]), /test_if_opt\/model\.onnx: no quantizable op/);
});
