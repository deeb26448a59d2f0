// QAT: the tfjs fake quant against ONNX's QuantizeLinear/DequantizeLinear
// semantics (test/lib/fake-quant.ts), its straight-through gradient, the
// fake-quant graph's accuracy against onnxruntime on the INT8 model calibrate
// writes (before training), and a short fine-tune whose exported INT8 model
// onnxruntime runs with the accuracy the tfjs fake-quant model had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import ort from 'onnxruntime-node';
import { encodeModel, loadModel, type Model } from '../src/onnx/model.js';
import { graphInputs, initializerMap } from '../src/onnx/graph.js';
import { tensorToArray } from '../src/onnx/tensor.js';
import { weightKey } from '../src/quant/qdq.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { batchFeeds } from '../src/data/batches.js';
import { loadLabels } from '../src/data/labels.js';
import { loadTf } from '../src/qat/tf.js';
import { tensorsFromFeeds } from '../src/qat/executor.js';
import { fakeQuantLsq, fakeQuantLsqFused, fakeQuantTensor, fakeQuantTensorFused, fakeQuantWeight, fakeQuantWeightLsq } from '../src/qat/fake-quant.js';
import { nativeOps } from '../src/qat/tf-native.js';
import { QatGraph } from '../src/qat/qat-graph.js';
import { cosineLr, exportQatModel, trainQat } from '../src/qat/train.js';
import { fakeQuant } from './lib/fake-quant.js';
import { dequantizeLinearPerAxis, quantizeWeightPerChannel, quantizeWeightPerTensor, dequantizeLinear } from '../src/quant/qparams.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';
import { mulberry32 } from './lib/random.js';
import { headNpy } from './lib/npy-write.js';

const { tf, backend } = await loadTf();
const report: string[] = [];
const LR = 1e-4;

/** Deterministic pseudo-random floats in [lo, hi). */
function randoms(n: number, lo: number, hi: number, seed = 7): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + r() * (hi - lo));
}

const digits = (f: string) => repoPath('samples/digits', f);

/** The MLP sample calibrated per tensor with max ranges, loaded for QAT. */
function mlpPerTensorMax(prefix: string) {
  const dir = tempDir(prefix);
  const modelPath = repoPath('samples/mlp/model.onnx');
  const r = runQtool(['calibrate', modelPath, '--data', digits('calib_x.npy'), '--per-tensor', '--method', 'max', '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  const fp32 = loadModel(modelPath);
  return { fp32, q: loadCalibratedModel(fp32, join(dir, 'calibration.json')).recipe };
}

test('fake quant: forward is QuantizeLinear -> DequantizeLinear (ties to even, saturation), gradient passes only inside the range', () => {
  for (const [type, scale, zp] of [['uint8', 0.05, 37], ['int8', 0.0173, -5], ['uint8', 0.1, 0]] as const) {
    const n = 4000;
    const x = randoms(n, -20, 20);
    // Exact ties k + 0.5 (x / s is exact for a power-of-two scale; here for the float32 quotient), and far out of range.
    for (let k = 0; k < 200; k++) x[k] = Math.fround((k - 100 + 0.5) * Math.fround(scale));
    x[200] = 1e6;
    x[201] = -1e6;
    const want = fakeQuant(x, scale, zp, type, new Float32Array(n));
    const xt = tf.tensor1d(x);
    const got = tf.tidy(() => fakeQuantTensor(tf, xt, { scale, zeroPoint: zp, type }).dataSync() as Float32Array);
    let bad = 0;
    for (let i = 0; i < n; i++) if (got[i] !== want[i]) bad++;
    assert.equal(bad, 0, `${type} s=${scale} z=${zp}: ${bad} values differ from ONNX semantics`);

    const g = tf.tidy(() => tf.grad((t: Tensor) => fakeQuantTensor(tf, t, { scale, zeroPoint: zp, type }))(xt).dataSync());
    const qmin = type === 'uint8' ? 0 : -128;
    const qmax = type === 'uint8' ? 255 : 127;
    const lo = Math.fround((qmin - zp) * Math.fround(scale));
    const hi = Math.fround((qmax - zp) * Math.fround(scale));
    let inside = 0;
    for (let i = 0; i < n; i++) {
      const expect = x[i]! >= lo && x[i]! <= hi ? 1 : 0;
      inside += expect;
      assert.equal(g[i], expect, `gradient at x=${x[i]}`);
    }
    assert.ok(inside > 100 && inside < n - 100, 'both cases occur');
    xt.dispose();
  }
  // Ties exactly: scale 0.5, x = k / 4 gives x / s = k / 2.
  const ties = Float32Array.from({ length: 41 }, (_, k) => (k - 20) / 4);
  const t = tf.tensor1d(ties);
  const y = tf.tidy(() => fakeQuantTensor(tf, t, { scale: 0.5, zeroPoint: 0, type: 'int8' }).dataSync());
  assert.deepEqual(Array.from(y), Array.from(fakeQuant(ties, 0.5, 0, 'int8', new Float32Array(41))));
  assert.equal(y[21], 0, '0.25 / 0.5 = 0.5 rounds to 0 (even)');
  assert.equal(y[23], 1, '0.75 / 0.5 = 1.5 rounds to 2 -> 1.0');
  t.dispose();
});

/** Equal as float values (-0 equals 0: DequantizeLinear writes 0 where the fake quant keeps the sign of a -0 product). */
function assertSameValues(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length);
  let bad = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) bad++;
  assert.equal(bad, 0, `${what}: ${bad} of ${got.length} values differ`);
}

