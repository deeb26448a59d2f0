// A text file as a dataset for a transformer: one example per line of a .txt
// (a tab separates the two texts of a pair, QA style) or per line of a .jsonl
// ({"text": ..., "text_pair": ...}), tokenized (tokenizer.ts) into the model's
// input_ids, attention_mask and token_type_ids, matched by input name.
// Token ids are small and texts short, so the arrays are held in memory.
import { fileError } from '../util/errors.js';
import { readInputFile } from '../util/files.js';
import type { ValueSpec } from '../onnx/graph.js';
import type { NdArray } from './npy.js';
import { TextTokenizer, TOKENIZER_OUTPUTS, type Encoded, type TokenizerOutput } from './tokenizer.js';

export const TEXT_EXTENSIONS = ['.txt', '.jsonl'];

export interface TextExample {
  text: string;
  pair?: string;
}

/** The examples of a .txt or .jsonl file; blank lines are skipped. */
export function readTextExamples(path: string): TextExample[] {
  const lines = readInputFile(path).toString('utf8').split(/\r?\n/);
  const jsonl = path.toLowerCase().endsWith('.jsonl');
  const out: TextExample[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    if (!jsonl) {
      const parts = line.split('\t');
      if (parts.length > 2) throw fileError(path, `line ${i + 1} has ${parts.length} tab-separated fields; a line is a text, or two texts (a pair) separated by one tab`);
      out.push(parts.length === 2 ? { text: parts[0]!, pair: parts[1]! } : { text: line });
      return;
    }
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw fileError(path, `line ${i + 1} is not valid JSON`);
    }
    const o = v as { text?: unknown; text_pair?: unknown };
    if (typeof o?.text !== 'string') throw fileError(path, `line ${i + 1} has no "text" string field`);
    if (o.text_pair !== undefined && typeof o.text_pair !== 'string') throw fileError(path, `line ${i + 1}: "text_pair" must be a string`);
    out.push(o.text_pair === undefined ? { text: o.text } : { text: o.text, pair: o.text_pair as string });
  });
  if (out.length === 0) throw fileError(path, 'holds no examples (every line is empty)');
  return out;
}

export interface TextSource {
  count: number;
  /** Input name -> [count, length] array in the input's integer type. */
  arrays: Map<string, NdArray>;
}

/**
 * Tokenizes every example of `path` for the model's `inputs`. `vocabRows`
 * (input name -> rows of the embedding it indexes) catches a tokenizer made
 * for another model before any forward pass.
 */
export function openTextFile(path: string, inputs: ValueSpec[], tokenizerPath: string, maxLength?: number, vocabRows?: Map<string, number>): TextSource {
  const tok = new TextTokenizer(tokenizerPath, maxLength);
  const names = new Set<string>(TOKENIZER_OUTPUTS);
  const foreign = inputs.filter((i) => !names.has(i.name));
  if (foreign.length) {
    throw fileError(tokenizerPath, `gives ${TOKENIZER_OUTPUTS.join(', ')}; the model also needs input '${foreign[0]!.name}', which a tokenizer cannot give`);
  }
  const rows = vocabRows?.get('input_ids');
  if (rows !== undefined && tok.maxId >= rows) {
    throw fileError(tokenizerPath, `gives token ids up to ${tok.maxId}; the model's embedding for input_ids has ${rows} rows (a tokenizer made for another model?)`);
  }
  const examples = readTextExamples(path);
  const encoded = examples.map((e) => tok.encode(e.text, e.pair));
  const longest = Math.max(...encoded.map((e) => e.ids.length));
  const length = tok.paddedLength(longest);
  if (length === undefined && encoded.some((e) => e.ids.length !== longest)) {
    throw fileError(tokenizerPath, `sets no padding and the examples of ${path} have different lengths; give --max-length N`);
  }
  const n = length ?? longest;
  const arrays = new Map<string, NdArray>();
  for (const spec of inputs) arrays.set(spec.name, padded(encoded, spec.name as TokenizerOutput, n, tok, spec, tokenizerPath));
  return { count: examples.length, arrays };
}

function padded(encoded: Encoded[], what: TokenizerOutput, n: number, tok: TextTokenizer, spec: ValueSpec, tokenizerPath: string): NdArray {
  const type = spec.type === 'int32' ? 'int32' : 'int64';
  if (spec.type !== 'int32' && spec.type !== 'int64' && spec.type !== 'unknown') {
    throw fileError(tokenizerPath, `gives integer ids; input '${spec.name}' is ${spec.type}`);
  }
  const values = new Array<number>(encoded.length * n).fill(0);
  const padValue = what === 'input_ids' ? tok.padding?.pad_id ?? 0 : what === 'token_type_ids' ? tok.padding?.pad_type_id ?? 0 : 0;
  const left = tok.padding?.direction === 'Left';
  encoded.forEach((e, r) => {
    const len = e.ids.length;
    const at = left ? n - len : 0;
    for (let k = 0; k < n; k++) values[r * n + k] = padValue;
    for (let k = 0; k < len; k++) values[r * n + at + k] = what === 'input_ids' ? e.ids[k]! : what === 'token_type_ids' ? e.typeIds[k]! : 1;
  });
  const data = type === 'int32' ? Int32Array.from(values) : BigInt64Array.from(values, (v) => BigInt(v));
  return { dtype: type, shape: [encoded.length, n], data };
}
