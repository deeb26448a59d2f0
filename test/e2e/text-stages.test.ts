// Text through every stage: calibrate -> sensitivity -> partial -> qat-finetune
// on bert-tiny with a text file and its tokenizer.json, each report read back
// through its schema, the INT8 models run in onnxruntime against FP32 on the
// same tokens, partial's budget and QAT's parity checked; a tokenizer made for
// another model is refused by sensitivity and qat-finetune in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModelDataset } from '../../src/data/dataset.js';
import { batchFeeds } from '../../src/data/batches.js';
import { loadModel } from '../../src/onnx/model.js';
import { readReport } from '../../src/report/io.js';
import { calibrateReportSchema } from '../../src/report/schemas/calibrate.js';
import { partialReportSchema } from '../../src/report/schemas/partial.js';
import { qatReportSchema } from '../../src/report/schemas/qat.js';
import { sensitivityReportSchema } from '../../src/report/schemas/sensitivity.js';
import { MAX_PARITY_GAP } from '../../src/stages/qat/qat.js';
import { mulberry32 } from '../lib/random.js';
import { expectBadInput, repoPath, runQtool, tempDir } from '../lib/helpers.js';

const text = (...p: string[]) => repoPath('test', 'fixtures', 'text', ...p);
const BERT = repoPath('test', 'fixtures', 'bert-tiny', 'model.onnx');
const TOKENIZER = text('tokenizer.json');
// QAT's tfjs step on bert-tiny grows steeply with the sequence (a step of 4 lines: 0.5 s at 8 tokens, 5.8 s at 32):
// 12 tokens keeps the chain near 40 s on a busy 2-core machine.
const MAX_LENGTH = 12;

/** `n` lines of words from the fixture's sentences (a third of them pairs), seeded: more samples than the six sentences. */
function sentences(path: string, n: number, seed: number): string {
  const words = readFileSync(text('sentences.txt'), 'utf8').split(/\s+/).filter(Boolean);
  const rng = mulberry32(seed);
  const phrase = () => Array.from({ length: 3 + Math.floor(rng() * 12) }, () => words[Math.floor(rng() * words.length)]).join(' ');
  writeFileSync(path, Array.from({ length: n }, (_, i) => (i % 3 === 2 ? `${phrase()}\t${phrase()}` : phrase())).join('\n') + '\n');
  return path;
}