test('fused fake quant (TensorFlow\'s op): QuantizeLinear -> DequantizeLinear except one level at midpoints; the same gradient range', () => {
  const maybe = nativeOps(tf);
  assert.ok(maybe, 'tfjs-node runs on native TensorFlow');
  const native = maybe;
  const lines: string[] = [];
  for (const [type, scale, zp] of [['uint8', 0.05, 37], ['int8', 0.0173, -5], ['uint8', 0.1, 0], ['uint8', 0.0271, 113]] as const) {
    const n = 200_000;
    const x = randoms(n, -30, 30, 23);
    const s = Math.fround(scale);
    const want = fakeQuant(x, scale, zp, type, new Float32Array(n));
    const xt = tf.tensor1d(x);
    const p = { scale, zeroPoint: zp, type };
    const got = tf.tidy(() => fakeQuantTensorFused(tf, native, xt, p).dataSync() as Float32Array);
    // The op computes a level as k s' + nudged min, with its own s' = (hi - lo) / 255:
    // the same value up to float rounding of the range's ends (tol); a value more
    // than that away must be exactly one level off, from an input at a midpoint.
    const tol = 4e-7 * 255 * s;
    let off = 0;
    let ulps = 0;
    let maxUlpDiff = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.abs(got[i]! - want[i]!);
      if (d === 0) continue;
      if (d <= tol) {
        ulps++;
        maxUlpDiff = Math.max(maxUlpDiff, d);
        continue;
      }
      off++;
      const v = x[i]! / s;
      assert.ok(Math.abs(d - s) <= tol, `x=${x[i]}: ${got[i]} vs ${want[i]}, more than one level apart`);
      assert.ok(Math.abs(v - Math.floor(v) - 0.5) < 1e-4, `x=${x[i]}: x / s = ${v} is not at a midpoint`);
    }
    assert.ok(off <= n * 1e-4, `${off} of ${n} values one level off`);
    const gExact = tf.tidy(() => tf.grad((t: Tensor) => fakeQuantTensor(tf, t, p))(xt).dataSync());
    const fused = (t: Tensor): Tensor => fakeQuantTensorFused(tf, native, t, p);
    const gFused = tf.tidy(() => tf.grad(fused)(xt).dataSync());
    let inside = 0;
    for (let i = 0; i < n; i++) {
      inside += gExact[i]!;
      assert.equal(gFused[i], gExact[i], `gradient at x=${x[i]}`);
    }
    assert.ok(inside > 100 && inside < n - 100, 'both cases occur');
    lines.push(`${type} s=${scale} z=${zp}: ${off} of ${n} one level off, ${ulps} off by rounding (at most ${(maxUlpDiff / s).toExponential(1)} of a level)`);
    xt.dispose();
  }
  report.push(`fused fake quant vs QuantizeLinear -> DequantizeLinear: ${lines.join('; ')}`);
});

