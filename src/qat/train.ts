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
// Resume: a TrainState captured after an epoch (onEpoch) restores the
// weights, the optimizer's slots and the step count; the shuffles of the
// completed epochs are replayed from the seed, so a resumed run takes the
// same batches, learning rates and updates as an uninterrupted one.
//
// Export: the trained weights replace the FP32 initializers, and the QDQ
// model is built by buildQdqModel from them (weights re-quantized with the
// same formulas the fake quant used; activation parameters as calibrated,
// or with their learned scales under LSQ).
import type { Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { onnx } from '../onnx/proto/onnx.js';
import { cloneModel, type Model } from '../onnx/model.js';
import { makeTensor } from '../onnx/tensor.js';
import { attrInt, producerMap } from '../onnx/graph.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/batches.js';
import { OnnxTfGraph, tensorsFromFeeds } from './executor.js';
import type { QatGraph } from './qat-graph.js';
import { buildQdqModel } from '../quant/qdq.js';
import { mulberry32 } from '../util/random.js';
import type { Optimizer as OptimizerName } from '../config/options/qat.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Base learning rate of the original training; QAT starts at 1% of it. */
  baseLr?: number;
  /** Exact starting learning rate (overrides baseLr). */
  lr?: number;
  optimizer?: OptimizerName;
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
  /** Called after every complete epoch, before the next starts (awaited). */
  onEpoch?: (end: EpochEnd) => void | Promise<void>;
  /** Checked after every step: true stops training there (TrainResult.stopped). */
  shouldStop?: () => boolean;
  /** Continue from this state (same graph, data and options as the run that captured it). */
  resume?: TrainState;
}

/** A float32 tensor copied out of tfjs. */
export interface NamedValues {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Everything training needs to continue after a complete epoch. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Loss and learning rate of every step so far (their length is the step count). */
  losses: number[];
  lrs: number[];
  /** The trainable variables in trainableVariables() order, named without their per-graph prefix. */
  variables: NamedValues[];
  /** The optimizer's slots (tfjs getWeights() order, without the iteration count, which is the step count). */
  optimizer: NamedValues[];
  /** Adam: beta1^t and beta2^t as its running products (float32), null for SGD. */
  adamBetaPowers: [number, number] | null;
}

/**
 * Adam's bias-correction powers are not among tfjs's getWeights(); setWeights
 * recomputes them as pow(beta, t), a few ulps off the running product the
 * optimizer keeps, which would make a resumed run drift from an
 * uninterrupted one. They are saved and put back as they were.
 */
interface AdamPowers {
  accBeta1?: Variable;
  accBeta2?: Variable;
}

export interface EpochEnd {
  /** The epoch just completed (1-based) and the number planned. */
  epoch: number;
  epochs: number;
  /** Mean loss over the epoch's steps. */
  loss: number;
  /** Training time of the epoch (without the onEpoch hooks). */
  seconds: number;
  /** The state after this epoch; only valid until the hook returns. */
  state(): Promise<TrainState>;
}

