// Text files as datasets: the ids qtool feeds equal those the Python
// `tokenizers` package wrote for the same file and tokenizer.json
// (test/fixtures/text/make_text.py), the stages on bert-tiny, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';
import { loadModelDataset } from '../src/data/dataset.js';
import { loadModel } from '../src/onnx/model.js';

const text = (...p: string[]) => repoPath('test', 'fixtures', 'text', ...p);
const BERT = repoPath('test', 'fixtures', 'bert-tiny', 'model.onnx');
const TOKENIZER = text('tokenizer.json');
type Ids = Record<'input_ids' | 'attention_mask' | 'token_type_ids', number[][]>;
const expected = JSON.parse(readFileSync(text('expected.json'), 'utf8')) as { file: Ids; maxLength16: Ids };

function badInput(args: string[], re: RegExp): void {
  const r = runQtool(args);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

/** The dataset's arrays as rows of numbers, by input name. */
function tokenized(data: string, maxLength?: number): Ids {
  const graph = loadModel(BERT).model.graph!;
  const ds = loadModelDataset(data, graph, { tokenizer: TOKENIZER, ...(maxLength && { maxLength }) });
  const out: Record<string, number[][]> = {};
  for (const input of ds.inputs) {
    const [n, len] = input.shape as [number, number];
    assert.equal(input.type, 'int64');
    const flat = Array.from(input.rows(0, n) as BigInt64Array, Number);
    out[input.spec.name] = Array.from({ length: n }, (_, r) => flat.slice(r * len, (r + 1) * len));
  }
  return out as Ids;
}

test('input_ids, attention_mask and token_type_ids equal the Python tokenizers package\'s', () => {
  // The file's own truncation (24, longest first) and padding (to the longest), singles and pairs.
  assert.deepEqual(tokenized(text('sentences.txt')), expected.file);
  assert.deepEqual(tokenized(text('sentences.jsonl')), expected.file, 'the same examples as JSONL');
  // --max-length 16: truncated and padded to exactly 16.
  assert.deepEqual(tokenized(text('sentences.jsonl'), 16), expected.maxLength16);
  assert.deepEqual(tokenized(text('sentences.txt'), 16), expected.maxLength16);
});

test('qtool eval and calibrate run bert-tiny on a text file', () => {
  const data = ['--data', text('sentences.txt'), '--tokenizer', TOKENIZER];
  const ev = runQtool(['eval', BERT, ...data, '--reference', BERT, '--json']);
  assert.equal(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout) as { data: { samples: number }; agreement: number };
  assert.equal(e.data.samples, 6);
  assert.equal(e.agreement, 100);
  const out = tempDir();
  const cal = runQtool(['calibrate', BERT, ...data, '--max-length', '32', '--eval', text('sentences.jsonl'), '--method', 'max', '--out', out, '--json']);
  assert.equal(cal.code, 0, cal.stderr);
  const c = JSON.parse(cal.stdout) as { data: { samples: number }; methods: { agreement: number }[] };
  assert.equal(c.data.samples, 6);
  assert.equal(c.methods.length, 1);
});

test('a tokenizer that does not fit the model is one line naming it', () => {
  const dir = tempDir();
  // An image model needs an input no tokenizer gives.
  badInput(['eval', repoPath('samples', 'resnet', 'model.onnx'), '--data', text('sentences.txt'), '--tokenizer', TOKENIZER],
    /tokenizer\.json: gives input_ids, attention_mask, token_type_ids; the model also needs input 'input'/);
  // Ids beyond the model's embedding (bert-tiny has 1000 rows): a tokenizer made for another model.
  const tok = JSON.parse(readFileSync(TOKENIZER, 'utf8')) as { model: { vocab: Record<string, number> } };
  tok.model.vocab['xylophone'] = 1500;
  writeFileSync(join(dir, 'big.json'), JSON.stringify(tok));
  badInput(['eval', BERT, '--data', text('sentences.txt'), '--tokenizer', join(dir, 'big.json')],
    /big\.json: gives token ids up to 1500; the model's embedding for input_ids has 1000 rows/);
  // No padding in the file and lines of different lengths: the dataset would not be rectangular.
  const unpadded = JSON.parse(readFileSync(TOKENIZER, 'utf8')) as Record<string, unknown>;
  unpadded.padding = null;
  writeFileSync(join(dir, 'unpadded.json'), JSON.stringify(unpadded));
  badInput(['eval', BERT, '--data', text('sentences.txt'), '--tokenizer', join(dir, 'unpadded.json')], /unpadded\.json: sets no padding .* give --max-length N/);
  writeFileSync(join(dir, 'notjson.json'), '{"model": ');
  badInput(['eval', BERT, '--data', text('sentences.txt'), '--tokenizer', join(dir, 'notjson.json')], /notjson\.json: not valid JSON/);
});

test('bad text files and a missing --tokenizer are one line naming the file', () => {
  const dir = tempDir();
  badInput(['eval', BERT, '--data', text('sentences.txt')], /sentences\.txt: is a text file; give --tokenizer/);
  writeFileSync(join(dir, 'three.txt'), 'one\ttwo\tthree\n');
  badInput(['eval', BERT, '--data', join(dir, 'three.txt'), '--tokenizer', TOKENIZER], /three\.txt: line 1 has 3 tab-separated fields/);
  writeFileSync(join(dir, 'bad.jsonl'), '{"text": "fine"}\n{"question": "no text"}\n');
  badInput(['eval', BERT, '--data', join(dir, 'bad.jsonl'), '--tokenizer', TOKENIZER], /bad\.jsonl: line 2 has no "text" string field/);
  writeFileSync(join(dir, 'empty.txt'), '\n\n');
  badInput(['eval', BERT, '--data', join(dir, 'empty.txt'), '--tokenizer', TOKENIZER], /empty\.txt: holds no examples/);
});
