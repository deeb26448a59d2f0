// The QAT checkpoint, OUT/qat.checkpoint, written after every epoch: one
// line of JSON (qatCheckpointHeaderSchema: the run's fingerprint, epochs
// done, the loss and learning-rate curves, the per-epoch log and the list of
// tensors), then the tensors' float32 values, little-endian, back to back in
// the header's order, then the SHA-256 of all that (32 bytes), so that a
// corrupted file is refused rather than trained from. One file, written
// atomically: a reader sees the previous epoch's checkpoint or this one,
// never a mix.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileError } from '../util/errors.js';
import { readInputFile, sha256, sha256File, writeFileAtomic } from '../util/files.js';
import { QTOOL_VERSION } from '../util/version.js';
import { checkSchemaId, schemaIdsOf } from '../util/schema-version.js';
import {
  qatCheckpointHeaderSchema, type QatCheckpointHeader, type QatEpoch, type QatFingerprint,
} from './checkpoint-schema.js';
import type { NamedValues, TrainState } from './train.js';

export const CHECKPOINT_FILE = 'qat.checkpoint';

export interface Checkpoint {
  fingerprint: QatFingerprint;
  epochLog: QatEpoch[];
  state: TrainState;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The SHA-256 at the end of the file. */
const DIGEST_BYTES = 32;

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const tensors = [
    ...c.state.variables.map((t) => ({ kind: 'variable' as const, t })),
    ...c.state.optimizer.map((t) => ({ kind: 'optimizer' as const, t })),
  ];
  const header: QatCheckpointHeader = qatCheckpointHeaderSchema.parse({
    schema: 'qtool/qat-checkpoint@1',
    qtoolVersion: QTOOL_VERSION,
    checksum: 'sha256',
    fingerprint: c.fingerprint,
    epoch: c.state.epoch,
    losses: c.state.losses,
    lrs: c.state.lrs,
    epochLog: c.epochLog,
    adamBetaPowers: c.state.adamBetaPowers,
    tensors: tensors.map(({ kind, t }) => ({ kind, name: t.name, shape: t.shape })),
  });
  const blobs = tensors.map(({ t }) => Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  const body = Buffer.concat([Buffer.from(JSON.stringify(header) + '\n', 'utf8'), ...blobs]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export function decodeCheckpoint(path: string, bytes: Buffer): Checkpoint {
  const bad = (what: string) => fileError(path, `not a valid qtool QAT checkpoint: ${what}`);
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) throw bad('no header line');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.subarray(0, nl).toString('utf8'));
  } catch {
    throw bad('the header is not JSON');
  }
  checkSchemaId(path, raw, schemaIdsOf(qatCheckpointHeaderSchema), 'not a valid qtool QAT checkpoint');
  const r = qatCheckpointHeaderSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw bad(`${issue.path.join('.') || '(header)'}: ${issue.message}`);
  }
  const h = r.data;
  if (h.losses.length !== h.lrs.length) throw bad('the loss and learning-rate curves differ in length');
  if (h.checksum !== 'sha256') throw bad('it has no checksum (written by an earlier qtool); run without --resume to start over');
  const floats = h.tensors.reduce((a, t) => a + count(t.shape), 0);
  const blob = bytes.subarray(nl + 1, bytes.length - DIGEST_BYTES);
  if (bytes.length - nl - 1 !== floats * 4 + DIGEST_BYTES) {
    throw bad(`${Math.max(0, bytes.length - nl - 1 - DIGEST_BYTES)} bytes of tensor data, the header lists ${floats * 4} (truncated?)`);
  }
  const digest = createHash('sha256').update(bytes.subarray(0, bytes.length - DIGEST_BYTES)).digest();
  if (!digest.equals(bytes.subarray(bytes.length - DIGEST_BYTES))) {
    throw bad('its content does not match its checksum (the file is corrupted); run without --resume to start over');
  }
  const variables: NamedValues[] = [];
  const optimizer: NamedValues[] = [];
  let at = 0;
  for (const t of h.tensors) {
    const n = count(t.shape);
    // A copy: the blob's offset need not be a multiple of 4.
    const values = new Float32Array(n);
    Buffer.from(values.buffer).set(blob.subarray(at, at + n * 4));
    at += n * 4;
    (t.kind === 'variable' ? variables : optimizer).push({ name: t.name, shape: t.shape, values });
  }
  return {
    fingerprint: h.fingerprint,
    epochLog: h.epochLog,
    state: { epoch: h.epoch, losses: h.losses, lrs: h.lrs, variables, optimizer, adamBetaPowers: h.adamBetaPowers },
  };
}

