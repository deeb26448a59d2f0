// The QAT checkpoint: training 2 epochs straight and training 1 epoch, going
// through the checkpoint file, then resuming for the 2nd end with the same
// losses and weights (Adam with learned scales, and SGD with momentum); the
// file format refuses truncated or foreign files and checkpoints made for
// other inputs or options, naming the difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadModel } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { loadDataset } from '../src/data/dataset.js';
import { batchFeeds } from '../src/data/batches.js';
import { loadLabels } from '../src/data/labels.js';
import { loadTf } from '../src/qat/tf.js';
import { tensorsFromFeeds } from '../src/qat/executor.js';
import { QatGraph } from '../src/qat/qat-graph.js';
import { trainQat, type TrainState } from '../src/qat/train.js';
import { checkFingerprint, readCheckpoint, writeCheckpoint, decodeCheckpoint, encodeCheckpoint } from '../src/qat/checkpoint.js';
import type { QatFingerprint } from '../src/report/schemas/qat.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';

const { tf } = await loadTf();
const dir = tempDir('qtool-qat-ckpt-');
const digits = (f: string) => repoPath('samples/digits', f);
const modelPath = repoPath('samples/mlp/model.onnx');
// High enough that two epochs move the weights well away from the calibrated ones.
const LR = { adam: 3e-3, sgd: 5e-2 };

const fingerprint: QatFingerprint = {
  model: 'a'.repeat(64), calibration: 'b'.repeat(64), partial: null, train: 'c'.repeat(64), trainLabels: 'd'.repeat(64),
  eval: null, labels: null, preprocess: null, tokenizer: null, maxLength: null, epochs: 2, batchSize: 32, optimizer: 'adam', lr0: LR.adam, learnRanges: true,
};

function calibrated() {
  const r = runQtool(['calibrate', modelPath, '--data', digits('calib_x.npy'), '--method', 'max', '--out', join(dir, 'cal')]);
  assert.equal(r.code, 0, r.stderr);
  const fp32 = loadModel(modelPath);
  return { fp32, q: loadCalibratedModel(fp32, join(dir, 'cal', 'calibration.json')).recipe };
}

