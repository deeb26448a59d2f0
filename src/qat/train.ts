// The QAT fine-tuning loop and the write-back into an INT8 QDQ model.
//
// Training: mini-batches in a seeded shuffled order, loss = cross-entropy on
// labels, or (distillation) KL(softmax(teacher) || softmax(student)) with the
// FP32 model (BatchNorm folded, frozen) as teacher. Learning rate: 1% of the
// base LR (or an exact lr), cosine-annealed to 0 over all steps, as QAT
// fine-tuning recipes do (NVIDIA's pytorch-quantization guide: ~1% of the
// original LR, cosine schedule, a few epochs). Adam by default, or SGD with
// momentum.
//
// Export: the trained weights replace the FP32 initializers, and the QDQ
// model is built by buildQdqModel from them (weights re-quantized with the
// same formulas the fake quant used; activation parameters as calibrated,
// or with their learned scales under LSQ).
import type { Optimizer, Scalar, Tensor } from '@tensorflow/tfjs';
import { onnx } from '../onnx/proto/onnx.js';
import { cloneModel, type Model } from '../onnx/model.js';
import { makeTensor } from '../onnx/tensor.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/batches.js';
import { OnnxTfGraph, tensorsFromFeeds } from './executor.js';
import type { QatGraph } from './qat-graph.js';
import { buildQdqModel } from '../quant/qdq.js';
import { mulberry32 } from '../util/random.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Base learning rate of the original training; QAT starts at 1% of it. */
  baseLr?: number;
  /** Exact starting learning rate (overrides baseLr). */
  lr?: number;
  optimizer?: 'adam' | 'sgd';
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** Class labels (cross-entropy); without them, distillation from the FP32 model. */
  labels?: Int32Array;
  /** Stop after this many steps (default: epochs x batches per epoch). */
  maxSteps?: number;
  /** Shuffle seed (default 1). */
  seed?: number;
  /** Called after every step. */
  onStep?: (step: number, steps: number, loss: number, lr: number) => void;
}

export interface TrainResult {
  /** Loss of every step. */
  losses: number[];
  /** Learning rate of every step. */
  lrs: number[];
  steps: number;
  seconds: number;
}

/** Cosine annealing from lr0 at step 0 to 0 after `steps` steps. */
export function cosineLr(lr0: number, step: number, steps: number): number {
  return steps <= 0 ? lr0 : lr0 * 0.5 * (1 + Math.cos((Math.PI * step) / steps));
}

function shuffled(n: number, rand: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The inputs of samples idx (one mini-batch), as tfjs tensors. */
function gatherFeeds(qg: QatGraph, ds: Dataset, idx: Int32Array): Record<string, Tensor> {
  const { tf } = qg;
  const parts = Array.from(idx, (i) => tensorsFromFeeds(tf, batchFeeds(ds, i, 1)));
  const out: Record<string, Tensor> = {};
  for (const name of Object.keys(parts[0]!)) out[name] = tf.concat(parts.map((p) => p[name]!), 0);
  tf.dispose(parts.flatMap((p) => Object.values(p)));
  return out;
}

function setLr(opt: Optimizer, lr: number): void {
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.setLearningRate) o.setLearningRate(lr);
  o.learningRate = lr;
}