test('weight fake quant equals the per-channel / per-tensor int8 quantization the QDQ model stores; gradient passes through', () => {
  const dims = [8, 3, 3, 3];
  const w = randoms(8 * 27, -0.7, 0.7, 11);
  for (let i = 27; i < 54; i++) w[i] = 0; // an all-zero channel
  // A dead channel, as PP-OCRv4's recognizer has: zeros and values whose scale (/127) is subnormal, which TensorFlow flushes to 0.
  for (let i = 54; i < 81; i++) w[i] = i % 3 === 0 ? 0 : (i % 2 ? 1 : -1) * 1e-37;
  const wt = tf.tensor(w, dims);
  const pc = quantizeWeightPerChannel(w, dims, 0);
  const wantPc = dequantizeLinearPerAxis(pc.q, dims, 0, pc.scales, pc.zeroPoints);
  const gotPc = tf.tidy(() => fakeQuantWeight(tf, wt, 0).dataSync());
  assertSameValues(gotPc, wantPc, 'per channel, axis 0');
  assert.ok(gotPc.slice(54, 81).every((v) => v === 0), 'the subnormal channel quantizes to 0, not NaN');
  const pt = quantizeWeightPerTensor(w);
  const wantPt = dequantizeLinear(pt.q, pt.scale, pt.zeroPoint);
  const gotPt = tf.tidy(() => fakeQuantWeight(tf, wt).dataSync());
  assertSameValues(gotPt, wantPt, 'per tensor');
  // Axis 1 (Gemm without transB, MatMul).
  const d2 = [27, 8];
  const pc1 = quantizeWeightPerChannel(w, d2, 1);
  const got1 = tf.tidy(() => fakeQuantWeight(tf, tf.tensor(w, d2), 1).dataSync());
  assertSameValues(got1, dequantizeLinearPerAxis(pc1.q, d2, 1, pc1.scales, pc1.zeroPoints), 'per channel, axis 1');
  const g = tf.tidy(() => tf.grad((t: Tensor) => tf.mul(fakeQuantWeight(tf, t, 0), 3))(wt).dataSync());
  assert.ok(g.every((v) => v === 3), 'straight through');
  wt.dispose();
});

test('LSQ fake quant: the forward of the fixed-scale one; STE input gradient; the step-size gradient of Esser et al.', () => {
  const scale = 0.05;
  const zp = 10;
  const x = randoms(500, -2, 14, 3);
  const dy = randoms(500, -1, 1, 5);
  const xt = tf.tensor1d(x);
  const dyt = tf.tensor1d(dy);
  const s = tf.scalar(scale);
  const p = { scale, zeroPoint: zp, type: 'uint8' as const };
  const want = tf.tidy(() => fakeQuantTensor(tf, xt, p).dataSync());
  const got = tf.tidy(() => fakeQuantLsq(tf, xt, s, p).dataSync());
  assertSameValues(got, want, 'LSQ forward');
  const [gx, gs] = tf.tidy(() => tf.grads((a: Tensor, b: Tensor) => fakeQuantLsq(tf, a, b, p))([xt, s], dyt).map((t) => t.dataSync()));
  const sf = Math.fround(scale);
  const [lo, hi] = [0 - zp, 255 - zp];
  let ds = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i]! / sf);
    const inside = v >= lo && v <= hi;
    assert.ok(gx![i] === (inside ? dy[i] : 0), `d/dx at ${x[i]}: ${gx![i]}`);
    ds += dy[i]! * (inside ? Math.round(v) - v : v < lo ? lo : hi);
  }
  ds /= Math.sqrt(x.length * hi);
  assert.ok(Math.abs(gs![0]! - ds) < 1e-4 * Math.max(1, Math.abs(ds)), `d/ds ${gs![0]} vs ${ds}`);
  tf.dispose([xt, dyt, s]);
});