export function writeCheckpoint(path: string, c: Checkpoint): void {
  writeFileAtomic(path, encodeCheckpoint(c));
}

export function readCheckpoint(path: string): Checkpoint {
  return decodeCheckpoint(path, readInputFile(path));
}

/** How a difference in each fingerprint field reads: inputs by what they are, options by their flag. */
const INPUTS: Partial<Record<keyof QatFingerprint, string>> = {
  model: 'another model',
  calibration: 'another calibration (--calibration)',
  partial: 'another --partial',
  train: 'other training data (--train)',
  trainLabels: 'other training labels (--train-labels / --distill)',
  eval: 'other evaluation data (--eval)',
  labels: 'other evaluation labels (--labels)',
  preprocess: 'another preprocessing (--preprocess)',
  tokenizer: 'another tokenizer (--tokenizer)',
};
const OPTIONS: Partial<Record<keyof QatFingerprint, string>> = {
  epochs: '--epochs',
  batchSize: '--batch-size',
  optimizer: '--optimizer',
  lr0: 'a starting learning rate (--base-lr / --lr) of',
  learnRanges: '--learn-ranges',
  maxLength: '--max-length',
};

/** Refuses a checkpoint made for other inputs or options than this run's, naming the first difference. */
export function checkFingerprint(path: string, saved: QatFingerprint, current: QatFingerprint): void {
  for (const key of Object.keys(current) as (keyof QatFingerprint)[]) {
    const a = saved[key];
    const b = current[key];
    if (a === b) continue;
    const input = INPUTS[key];
    const flag = OPTIONS[key] ?? key;
    const detail = input ? `for ${input}`
      : typeof a === 'boolean' ? `${a ? 'with' : 'without'} ${flag}`
        : a === null ? `without ${flag} (this run: ${b})`
          : `with ${flag} ${a} (this run: ${b ?? 'without it'})`;
    throw fileError(path, `was made ${detail}; run without --resume to start over`);
  }
}

/** What a run's fingerprint is made of: the inputs' hashes and the options that shape training. */
export interface FingerprintParts {
  modelSha256: string;
  /** What QAT uses from the calibration (its passes, granularity, types, layers and every tensor's parameters): hashed, not the file, which holds timings. */
  recipe: unknown;
  /** The float layers from --partial (null without it). */
  floatLayers: string[] | null;
  files: { train: string; trainLabels?: string; eval?: string; labels?: string };
  /** How the data is read: --preprocess (a file, or the config's inline spec), --tokenizer, --max-length. */
  source: { preprocess?: string | object; tokenizer?: string; maxLength?: number };
  options: Pick<QatFingerprint, 'epochs' | 'batchSize' | 'optimizer' | 'lr0' | 'learnRanges'>;
}

export function qatFingerprint(p: FingerprintParts): QatFingerprint {
  const hashOf = (path: string | undefined) => (path ? sha256File(path) : null);
  const decisions = (v: unknown) => sha256(Buffer.from(JSON.stringify(v)));
  return {
    model: p.modelSha256,
    calibration: decisions(p.recipe),
    partial: p.floatLayers ? decisions(p.floatLayers) : null,
    train: sha256File(p.files.train), trainLabels: hashOf(p.files.trainLabels), eval: hashOf(p.files.eval), labels: hashOf(p.files.labels),
    preprocess: typeof p.source.preprocess === 'object' ? decisions(p.source.preprocess) : hashOf(p.source.preprocess),
    tokenizer: hashOf(p.source.tokenizer),
    maxLength: p.source.maxLength ?? null,
    ...p.options,
  };
}

/**
 * The checkpoint to resume from. `mode` true: it must exist and match (else
 * exit 2); 'auto': used when it exists and matches, else training starts
 * over and `onSkip` is told why; false: none.
 */
export function checkpointToResume(
  path: string, fingerprint: QatFingerprint, mode: boolean | 'auto' | undefined, onSkip: (reason: string) => void,
): Checkpoint | undefined {
  if (mode === true) {
    if (!existsSync(path)) throw fileError(path, 'no checkpoint to resume from; run without --resume');
    const c = readCheckpoint(path);
    checkFingerprint(path, c.fingerprint, fingerprint);
    return c;
  }
  if (mode !== 'auto' || !existsSync(path)) return undefined;
  try {
    const c = readCheckpoint(path);
    checkFingerprint(path, c.fingerprint, fingerprint);
    return c;
  } catch (e) {
    onSkip((e as Error).message.split('; run without')[0]!);
    return undefined;
  }
}
