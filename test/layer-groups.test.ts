// Layer groups read from node names: on the BERT fixture (torch.onnx.export of
// Hugging Face BERT, 2 encoder blocks) and the MLP sample (torch Sequential,
// numbered modules of one layer each, so no blocks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../src/onnx/model.js';
import { prepareRecipe } from '../src/quant/recipe.js';
import { groupLayers } from '../src/quant/layer-groups.js';
import { repoPath } from './lib/helpers.js';

const layerNames = (path: string) =>
  prepareRecipe(loadModel(path).model, { passes: [], activationType: 'uint8' }).plan.layers.map((l) => l.name);
const BERT = layerNames(repoPath('test', 'fixtures', 'bert-tiny', 'model.onnx'));
const ROLES = ['attention/self/query', 'attention/self/key', 'attention/self/value', 'attention/output/dense', 'intermediate/dense', 'output/dense'];
const outside = ['/bert/pooler/dense/Gemm', '/classifier/Gemm'];

test('BERT per block: each encoder block is a group of its six projections; pooler and classifier stay alone', () => {
  assert.equal(BERT.length, 14);
  const g = groupLayers(BERT, 'block');
  assert.equal(g.by, 'block');
  assert.equal(g.note, null);
  assert.deepEqual(g.groups.map((x) => x.name), ['/bert/encoder/layer.0', '/bert/encoder/layer.1', ...outside]);
  for (const b of [0, 1]) {
    assert.deepEqual(g.groups[b].layers, ROLES.map((r) => `/bert/encoder/layer.${b}/${r}/MatMul`));
  }
  assert.deepEqual(g.groups.slice(2).map((x) => x.layers), outside.map((n) => [n]));
});

test('BERT per role: the same projection of every block is one group (e.g. every attention output projection)', () => {
  const g = groupLayers(BERT, 'role');
  assert.equal(g.note, null);
  assert.deepEqual(g.groups.map((x) => x.name), [...ROLES.map((r) => `/bert/encoder/layer.*/${r}/MatMul`), ...outside]);
  for (const [i, r] of ROLES.entries()) {
    assert.deepEqual(g.groups[i].layers, [0, 1].map((b) => `/bert/encoder/layer.${b}/${r}/MatMul`));
  }
  // A partition: every layer in exactly one group.
  assert.deepEqual(g.groups.flatMap((x) => x.layers).sort(), [...BERT].sort());
});

test('names without shared numbered blocks: one group per layer, and a note that says so', () => {
  const mlp = layerNames(repoPath('samples', 'mlp', 'model.onnx'));
  assert.deepEqual(mlp, ['/net/net.0/Gemm', '/net/net.2/Gemm', '/net/net.4/Gemm']);
  for (const by of ['block', 'role'] as const) {
    const g = groupLayers(mlp, by);
    assert.equal(g.by, 'layer');
    assert.deepEqual(g.groups, mlp.map((n) => ({ name: n, layers: [n] })));
    assert.match(g.note!, new RegExp(`--group-by ${by}: .*each layer is its own group`));
  }
  // Paddle-style flat names: no path at all.
  assert.match(groupLayers(['conv2d_0', 'conv2d_1'], 'role').note!, /no layer names share a numbered block/);
  assert.deepEqual(groupLayers(BERT, 'layer').groups.map((x) => x.layers), BERT.map((n) => [n]));
});