test('fused LSQ (TensorFlow\'s ops): the exact LSQ\'s input gradient, and its step-size gradient up to float rounding', () => {
  const maybe = nativeOps(tf);
  assert.ok(maybe, 'tfjs-node runs on native TensorFlow');
  const native = maybe;
  for (const [type, scale, zp] of [['uint8', 0.05, 10], ['int8', 0.0173, -5], ['uint8', 0.1, 0]] as const) {
    const n = 20_000;
    const x = randoms(n, -3, 14, 29);
    const dy = randoms(n, -1, 1, 31);
    const xt = tf.tensor1d(x);
    const dyt = tf.tensor1d(dy);
    const s = tf.scalar(scale);
    const p = { zeroPoint: zp, type };
    const exact = (a: Tensor, b: Tensor): Tensor => fakeQuantLsq(tf, a, b, p);
    const fused = (a: Tensor, b: Tensor): Tensor => fakeQuantLsqFused(tf, native, a, b, p);
    const [ye, gxe, gse] = tf.tidy(() => [exact(xt, s).dataSync(), ...tf.grads(exact)([xt, s], dyt).map((t) => t.dataSync())]);
    const [yf, gxf, gsf] = tf.tidy(() => [fused(xt, s).dataSync(), ...tf.grads(fused)([xt, s], dyt).map((t) => t.dataSync())]);
    // The forward is the fused fake quant's: equal up to float rounding, or one
    // level away from an input at a midpoint (see the fused fake quant test).
    // Such an input's round(v) - v term in d/ds moves by that level too:
    // `shift` is what it adds to LSQ's sum before the gradient scale.
    const tol = 4e-7 * 255 * scale;
    let off = 0;
    let shift = 0;
    for (let i = 0; i < n; i++) {
      const d = yf![i]! - ye![i]!;
      if (Math.abs(d) > tol) {
        off++;
        const v = x[i]! / Math.fround(scale);
        assert.ok(Math.abs(Math.abs(d) - Math.fround(scale)) <= tol, `${type}: forward at x=${x[i]}: ${yf![i]} vs ${ye![i]}, more than one level apart`);
        assert.ok(Math.abs(v - Math.floor(v) - 0.5) < 1e-4, `${type}: forward at x=${x[i]}: ${yf![i]} vs ${ye![i]}, x / s = ${v} is not at a midpoint`);
        shift += dy[i]! * Math.sign(d);
      }
      assert.equal(gxf![i], gxe![i], `${type}: d/dx at x=${x[i]}`);
    }
    assert.ok(off <= n * 1e-4, `${type}: ${off} of ${n} values one level off`);
    const [lo, hi] = type === 'int8' ? [-128 - zp, 127 - zp] : [-zp, 255 - zp];
    const a = gse![0]! + shift / Math.sqrt(n * Math.max(hi, -lo));
    const b = gsf![0]!;
    assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a)), `${type}: d/ds exact ${a} vs fused ${b}`);
    tf.dispose([xt, dyt, s]);
  }
});