export interface TrainResult {
  /** Loss of every step. */
  losses: number[];
  /** Learning rate of every step. */
  lrs: number[];
  steps: number;
  /** Steps restored from `resume` (not run here). */
  resumedSteps: number;
  /** Training time of the steps run here (without the onEpoch hooks). */
  seconds: number;
  /** shouldStop() ended training before `steps`. */
  stopped: boolean;
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

/** A variable's name without the per-graph prefix tfjs needs (onnx3/W -> W), stable across runs. */
function stableName(name: string): string {
  return name.replace(/^[a-z]+\d+\//, '');
}

async function copyOut(name: string, t: Tensor): Promise<NamedValues> {
  return { name: stableName(name), shape: t.shape.slice(), values: Float32Array.from(await t.data() as Float32Array) };
}

async function captureState(opt: Optimizer, vars: Variable[], epoch: number, losses: number[], lrs: number[]): Promise<TrainState> {
  const [iter, ...slots] = await opt.getWeights();
  const adam = opt as unknown as AdamPowers;
  iter!.tensor.dispose();
  return {
    epoch,
    losses: losses.slice(),
    lrs: lrs.slice(),
    variables: await Promise.all(vars.map((v) => copyOut(v.name, v))),
    optimizer: await Promise.all(slots.map((s) => copyOut(s.name, s.tensor))),
    adamBetaPowers: adam.accBeta1 && adam.accBeta2 ? [(await adam.accBeta1.data())[0]!, (await adam.accBeta2.data())[0]!] : null,
  };
}

/** Puts `state` back into the variables and the (fresh) optimizer. */
async function restoreState(tf: QatGraph['tf'], opt: Optimizer, vars: Variable[], state: TrainState): Promise<void> {
  const mismatch = (what: string) => new Error(`the training state does not fit this graph: ${what}`);
  if (state.variables.length !== vars.length) throw mismatch(`${state.variables.length} variables, the graph trains ${vars.length}`);
  vars.forEach((v, i) => {
    const s = state.variables[i]!;
    if (s.name !== stableName(v.name) || s.shape.join() !== v.shape.join()) {
      throw mismatch(`variable ${i} is '${s.name}' [${s.shape}], expected '${stableName(v.name)}' [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(s.values, s.shape)));
  });
  const weights = [
    { name: 'iter', tensor: tf.scalar(state.losses.length, 'int32') },
    ...state.optimizer.map((s) => ({ name: s.name, tensor: tf.tensor(s.values, s.shape) })),
  ];
  // setWeights makes variables sharing the tensors' data, so ours can go.
  await opt.setWeights(weights);
  tf.dispose(weights.map((w) => w.tensor));
  const adam = opt as unknown as AdamPowers;
  if (state.adamBetaPowers && adam.accBeta1 && adam.accBeta2) {
    const [p1, p2] = state.adamBetaPowers;
    tf.tidy(() => {
      adam.accBeta1!.assign(tf.scalar(p1));
      adam.accBeta2!.assign(tf.scalar(p2));
    });
  }
}

function setLr(opt: Optimizer, lr: number): void {
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.setLearningRate) o.setLearningRate(lr);
  o.learningRate = lr;
}

/** Fine-tunes the weights of `qg` with fake quantization on; returns the loss curve. */
/**
 * The tensor the loss reads as logits: the first graph output, or the input
 * of the last-axis Softmax that makes it (Paddle's classifiers and
 * recognizers end in one). Cross-entropy and the distillation KL apply their
 * own softmax: on probabilities it would flatten every target towards
 * uniform (the PP-OCRv4 recognizer's loss read 0.0000).
 */
export function lossTensor(qg: QatGraph): { name: string; softmaxAxis?: number } {
  const out = qg.graph.outputs[0]!.name;
  const p = producerMap(qg.model.graph!).get(out);
  if (p?.op_type !== 'Softmax' || !p.input?.[0]) return { name: out };
  return { name: p.input[0], softmaxAxis: attrInt(p, 'axis', -1) };
}

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
  const lossInput = lossTensor(qg);
  // Logits before the Softmax when it normalises the last axis (checked on the tensor, whose rank the graph may not say).
  const logitsOf = (g: { forward: OnnxTfGraph['forward'] }, feeds: Record<string, Tensor>): Tensor => {
    if (lossInput.softmaxAxis === undefined) return g.forward(feeds, { outputs: [outName] })[outName]!;
    const r = g.forward(feeds, { outputs: [lossInput.name, outName] });
    const z = r[lossInput.name]!;
    return lossInput.softmaxAxis === -1 || lossInput.softmaxAxis === z.rank - 1 ? z : r[outName]!;
  };
  const vars = qg.trainableVariables();
  const rand = mulberry32(opts.seed ?? 1);
  const resume = opts.resume;
  const losses: number[] = resume ? resume.losses.slice() : [];
  const lrs: number[] = resume ? resume.lrs.slice() : [];
  const start = losses.length;
  if (resume && (start !== resume.epoch * perEpoch || lrs.length !== start || start > steps)) {
    throw new Error(`the training state's ${start} steps after epoch ${resume.epoch} do not fit ${perEpoch} steps per epoch, ${steps} in all`);
  }
  let hookSeconds = 0;
  let stopped = false;
  const t0 = performance.now();
  let epochStart = t0;
  const wasQuantizing = qg.quantize;
  qg.quantize = true;
  try {
    if (resume) {
      await restoreState(tf, opt, vars, resume);
      // Replays the completed epochs' shuffles: the PRNG continues where it was.
      for (let e = 0; e < resume.epoch; e++) shuffled(ds.count, rand);
    }
    let order: Int32Array = new Int32Array(0);
    for (let step = start; step < steps; step++) {
      const b = step % perEpoch;
      if (b === 0) order = shuffled(ds.count, rand);
      const idx = order.subarray(b * opts.batchSize, (b + 1) * opts.batchSize);
      const lr = cosineLr(lr0, step, steps);
      setLr(opt, lr);
      const feeds = gatherFeeds(qg, ds, idx);
      const target = tf.tidy(() => {
        if (opts.labels) {
          const y = Int32Array.from(idx, (i) => opts.labels![i]!);
          return tf.tensor1d(y, 'int32');
        }
        return tf.softmax(logitsOf(teacher!, feeds));
      });
      const loss = opt.minimize(() => {
        const logits = logitsOf(qg, feeds);
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
      if (b === perEpoch - 1 && opts.onEpoch) {
        const epoch = (step + 1) / perEpoch;
        const hookStart = performance.now();
        const epochLosses = losses.slice(step + 1 - perEpoch);
        await opts.onEpoch({
          epoch,
          epochs: opts.epochs,
          loss: epochLosses.reduce((a, c) => a + c, 0) / perEpoch,
          seconds: (hookStart - epochStart) / 1000,
          state: () => captureState(opt, vars, epoch, losses, lrs),
        });
        epochStart = performance.now();
        hookSeconds += (epochStart - hookStart) / 1000;
      }
      // A macrotask turn: loss.data() resolves as a microtask on the native
      // backend, which would keep signal handlers (Ctrl-C) from running until training ends.
      if (opts.shouldStop) await new Promise((resolve) => setImmediate(resolve));
      if (step + 1 < steps && opts.shouldStop?.()) {
        stopped = true;
        break;
      }
    }
  } finally {
    qg.quantize = wasQuantizing;
    opt.dispose();
    teacher?.dispose();
  }
  return { losses, lrs, steps, resumedSteps: start, seconds: (performance.now() - t0) / 1000 - hookSeconds, stopped };
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
  return buildQdqModel(m, qg.plan, qg.currentQParams(), {
    perChannel: qg.perChannel, weightScales: qg.currentWeightScales(), metadata: { 'qtool.qat': 'true', ...metadata },
  });
}