function weights(qg: QatGraph): Float32Array[] {
  return qg.trainableVariables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function predictions(qg: QatGraph, ds: ReturnType<typeof loadDataset>): Int32Array {
  return tf.tidy(() => tf.argMax(qg.logits(tensorsFromFeeds(tf, batchFeeds(ds, 0, ds.count))), -1).dataSync() as Int32Array);
}

test('2 epochs straight = 1 epoch, checkpoint file, resume for the 2nd (Adam + LSQ scales, SGD + momentum)', async () => {
  const { fp32, q } = calibrated();
  const specs = graphInputs(fp32.model.graph!);
  const train = loadDataset(digits('train_x.npy'), specs);
  const evalDs = loadDataset(digits('eval_x.npy'), specs);
  const labels = loadLabels(digits('train_y.npy'), train.count, train.path);
  const perEpoch = Math.floor(train.count / 32);
  for (const [optimizer, learnScales] of [['adam', true], ['sgd', false]] as const) {
    const opts = { epochs: 2, batchSize: 32, lr: LR[optimizer], optimizer, labels };
    const path = join(dir, `${optimizer}.checkpoint`);

    const straight = new QatGraph(q, tf, { learnScales });
    const initial = weights(straight);
    const epochs: number[] = [];
    const a = await trainQat(straight, train, {
      ...opts,
      onEpoch: async (e) => {
        epochs.push(e.epoch);
        if (e.epoch === 1) writeCheckpoint(path, { fingerprint, epochLog: [{ epoch: 1, loss: e.loss, accuracy: null, seconds: e.seconds }], state: await e.state() });
      },
    });
    assert.deepEqual(epochs, [1, 2]);
    const wa = weights(straight);
    const predsA = predictions(straight, evalDs);
    straight.dispose();

    const saved = readCheckpoint(path);
    assert.equal(saved.state.epoch, 1);
    assert.equal(saved.state.losses.length, perEpoch);
    assert.deepEqual(saved.state.losses, a.losses.slice(0, perEpoch));
    assert.equal(saved.state.variables.length, wa.length);
    assert.ok(saved.state.optimizer.length >= wa.length, `${optimizer}: optimizer slots saved (${saved.state.optimizer.length})`);

    const resumed = new QatGraph(q, tf, { learnScales });
    const b = await trainQat(resumed, train, { ...opts, resume: saved.state });
    const wb = weights(resumed);
    const predsB = predictions(resumed, evalDs);
    resumed.dispose();

    assert.equal(b.resumedSteps, perEpoch);
    assert.equal(b.steps, a.steps);
    assert.equal(b.losses.length, a.losses.length);
    const lossDiff = maxAbsDiff(a.losses, b.losses);
    const lrDiff = maxAbsDiff(a.lrs, b.lrs);
    const weightDiff = Math.max(...wa.map((w, i) => maxAbsDiff(w, wb[i]!)));
    const moved = Math.max(...wa.map((w, i) => maxAbsDiff(w, initial[i]!)));
    console.log(`# ${optimizer}${learnScales ? ' + LSQ' : ''}: resumed vs straight: max |loss diff| ${lossDiff.toExponential(2)} (losses ${a.losses[perEpoch]!.toFixed(4)}..${a.losses.at(-1)!.toFixed(4)}), max |weight diff| ${weightDiff.toExponential(2)}, weights moved up to ${moved.toFixed(4)}`);
    assert.ok(moved > 1e-3, `${optimizer}: training moved the weights (${moved})`);
    assert.equal(lrDiff, 0);
    // Bit for bit: the same batches, learning rates, optimizer state and float32 arithmetic.
    assert.equal(lossDiff, 0, `${optimizer}: loss curves differ by ${lossDiff}`);
    assert.equal(weightDiff, 0, `${optimizer}: final weights differ by ${weightDiff}`);
    assert.deepEqual(predsB, predsA, `${optimizer}: same predictions on the eval set`);
  }
});

test('checkpoint file: round trip, truncated and foreign files refused with the file named', () => {
  const state: TrainState = {
    epoch: 1, losses: [0.5, 0.25], lrs: [1e-3, 5e-4],
    variables: [{ name: 'W', shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }, { name: 'scale/x', shape: [], values: Float32Array.from([0.02]) }],
    optimizer: [{ name: 'W/m', shape: [2, 3], values: new Float32Array(6).fill(0.125) }],
    adamBetaPowers: [Math.fround(0.9 ** 2), Math.fround(0.999 ** 2)],
  };
  const path = join(dir, 'roundtrip.checkpoint');
  writeCheckpoint(path, { fingerprint, epochLog: [{ epoch: 1, loss: 0.375, accuracy: 97.5, seconds: 0.1 }], state });
  const back = readCheckpoint(path);
  assert.deepEqual(back.state, state);
  assert.deepEqual(back.fingerprint, fingerprint);
  assert.equal(back.epochLog[0]!.accuracy, 97.5);

  const bytes = readFileSync(path);
  assert.throws(() => decodeCheckpoint(path, bytes.subarray(0, bytes.length - 4)), (e: Error) => e.name === 'InputError' && e.message.startsWith(`${path}: `) && /truncated/.test(e.message));
  writeFileSync(path, '{"schema":"qtool/calibration@1"}\n');
  assert.throws(() => readCheckpoint(path), /not a valid qtool QAT checkpoint: schema/);
  writeFileSync(path, Buffer.from([0x80, 0x81, 0x82]));
  assert.throws(() => readCheckpoint(path), /not a valid qtool QAT checkpoint/);
  assert.throws(() => readCheckpoint(join(dir, 'missing.checkpoint')), /missing\.checkpoint: no such file/);
  // The header is one line: tensor data that happens to contain a newline byte does not end it early.
  const nl = { ...state, variables: [{ name: 'W', shape: [1], values: new Float32Array(new Uint8Array([0x0a, 0x0a, 0x0a, 0x0a]).buffer) }], optimizer: [] };
  assert.deepEqual(decodeCheckpoint(path, encodeCheckpoint({ fingerprint, epochLog: [], state: nl })).state, nl);
});

test('checkFingerprint names the first difference', () => {
  const p = 'OUT/qat.checkpoint';
  checkFingerprint(p, fingerprint, { ...fingerprint });
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, model: 'e'.repeat(64) }), /^InputError: OUT\/qat\.checkpoint: was made for another model; run without --resume/);
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, trainLabels: null }), /was made for other training labels/);
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, epochs: 3 }), /was made with --epochs 2 \(this run: 3\)/);
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, optimizer: 'sgd' }), /was made with --optimizer adam \(this run: sgd\)/);
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, learnRanges: false }), /was made with --learn-ranges/);
  assert.throws(() => checkFingerprint(p, { ...fingerprint, learnRanges: false }, fingerprint), /was made without --learn-ranges/);
  // How the data is read: the preprocessing and tokenizer files by content, --max-length by value.
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, preprocess: 'f'.repeat(64) }), /was made for another preprocessing \(--preprocess\); run without --resume/);
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, tokenizer: 'f'.repeat(64) }), /was made for another tokenizer \(--tokenizer\)/);
  assert.throws(() => checkFingerprint(p, { ...fingerprint, maxLength: 32 }, { ...fingerprint, maxLength: 16 }), /was made with --max-length 32 \(this run: 16\)/);
  assert.throws(() => checkFingerprint(p, fingerprint, { ...fingerprint, maxLength: 16 }), /was made without --max-length \(this run: 16\)/);
  assert.throws(() => checkFingerprint(p, { ...fingerprint, maxLength: 32 }, fingerprint), /was made with --max-length 32 \(this run: without it\)/);
});