function ok(args: string[]): void {
  const r = runQtool(args);
  assert.equal(r.code, 0, `qtool ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
}

/** The first output's argmax per sample, from onnxruntime over the whole text file (tokenized as qtool feeds it). */
async function predictions(modelPath: string, data: string): Promise<number[]> {
  const ds = loadModelDataset(data, loadModel(BERT).model.graph!, { tokenizer: TOKENIZER, maxLength: MAX_LENGTH });
  const session = await ort.InferenceSession.create(modelPath);
  const feeds = Object.fromEntries(Object.entries(batchFeeds(ds, 0, ds.count)).map(([name, f]) => [name, new ort.Tensor(f.type as 'int64', f.data as BigInt64Array, f.dims)]));
  const out = (await session.run(feeds))[session.outputNames[0]!]!;
  const [n, classes] = out.dims as [number, number];
  const logits = out.data as Float32Array;
  assert.ok(logits.every(Number.isFinite), `${modelPath}: finite logits`);
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
    return row.indexOf(Math.max(...row));
  });
}

const agreement = (a: number[], b: number[]) => (100 * a.filter((v, i) => v === b[i]).length) / a.length;
const opTypes = (path: string) => new Set(loadModel(path).model.graph!.node!.map((n) => n.op_type));

test('bert-tiny on a text file: calibrate -> sensitivity -> partial (budget) -> qat-finetune (parity), the INT8 models in onnxruntime', async () => {
  const dir = tempDir();
  const train = sentences(join(dir, 'train.txt'), 32, 1);
  const held = sentences(join(dir, 'held.txt'), 48, 2);
  const out = join(dir, 'out');
  const data = (path: string) => ['--data', path, '--tokenizer', TOKENIZER, '--max-length', String(MAX_LENGTH)];
  const calibration = join(out, 'calibration.json');

  ok(['calibrate', BERT, ...data(train), '--eval', held, '--method', 'max,percentile', '--out', out]);
  const cal = readReport(join(out, 'calibrate.json'), calibrateReportSchema);
  assert.equal(cal.data.samples, 32);
  assert.equal(cal.eval?.samples, 48);
  assert.equal(cal.quantizedLayers, 14, 'bert-tiny\'s MatMuls and Gemms');

  ok(['sensitivity', BERT, '--calibration', calibration, ...data(held), '--out', out]);
  const sens = readReport(join(out, 'sensitivity.json'), sensitivityReportSchema);
  assert.equal(sens.data.samples, 48);
  assert.equal(sens.metric, 'agreement', 'no labels: agreement with FP32');
  assert.equal(sens.ranking.length, 14);

  const maxDrop = 2;
  ok(['partial', BERT, '--calibration', calibration, '--sensitivity', join(out, 'sensitivity.json'), ...data(held), '--max-drop', String(maxDrop), '--out', out]);
  const part = readReport(join(out, 'partial.json'), partialReportSchema);
  assert.equal(part.met, true, part.message);
  assert.ok(part.result.drop <= maxDrop, `drop ${part.result.drop} within ${maxDrop} points`);
  // The first step within the budget is the one written, its float layers the ranking's head.
  const first = part.curve.findIndex((p) => p.drop <= maxDrop + 1e-9);
  assert.equal(part.result.floatLayers, part.curve[first]!.floatLayers);
  assert.deepEqual(part.floatLayers, sens.ranking.slice(0, part.floatLayers.length));

  const fp32 = await predictions(BERT, held);
  const partialModel = join(out, 'model.partial.onnx');
  assert.ok(opTypes(partialModel).has('QuantizeLinear'));
  const partialAgreement = agreement(await predictions(partialModel, held), fp32);
  assert.ok(Math.abs(partialAgreement - part.result.accuracy) < 1e-9, `onnxruntime here: ${partialAgreement} %, partial.json: ${part.result.accuracy} %`);

  ok(['qat-finetune', BERT, '--calibration', calibration, '--partial', join(out, 'partial.json'), '--train', train, '--tokenizer', TOKENIZER,
    '--max-length', String(MAX_LENGTH), '--distill', '--eval', held, '--epochs', '2', '--batch-size', '16', '--max-drop', String(maxDrop), '--out', out]);
  const qat = readReport(join(out, 'qat.json'), qatReportSchema);
  assert.equal(qat.train.samples, 32);
  assert.equal(qat.train.loss, 'distillation');
  assert.deepEqual(qat.floatLayers, part.floatLayers, 'the layers partial kept float stay float');
  assert.ok(qat.loss.every(Number.isFinite));
  assert.ok(qat.parity.ok && qat.parity.gap <= MAX_PARITY_GAP, `parity gap ${qat.parity.gap} points (bound ${MAX_PARITY_GAP})`);
  assert.equal(qat.budget?.met, true, `QAT drop ${qat.budget?.drop} within ${maxDrop}`);
  const qatModel = join(out, 'model.qat.onnx');
  assert.ok(opTypes(qatModel).has('DequantizeLinear'));
  const qatAgreement = agreement(await predictions(qatModel, held), fp32);
  assert.ok(qatAgreement >= 100 - maxDrop, `the exported model agrees with FP32 on ${qatAgreement} % of the held-out lines`);
});

test('a tokenizer made for another model (ids beyond the embedding) is one line naming it in sensitivity and qat-finetune, exit 2', () => {
  const dir = tempDir();
  const cal = join(dir, 'cal');
  ok(['calibrate', BERT, '--data', text('sentences.txt'), '--tokenizer', TOKENIZER, '--method', 'max', '--out', cal]);
  const tok = JSON.parse(readFileSync(TOKENIZER, 'utf8')) as { model: { vocab: Record<string, number> } };
  tok.model.vocab['xylophone'] = 1500;
  const other = join(dir, 'other-tokenizer.json');
  writeFileSync(other, JSON.stringify(tok));
  const data = ['--tokenizer', other];
  const refused = /other-tokenizer\.json: gives token ids up to 1500; the model's embedding for input_ids has 1000 rows/;
  expectBadInput('sensitivity', [BERT, '--calibration', join(cal, 'calibration.json'), '--data', text('sentences.txt'), ...data], refused);
  expectBadInput('qat-finetune', [BERT, '--calibration', join(cal, 'calibration.json'), '--train', text('sentences.txt'), ...data, '--distill'], refused);
});