test('weight LSQ: at max|w| / 127 it is the weight fake quant; a smaller scale clips; per-channel step-size gradients', () => {
  const dims = [4, 2, 3, 3];
  const w = randoms(4 * 18, -0.7, 0.7, 17);
  for (let i = 0; i < 18; i++) w[i]! *= 50; // an outlier channel
  const wt = tf.tensor(w, dims);
  const pc = quantizeWeightPerChannel(w, dims, 0);
  const sMax = tf.tensor(pc.scales, [4, 1, 1, 1]);
  assertSameValues(tf.tidy(() => fakeQuantWeightLsq(tf, wt, sMax, 0).dataSync()), tf.tidy(() => fakeQuantWeight(tf, wt, 0).dataSync()), 'per channel at max|w| / 127');
  const pt = quantizeWeightPerTensor(w);
  const sPt = tf.scalar(pt.scale);
  assertSameValues(tf.tidy(() => fakeQuantWeightLsq(tf, wt, sPt).dataSync()), tf.tidy(() => fakeQuantWeight(tf, wt).dataSync()), 'per tensor at max|w| / 127');
  // Channel 0's scale a tenth of its max: most of its weights clip to +-127 s and get no gradient.
  const scales = Float32Array.from(pc.scales, (v, c) => (c === 0 ? v / 10 : v));
  const st = tf.tensor(scales, [4, 1, 1, 1]);
  const dy = randoms(w.length, -1, 1, 19);
  const dyt = tf.tensor(dy, dims);
  const [y, gx, gs] = tf.tidy(() => [fakeQuantWeightLsq(tf, wt, st, 0).dataSync(), ...tf.grads((a: Tensor, b: Tensor) => fakeQuantWeightLsq(tf, a, b, 0))([wt, st], dyt).map((t) => t.dataSync())]);
  const want = new Float64Array(4);
  let clipped = 0;
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / 18);
    const s = scales[c]!;
    const v = Math.fround(w[i]! / s);
    const inside = v >= -127 && v <= 127;
    if (!inside) clipped++;
    const q = Math.min(127, Math.max(-127, Math.round(v)));
    assert.ok(Math.abs(y![i]! - q * s) <= 1e-6 * Math.abs(q * s) + 1e-12, `forward at ${i}`);
    assert.ok(gx![i] === (inside ? dy[i] : 0), `d/dw at ${i}: ${gx![i]}`);
    want[c] += dy[i]! * (inside ? Math.round(v) - v : q);
  }
  assert.ok(clipped > 9, `channel 0 clips (${clipped} weights)`);
  for (let c = 0; c < 4; c++) {
    const ds = want[c]! / Math.sqrt(18 * 127);
    assert.ok(Math.abs(gs![c]! - ds) < 1e-4 * Math.max(1, Math.abs(ds)), `d/ds[${c}] ${gs![c]} vs ${ds}`);
  }
  tf.dispose([wt, sMax, sPt, st, dyt]);
});

test('cosine schedule: lr0 at the start, half way at the middle, 0 at the end', () => {
  assert.equal(cosineLr(1e-3, 0, 100), 1e-3);
  assert.ok(Math.abs(cosineLr(1e-3, 50, 100) - 5e-4) < 1e-12);
  assert.ok(Math.abs(cosineLr(1e-3, 100, 100)) < 1e-12);
});

// ---------------------------------------------------------------------------

/** Top-1 in percent; `preds` receives the predicted classes. */
function tfTop1(qg: QatGraph, ds: Dataset, labels: Int32Array, batch = 100, preds?: Int32Array): number {
  let correct = 0;
  for (let s = 0; s < ds.count; s += batch) {
    const size = Math.min(batch, ds.count - s);
    const pred = tf.tidy(() => {
      const feeds = tensorsFromFeeds(tf, batchFeeds(ds, s, size));
      return tf.argMax(qg.logits(feeds), -1).dataSync();
    });
    for (let i = 0; i < size; i++) {
      if (pred[i] === labels[s + i]) correct++;
      if (preds) preds[s + i] = pred[i]!;
    }
  }
  return (100 * correct) / ds.count;
}

async function ortTop1(model: Uint8Array, ds: Dataset, labels: Int32Array, batch = 100, preds?: Int32Array): Promise<number> {
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  let correct = 0;
  try {
    for (let s = 0; s < ds.count; s += batch) {
      const size = Math.min(batch, ds.count - s);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(batchFeeds(ds, s, size))) feeds[name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
      const out = (await session.run(feeds))[session.outputNames[0]!]!;
      const y = out.data as Float32Array;
      const cols = y.length / size;
      for (let i = 0; i < size; i++) {
        let best = 0;
        for (let c = 1; c < cols; c++) if (y[i * cols + c]! > y[i * cols + best]!) best = c;
        if (best === labels[s + i]) correct++;
        if (preds) preds[s + i] = best;
      }
    }
  } finally {
    await session.release();
  }
  return (100 * correct) / ds.count;
}

/** Mean training loss (cross-entropy) of the fake-quant graph over the whole set. */
function meanLoss(qg: QatGraph, ds: Dataset, labels: Int32Array, batch = 250): number {
  let sum = 0;
  for (let s = 0; s < ds.count; s += batch) {
    const size = Math.min(batch, ds.count - s);
    sum += tf.tidy(() => {
      const logits = qg.logits(tensorsFromFeeds(tf, batchFeeds(ds, s, size)));
      const onehot = tf.oneHot(tf.tensor1d(labels.subarray(s, s + size), 'int32'), logits.shape[1]!);
      return tf.losses.softmaxCrossEntropy(onehot, logits, undefined, undefined, tf.Reduction.SUM).dataSync()[0]!;
    });
  }
  return sum / ds.count;
}