test('a checkpoint of an earlier version (no preprocessing, tokenizer or --max-length recorded) reads as made without them', () => {
  const { preprocess: _p, tokenizer: _t, maxLength: _m, ...earlier } = fingerprint;
  const state: TrainState = { epoch: 1, losses: [1], lrs: [0.1], variables: [], optimizer: [], adamBetaPowers: null };
  const bytes = encodeCheckpoint({ fingerprint, epochLog: [], state });
  const nl = bytes.indexOf(0x0a);
  const header = JSON.parse(bytes.subarray(0, nl).toString('utf8'));
  const body = Buffer.concat([Buffer.from(JSON.stringify({ ...header, fingerprint: earlier }) + '\n'), bytes.subarray(nl + 1, bytes.length - 32)]);
  const old = Buffer.concat([body, createHash('sha256').update(body).digest()]);
  const read = decodeCheckpoint('qat.checkpoint', old).fingerprint;
  assert.deepEqual(read, fingerprint);
  assert.throws(() => checkFingerprint('qat.checkpoint', read, { ...fingerprint, tokenizer: 'f'.repeat(64) }), /another tokenizer/);
});

test('qat-finetune --resume with another preprocessing file is refused in one line (exit 2); the same file resumes', () => {
  const cal = join(dir, 'cal', 'calibration.json');
  if (!existsSync(cal)) calibrated();
  const images = repoPath('test', 'fixtures', 'images', 'mnist-png');
  // The PNG digits shrunk to the MLP's 8x8 input, on its 0..16 scale.
  const spec = (scale: number) => ({ channels: 'gray', resize: [8, 8], scale });
  const pre = join(dir, 'digits.preprocess.json');
  writeFileSync(pre, JSON.stringify(spec(16 / 255)));
  const out = join(dir, 'pre-out');
  const args = ['qat-finetune', modelPath, '--calibration', cal, '--train', images, '--preprocess', pre, '--distill', '--epochs', '1', '--out', out];
  const first = runQtool(args);
  assert.equal(first.code, 0, first.stderr);
  const same = runQtool([...args, '--resume']);
  assert.equal(same.code, 0, same.stderr);
  writeFileSync(pre, JSON.stringify(spec(1 / 255)));
  const other = runQtool([...args, '--resume']);
  assert.equal(other.code, 2, other.stderr);
  const last = other.stderr.trim().split('\n').at(-1)!;
  assert.match(last, /qat\.checkpoint: was made for another preprocessing \(--preprocess\); run without --resume to start over$/);
  assert.doesNotMatch(other.stderr, /\n\s+at .*:\d+/, 'no stack trace');
});
