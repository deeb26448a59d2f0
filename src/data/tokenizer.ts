// A Hugging Face tokenizer.json, applied as the Python `tokenizers` package
// applies it: @huggingface/tokenizers (the implementation transformers.js
// uses) normalizes, pre-tokenizes, runs the model and adds the special tokens;
// it does not read the file's `truncation` and `padding`, so those are here,
// following `tokenizers`' rules (truncation before the special tokens, with
// room left for them; LongestFirst shares the budget between a pair).
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { fileError } from '../util/errors.js';
import { readInputFile } from '../util/files.js';

const truncationSchema = z.object({
  max_length: z.number().int().positive(),
  strategy: z.enum(['LongestFirst', 'OnlyFirst', 'OnlySecond']).default('LongestFirst'),
  direction: z.enum(['Right', 'Left']).default('Right'),
}).loose();

const paddingSchema = z.object({
  strategy: z.union([z.literal('BatchLongest'), z.object({ Fixed: z.number().int().positive() })]).default('BatchLongest'),
  direction: z.enum(['Right', 'Left']).default('Right'),
  pad_to_multiple_of: z.number().int().positive().nullable().default(null),
  pad_id: z.number().int().nonnegative().default(0),
  pad_type_id: z.number().int().nonnegative().default(0),
}).loose();

const fileSchema = z.object({
  model: z.object({ type: z.string(), vocab: z.unknown(), unk_token: z.string().optional() }).loose(),
  truncation: truncationSchema.nullable().default(null),
  padding: paddingSchema.nullable().default(null),
}).loose();

type Truncation = z.output<typeof truncationSchema>;
type Padding = z.output<typeof paddingSchema>;

/** One example's three sequences, before padding. */
export interface Encoded {
  ids: number[];
  typeIds: number[];
}

/** What the model inputs of a tokenized batch are called, in transformers' names. */
export const TOKENIZER_OUTPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export type TokenizerOutput = (typeof TOKENIZER_OUTPUTS)[number];

export class TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly vocab: Map<string, number>;
  private readonly unkId: number | undefined;
  readonly truncation: Truncation | null;
  readonly padding: Padding | null;
  /** The largest id the tokenizer can give. */
  readonly maxId: number;

  constructor(readonly path: string, maxLength?: number) {
    let json: unknown;
    try {
      json = JSON.parse(readInputFile(path).toString('utf8'));
    } catch (e) {
      if (e instanceof SyntaxError) throw fileError(path, `not valid JSON (${e.message})`);
      throw e;
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw fileError(path, `not a Hugging Face tokenizer.json (${i.path.join('.') || 'top level'}: ${i.message})`);
    }
    try {
      this.tok = new Tokenizer(json as object, {});
    } catch (e) {
      throw fileError(path, `cannot load this tokenizer (${(e as Error).message.split('\n')[0]})`);
    }
    const f = parsed.data;
    // --max-length pads and truncates to exactly N, whatever the file says.
    this.truncation = maxLength ? { max_length: maxLength, strategy: f.truncation?.strategy ?? 'LongestFirst', direction: f.truncation?.direction ?? 'Right' } : f.truncation;
    this.padding = maxLength ? { ...(f.padding ?? paddingSchema.parse({})), strategy: { Fixed: maxLength }, pad_to_multiple_of: null } : f.padding;
    this.vocab = this.tok.get_vocab(true);
    this.unkId = f.model.unk_token === undefined ? undefined : this.vocab.get(f.model.unk_token);
    this.maxId = Math.max(...this.vocab.values());
  }

  private idOf(token: string): number {
    const id = this.vocab.get(token) ?? this.unkId;
    if (id === undefined) throw fileError(this.path, `token '${token}' is not in the vocabulary and the model has no unk_token`);
    return id;
  }

  /** How many special tokens the post-processor adds to a single text or a pair. */
  private added(pair: boolean): number {
    return this.tok.post_processor ? this.tok.post_processor([], pair ? [] : null, true).tokens.length : 0;
  }

  /** One text or pair: tokens, truncated as the file says, with the special tokens. */
  encode(text: string, pair?: string): Encoded {
    let a = this.tok.tokenize(text, { add_special_tokens: false });
    let b = pair === undefined ? null : this.tok.tokenize(pair, { add_special_tokens: false });
    if (this.truncation) [a, b] = truncate(a, b, Math.max(0, this.truncation.max_length - this.added(b !== null)), this.truncation);
    const done = this.tok.post_processor
      ? this.tok.post_processor(a, b, true)
      : { tokens: [...a, ...(b ?? [])], token_type_ids: undefined };
    const ids = done.tokens.map((t: string) => this.idOf(t));
    return { ids, typeIds: done.token_type_ids ?? ids.map(() => 0) };
  }

  /** The length every example is padded to, or a problem to report. */
  paddedLength(longest: number): number | undefined {
    const p = this.padding;
    if (!p) return undefined;
    const n = p.strategy === 'BatchLongest' ? longest : Math.max(p.strategy.Fixed, longest);
    const m = p.pad_to_multiple_of;
    return m ? Math.ceil(n / m) * m : n;
  }
}

/** `tokenizers`' truncation of a sequence (or pair) to `max` tokens in all. */
function truncate(a: string[], b: string[] | null, max: number, t: Truncation): [string[], string[] | null] {
  const cut = (s: string[], n: number) => (s.length <= n ? s : t.direction === 'Right' ? s.slice(0, n) : s.slice(s.length - n));
  const total = a.length + (b?.length ?? 0);
  if (total <= max) return [a, b];
  if (b === null || t.strategy === 'OnlyFirst') return [cut(a, Math.max(0, max - (b?.length ?? 0))), b];
  if (t.strategy === 'OnlySecond') return [a, cut(b, Math.max(0, max - a.length))];
  // LongestFirst: the shorter keeps its length when the longer can absorb the cut, else both get half.
  let n1 = Math.min(a.length, b.length);
  let n2 = n1 > max ? n1 : Math.max(n1, max - n1);
  if (n1 + n2 > max) {
    n1 = Math.floor(max / 2);
    n2 = n1 + (max % 2);
  }
  return a.length > b.length ? [cut(a, n2), cut(b, n1)] : [cut(a, n1), cut(b, n2)];
}