test('mlp: fake-quant top-1 matches onnxruntime on the INT8 model before training; a 1-epoch fine-tune lowers the loss and exports a model onnxruntime runs alike', async () => {
  const t0 = performance.now();
  const dir = tempDir('qtool-qat-');
  const modelPath = repoPath('samples/mlp/model.onnx');
  const r = runQtool(['calibrate', modelPath, '--data', digits('calib_x.npy'), '--method', 'max', '--out', join(dir, 'cal')]);
  assert.equal(r.code, 0, r.stderr);
  const fp32 = loadModel(modelPath);
  const q = loadCalibratedModel(fp32, join(dir, 'cal', 'calibration.json')).recipe;
  const inputs = graphInputs(fp32.model.graph!);
  const evalX = loadDataset(digits('eval_x.npy'), inputs);
  const evalY = loadLabels(digits('eval_y.npy'), evalX.count);
  const trainX = loadDataset(digits('train_x.npy'), inputs);
  const trainY = loadLabels(digits('train_y.npy'), trainX.count);

  const qg = new QatGraph(q, tf);
  try {
    const before = tf.memory().numTensors;
    const ortInt8 = await ortTop1(loadModel(join(dir, 'cal', 'model.int8.onnx')).bytes, evalX, evalY);
    const fqBefore = tfTop1(qg, evalX, evalY);
    qg.quantize = false;
    const floatTop1 = tfTop1(qg, evalX, evalY);
    qg.quantize = true;
    assert.ok(Math.abs(fqBefore - ortInt8) <= 0.5, `before training: tfjs fake quant ${fqBefore}% vs onnxruntime INT8 ${ortInt8}%`);
    // The exported model of the untrained weights is the calibrated model again.
    const exported0 = await ortTop1(encodeModel(exportQatModel(qg)), evalX, evalY);
    assert.equal(exported0, ortInt8, 'export without training reproduces calibrate\'s model');

    const lossBefore = meanLoss(qg, trainX, trainY);
    const res = await trainQat(qg, trainX, { epochs: 1, batchSize: 32, lr: LR, labels: trainY });
    const lossAfter = meanLoss(qg, trainX, trainY);
    assert.equal(res.losses.length, Math.floor(trainX.count / 32));
    assert.ok(lossAfter < lossBefore, `training loss ${lossBefore} -> ${lossAfter}`);

    const pt = new Int32Array(evalX.count);
    const po = new Int32Array(evalX.count);
    const fqAfter = tfTop1(qg, evalX, evalY, 100, pt);
    const exported: Model = exportQatModel(qg);
    const ortAfter = await ortTop1(encodeModel(exported), evalX, evalY, 100, po);
    const disagree = pt.reduce((a, v, i) => a + (v !== po[i] ? 1 : 0), 0);
    assert.ok(Math.abs(fqAfter - ortAfter) <= 0.3, `after training: tfjs fake quant ${fqAfter}% vs onnxruntime on the exported INT8 model ${ortAfter}%`);
    assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
    const head = res.losses.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
    const tail = res.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    report.push(`mlp (${backend}): float ${floatTop1}%, onnxruntime INT8 ${ortInt8}%, tfjs fake quant ${fqBefore}% (gap ${(fqBefore - ortInt8).toFixed(2)});`
      + ` train loss ${lossBefore.toExponential(3)} -> ${lossAfter.toExponential(3)} (steps: first 5 ${head.toExponential(3)}, last 5 ${tail.toExponential(3)}, ${res.seconds.toFixed(1)} s);`
      + ` after: tfjs fake quant ${fqAfter}%, exported INT8 in onnxruntime ${ortAfter}% (gap ${(fqAfter - ortAfter).toFixed(2)}, ${disagree} of ${evalX.count} predictions differ); ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    qg.dispose();
  }
});

test('mlp: distillation from the FP32 model with SGD + momentum lowers the KL to the FP32 outputs', async () => {
  const { fp32, q } = mlpPerTensorMax('qtool-qat-distill-');
  const trainX = loadDataset(digits('train_x.npy'), graphInputs(fp32.model.graph!));
  const qg = new QatGraph(q, tf);
  /** Mean KL(softmax(fp32) || softmax(fake quant)) over the training set. */
  const kl = (): number => tf.tidy(() => {
    const feeds = tensorsFromFeeds(tf, batchFeeds(trainX, 0, trainX.count));
    qg.quantize = false;
    const p = tf.softmax(qg.logits(feeds));
    qg.quantize = true;
    const logq = tf.logSoftmax(qg.logits(feeds));
    return tf.mean(tf.sum(tf.mul(p, tf.sub(tf.log(tf.maximum(p, 1e-12)), logq)), -1)).dataSync()[0]!;
  });
  try {
    const before = kl();
    const res = await trainQat(qg, trainX, { epochs: 2, batchSize: 50, baseLr: 0.1, optimizer: 'sgd' });
    const after = kl();
    assert.ok(res.losses.every(Number.isFinite));
    assert.equal(res.lrs[0], 0.001, '1% of the base learning rate');
    report.push(`mlp distillation (per-tensor, SGD, ${res.steps} steps): KL to FP32 ${before.toExponential(3)} -> ${after.toExponential(3)}`);
    assert.ok(after < before, `KL ${before} -> ${after}`);
  } finally {
    qg.dispose();
  }
});

test('mlp, per-tensor, learned activation and weight scales (LSQ): scales move, the export uses them and matches the tfjs model', async () => {
  const { fp32, q } = mlpPerTensorMax('qtool-qat-lsq-');
  const inputs = graphInputs(fp32.model.graph!);
  const evalX = loadDataset(digits('eval_x.npy'), inputs);
  const evalY = loadLabels(digits('eval_y.npy'), evalX.count);
  const trainX = loadDataset(digits('train_x.npy'), inputs);
  const trainY = loadLabels(digits('train_y.npy'), trainX.count);
  const qg = new QatGraph(q, tf, { learnScales: true, learnWeightScales: true });
  try {
    assert.equal(qg.trainableVariables().length, qg.graph.variables().size + new Set(q.plan.tensors.map((t) => q.plan.sharedScale.get(t) ?? t)).size + q.plan.layers.length);
    const initial = qg.currentQParams();
    const initialW = qg.currentWeightScales();
    const inits = initializerMap(q.model.graph!);
    for (const layer of q.plan.layers) {
      const want = quantizeWeightPerTensor(tensorToArray(inits.get(layer.weight)!).data as Float32Array).scale;
      const got = initialW.get(weightKey(layer))![0]!;
      assert.ok(Math.abs(got - want) <= 1e-6 * want, `${layer.name}: the weight scale starts at max|w| / 127 (${got} vs ${want})`);
    }
    for (const t of q.plan.tensors) {
      const a = initial.get(t)!.scale;
      const b = q.qparams.get(t)!.scale;
      assert.ok(Math.abs(a - b) <= 1e-6 * b, `${t}: the learned scale starts at the calibrated one (${a} vs ${b})`);
    }
    const res = await trainQat(qg, trainX, { epochs: 1, batchSize: 32, lr: LR, labels: trainY });
    const learned = qg.currentQParams();
    const moved = q.plan.tensors.filter((t) => learned.get(t)!.scale !== initial.get(t)!.scale).length;
    assert.ok(moved > 0, 'some scales were trained');
    assert.ok(q.plan.tensors.every((t) => learned.get(t)!.scale > 0 && Number.isFinite(learned.get(t)!.scale)), 'scales stay positive');
    const learnedW = qg.currentWeightScales();
    const movedW = q.plan.layers.filter((l) => learnedW.get(weightKey(l))![0] !== initialW.get(weightKey(l))![0]).length;
    assert.ok(movedW > 0, 'some weight scales were trained');
    // The export quantizes the weights with the learned scales.
    const exported = exportQatModel(qg);
    const exportedInits = initializerMap(exported.graph!);
    for (const layer of q.plan.layers) {
      const got = tensorToArray(exportedInits.get(`${weightKey(layer)}_scale`)!).data as Float32Array;
      assert.equal(got[0], learnedW.get(weightKey(layer))![0], `${layer.name}: exported weight scale`);
    }
    const pt = new Int32Array(evalX.count);
    const po = new Int32Array(evalX.count);
    const fq = tfTop1(qg, evalX, evalY, 100, pt);
    const ortTop = await ortTop1(encodeModel(exported), evalX, evalY, 100, po);
    const disagree = pt.reduce((a, v, i) => a + (v !== po[i] ? 1 : 0), 0);
    report.push(`mlp LSQ (per-tensor, ${res.steps} steps): ${moved} of ${q.plan.tensors.length} activation and ${movedW} of ${q.plan.layers.length} weight scales moved; tfjs fake quant ${fq}%, exported INT8 in onnxruntime ${ortTop}% (${disagree} predictions differ)`);
    assert.ok(Math.abs(fq - ortTop) <= 0.3, `tfjs ${fq}% vs onnxruntime ${ortTop}%`);
  } finally {
    qg.dispose();
  }
});

test('mobilenet (BatchNorm folded, Clip): fake-quant parity with onnxruntime before and after 30 steps', async () => {
  const t0 = performance.now();
  const dir = tempDir('qtool-qat-mobilenet-');
  const modelPath = repoPath('samples/mobilenet/model.onnx');
  const mnist = (f: string) => repoPath('samples/mnist', f);
  const calibX = headNpy(mnist('calib_x.npy'), join(dir, 'calib_x.npy'), 300);
  const r = runQtool(['calibrate', modelPath, '--data', calibX, '--method', 'max', '--out', join(dir, 'cal')]);
  assert.equal(r.code, 0, r.stderr);
  const fp32 = loadModel(modelPath);
  const q = loadCalibratedModel(fp32, join(dir, 'cal', 'calibration.json')).recipe;
  const inputs = graphInputs(fp32.model.graph!);
  const evalX = loadDataset(headNpy(mnist('eval_x.npy'), join(dir, 'eval_x.npy'), 500), inputs);
  const evalY = loadLabels(headNpy(mnist('eval_y.npy'), join(dir, 'eval_y.npy'), 500), evalX.count);
  const trainX = loadDataset(headNpy(mnist('train_x.npy'), join(dir, 'train_x.npy'), 960), inputs);
  const trainY = loadLabels(headNpy(mnist('train_y.npy'), join(dir, 'train_y.npy'), 960), trainX.count);
  const qg = new QatGraph(q, tf);
  try {
    assert.ok(qg.batchNormFolded, 'calibrate folded the BatchNorms, so QAT trains the folded weights');
    assert.ok(!qg.model.graph!.node!.some((n) => n.op_type === 'BatchNormalization'));
    const ortBefore = await ortTop1(loadModel(join(dir, 'cal', 'model.int8.onnx')).bytes, evalX, evalY);
    const fqBefore = tfTop1(qg, evalX, evalY);
    assert.ok(Math.abs(fqBefore - ortBefore) <= 0.5, `before: tfjs ${fqBefore}% vs onnxruntime ${ortBefore}%`);
    const res = await trainQat(qg, trainX, { epochs: 1, batchSize: 32, lr: 1e-4, labels: trainY });
    const fqAfter = tfTop1(qg, evalX, evalY);
    const ortAfter = await ortTop1(encodeModel(exportQatModel(qg)), evalX, evalY);
    report.push(`mobilenet max (BN folded: ${qg.batchNormFolded}): onnxruntime INT8 ${ortBefore}%, tfjs fake quant ${fqBefore}%; ${res.steps} steps in ${res.seconds.toFixed(1)} s:`
      + ` tfjs fake quant ${fqAfter}%, exported INT8 in onnxruntime ${ortAfter}%; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    assert.ok(Math.abs(fqAfter - ortAfter) <= 0.5, `after: tfjs ${fqAfter}% vs onnxruntime ${ortAfter}%`);
  } finally {
    qg.dispose();
  }
});

test.after(() => {
  if (report.length) console.log(report.map((l) => `# ${l}`).join('\n'));
});