/** Fine-tunes the weights of `qg` with fake quantization on; returns the loss curve. */
export async function trainQat(qg: QatGraph, ds: Dataset, opts: TrainOptions): Promise<TrainResult> {
  const { tf } = qg;
  if (ds.fixedBatch !== undefined && ds.fixedBatch !== opts.batchSize) {
    throw new Error(`the model needs batches of exactly ${ds.fixedBatch}`);
  }
  const lr0 = opts.lr ?? (opts.baseLr ?? 0.01) * 0.01;
  const perEpoch = Math.floor(ds.count / opts.batchSize);
  if (perEpoch < 1) throw new Error(`${ds.count} samples make no batch of ${opts.batchSize}`);
  const steps = Math.min(opts.maxSteps ?? Infinity, opts.epochs * perEpoch);
  const opt = opts.optimizer === 'sgd' ? tf.train.momentum(lr0, opts.momentum ?? 0.9) : tf.train.adam(lr0);
  const teacher = opts.labels ? undefined : new OnnxTfGraph(qg.model, tf, { trainable: () => false });
  const outName = qg.graph.outputs[0]!.name;
  const vars = qg.trainableVariables();
  const rand = mulberry32(opts.seed ?? 1);
  const losses: number[] = [];
  const lrs: number[] = [];
  const t0 = performance.now();
  const wasQuantizing = qg.quantize;
  qg.quantize = true;
  try {
    let order = shuffled(ds.count, rand);
    for (let step = 0; step < steps; step++) {
      const b = step % perEpoch;
      if (b === 0 && step > 0) order = shuffled(ds.count, rand);
      const idx = order.subarray(b * opts.batchSize, (b + 1) * opts.batchSize);
      const lr = cosineLr(lr0, step, steps);
      setLr(opt, lr);
      const feeds = gatherFeeds(qg, ds, idx);
      const target = tf.tidy(() => {
        if (opts.labels) {
          const y = Int32Array.from(idx, (i) => opts.labels![i]!);
          return tf.tensor1d(y, 'int32');
        }
        const t = teacher!.forward(feeds, { outputs: [outName] })[outName]!;
        return tf.softmax(t);
      });
      const loss = opt.minimize(() => {
        const logits = qg.forward(feeds, { outputs: [outName] })[outName]!;
        if (opts.labels) {
          const onehot = tf.oneHot(target, logits.shape[logits.shape.length - 1]!);
          return tf.losses.softmaxCrossEntropy(onehot, logits) as Scalar;
        }
        // KL(p || q) = sum p (log p - log q), averaged over the batch.
        const logq = tf.logSoftmax(logits);
        const logp = tf.log(tf.maximum(target, 1e-12));
        return tf.mean(tf.sum(tf.mul(target, tf.sub(logp, logq)), -1)) as Scalar;
      }, true, vars)!;
      const v = (await loss.data())[0]!;
      tf.dispose([loss, target, ...Object.values(feeds)]);
      if (!Number.isFinite(v)) throw new Error(`QAT loss became ${v} at step ${step + 1}; lower the learning rate`);
      losses.push(v);
      lrs.push(lr);
      opts.onStep?.(step + 1, steps, v, lr);
    }
  } finally {
    qg.quantize = wasQuantizing;
    opt.dispose();
    teacher?.dispose();
  }
  return { losses, lrs, steps, seconds: (performance.now() - t0) / 1000 };
}

/** The trained model in float: the (BatchNorm-folded) model with the trained weights as initializers. */
export function trainedFloatModel(qg: QatGraph): Model {
  const m = cloneModel(qg.model);
  const g = m.graph as onnx.GraphProto;
  const vars = qg.graph.variables();
  g.initializer = g.initializer.map((t) => {
    const v = vars.get(t.name ?? '');
    return v ? makeTensor(t.name ?? '', 'float32', v.shape, v.dataSync() as Float32Array) : t;
  });
  return m;
}

/**
 * The INT8 QDQ model of the trained weights: buildQdqModel on the trained
 * float model with the same plan (weights re-quantized from the trained
 * floats, activation parameters as calibrated, or with the learned scales).
 */
export function exportQatModel(qg: QatGraph, metadata: Record<string, string> = {}): Model {
  // buildQdqModel matches the plan's nodes by identity in the model it is
  // given, so the trained initializers go into a model sharing qg.model's nodes.
  const trained = trainedFloatModel(qg);
  const m = onnx.ModelProto.create({ ...qg.model });
  m.graph = onnx.GraphProto.create({ ...qg.model.graph!, initializer: trained.graph!.initializer });
  return buildQdqModel(m, qg.plan, qg.currentQParams(), { perChannel: qg.perChannel, metadata: { 'qtool.qat': 'true', ...metadata } });
}
