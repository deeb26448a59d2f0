// The QAT training graph: the quantized model's graph (BatchNorm already
// folded into the Convs by the recipe's first pass, src/quant/passes/) on tfjs, with
// fake quantization exactly where the QDQ model that calibrate writes has
// Q/DQ pairs:
// - every planned activation tensor passes through fake quant with its
//   calibrated scale / zero point (graph inputs as they are fed, node outputs
//   as they are produced);
// - a Relu/Clip that the plan folds into its producer's range does not run:
//   the fake quant of its output, applied to its input, replaces it (the
//   uint8 range starting at the zero point does the clipping), as in the
//   QDQ model, where the producer writes the activation's tensor directly;
// - every quantized layer reads its weight through symmetric int8 fake quant
//   (per output channel when the calibration is per-channel);
// - biases and the layers outside the plan stay float.
// It is done by wrapping nodes in the executor (OnnxTfGraphOptions.wrapNode),
// so the FP32 graph itself is not rewritten.
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { loadTf, type Tf } from './tf.js';
import { OnnxTfGraph, type ForwardOptions } from './executor.js';
import { fakeQuantLsq, fakeQuantLsqFused, fakeQuantTensor, fakeQuantTensorFused, fakeQuantWeight, fakeQuantWeightLsq } from './fake-quant.js';
import { nativeOps, type NativeOps } from './tf-native.js';
import type { Model } from '../onnx/model.js';
import { initializerMap, type Node } from '../onnx/graph.js';
import { tensorToArray } from '../onnx/tensor.js';
import type { QuantPlan } from '../quant/plan.js';
import { weightAxis, weightKey, type TensorQParams } from '../quant/qdq.js';
import { quantizeWeightPerChannel, quantizeWeightPerTensor } from '../quant/qparams.js';
import type { QuantLayer } from '../quant/quantizable.js';
import type { QuantRecipe } from '../quant/recipe.js';
import { foldedBatchNorms } from '../quant/passes/fold-batchnorm.js';

export interface QatGraphOptions {
  /**
   * Learn the activation scales (LSQ, see fakeQuantLsq), starting from the
   * calibrated ones; zero points stay as calibrated. Tensors that must share
   * a scale (plan.sharedScale) share one variable. The variable is log(scale)
   * (as in Jain et al. 2019, "Trained Quantization Thresholds"): Adam moves
   * every variable by about the learning rate per step, which on a scale of
   * 0.02 is a large relative step that can cross zero; on log(scale) it is a
   * relative change and the scale stays positive. Default false.
   */
  learnScales?: boolean;
  /**
   * Learn the weight scales too (LSQ on the weights, fakeQuantWeightLsq), one
   * per layer or per output channel as calibrated, starting from max|w| / 127
   * of the initial weights; the export quantizes with them. Without it the
   * scale follows max|w| / 127 of the current weights, so one outlier channel
   * fixes a per-tensor grid that is too coarse for every other channel.
   * Default false.
   */
  learnWeightScales?: boolean;
  /**
   * Fake-quantize activations by TensorFlow's fused ops on the native backend
   * (fakeQuantTensorFused, fakeQuantLsqFused: QuantizeLinear up to float
   * rounding, a fraction of the time) rather than tfjs ops that are
   * QuantizeLinear bit for bit. Default true; ignored on other backends.
   */
  fused?: boolean;
}

let graphs = 0;

export class QatGraph {
  readonly tf: Tf;
  /** The model trained: the quantized model's graph (BatchNorm folded); never modified. */
  readonly model: Model;
  /** Whether calibrate folded BatchNormalization nodes into Convs (QAT then trains the folded weights). */
  readonly batchNormFolded: boolean;
  readonly plan: QuantPlan;
  readonly qparams: Map<string, TensorQParams>;
  readonly perChannel: boolean;
  readonly graph: OnnxTfGraph;
  /** TensorFlow's fused fake-quant ops in use for the activations (QatGraphOptions.fused, on the native backend). */
  readonly fused: boolean;
  private readonly native: NativeOps | undefined;
  /** When false, forward() is the plain FP32 graph (fake quant off). */
  quantize = true;
  /** Learned activation scales by tensor (learnScales only; shared tensors map to one variable). */
  private readonly scaleVars = new Map<string, Variable>();
  /** Learned weight scales (log) by layer (learnWeightScales only). */
  private readonly weightScaleVars = new Map<QuantLayer, Variable>();

  constructor(q: QuantRecipe, tf: Tf, opts: QatGraphOptions = {}) {
    this.tf = tf;
    this.perChannel = q.perChannel;
    this.batchNormFolded = foldedBatchNorms(q.passes).length > 0;
    this.model = q.model;
    this.plan = q.plan;
    this.qparams = q.qparams;
    this.native = opts.fused === false ? undefined : nativeOps(tf);
    this.fused = this.native !== undefined;
    const planned = new Set(this.plan.tensors);
    const folded = new Map<Node, string>(this.plan.folded.map((f) => [f.node, f.to]));
    const layers = new Map<Node, QuantLayer>(this.plan.layers.map((l) => [l.node, l]));
    if (opts.learnScales) {
      const id = ++graphs;
      const root = (t: string): string => {
        for (let r = t, seen = 0; ; seen++) {
          const next = this.plan.sharedScale.get(r);
          if (!next || seen > this.plan.tensors.length) return r;
          r = next;
        }
      };
      for (const t of this.plan.tensors) {
        const r = root(t);
        // A range the op fixes (Softmax's [0, 1]) is not learned: ORT's kernel needs exactly it.
        if (this.plan.fixedRange.has(r)) continue;
        let v = this.scaleVars.get(r);
        if (!v) {
          const init = tf.scalar(Math.log(this.qparams.get(r)!.scale));
          v = tf.variable(init, true, `qat${id}/log_scale/${r}`);
          init.dispose();
          this.scaleVars.set(r, v);
        }
        this.scaleVars.set(t, v);
      }
    }
    if (opts.learnWeightScales) {
      const id = ++graphs;
      const inits = initializerMap(this.model.graph!);
      for (const layer of this.plan.layers) {
        const axis = weightAxis(layer, this.perChannel);
        const w = tensorToArray(inits.get(layer.weight)!).data as Float32Array;
        const scales = axis === undefined ? Float32Array.of(quantizeWeightPerTensor(w).scale) : quantizeWeightPerChannel(w, layer.weightDims, axis).scales;
        const shape = axis === undefined ? [] : layer.weightDims.map((d, i) => (i === axis ? d : 1));
        const init = tf.tensor(Float32Array.from(scales, Math.log), shape);
        this.weightScaleVars.set(layer, tf.variable(init, true, `qat${id}/weight_log_scale/${weightKey(layer)}`));
        init.dispose();
      }
    }
    const fq = (t: Tensor, name: string): Tensor => this.fakeQuant(t, name);

    this.graph = new OnnxTfGraph(this.model, tf, {
      wrapNode: (node, inputs, run) => {
        if (!this.quantize) return run(inputs);
        const to = folded.get(node);
        if (to !== undefined) return [fq(inputs[0]!, to)];
        const layer = layers.get(node);
        let ins = inputs;
        if (layer && inputs[1]) {
          ins = inputs.slice();
          const axis = weightAxis(layer, this.perChannel);
          const ws = this.weightScaleVars.get(layer);
          ins[1] = ws ? fakeQuantWeightLsq(tf, inputs[1], tf.exp(ws), axis) : fakeQuantWeight(tf, inputs[1], axis);
        }
        const outs = run(ins);
        const names = node.output ?? [];
        return outs.map((t, j) => (t && names[j] && planned.has(names[j]!) ? fq(t, names[j]!) : t));
      },
    });
  }

  static async create(q: QuantRecipe, opts: QatGraphOptions = {}): Promise<QatGraph> {
    return new QatGraph(q, (await loadTf()).tf, opts);
  }

  /** What training updates: the weights, and the activation and weight scales when learned. */
  trainableVariables(): Variable[] {
    return [...this.graph.variables().values(), ...new Set(this.scaleVars.values()), ...this.weightScaleVars.values()];
  }

  /** The learned weight scales by weightKey (learnWeightScales only; empty otherwise), as float32. */
  currentWeightScales(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [layer, v] of this.weightScaleVars) out.set(weightKey(layer), Float32Array.from(v.dataSync() as Float32Array, Math.exp));
    return out;
  }

  /** Activation parameters as they stand: the calibrated ones, with the learned scales (as float32). */
  currentQParams(): Map<string, TensorQParams> {
    const out = new Map<string, TensorQParams>();
    for (const [t, p] of this.qparams) {
      const v = this.scaleVars.get(t);
      out.set(t, v ? { ...p, scale: Math.fround(Math.exp(v.dataSync()[0]!)) } : p);
    }
    return out;
  }

  /** Forward pass with fake quantization (see OnnxTfGraph.forward); planned graph inputs are fake-quantized here. */
  forward(feeds: Record<string, Tensor>, opts: ForwardOptions = {}): Record<string, Tensor> {
    if (!this.quantize) return this.graph.forward(feeds, opts);
    const { tf } = this;
    // One tidy: the fake-quantized feeds go with the pass's other intermediates.
    return tf.tidy(() => {
      const fed: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        const p = this.qparams.get(name);
        fed[name] = p && t.dtype === 'float32' ? this.fakeQuant(t, name) : t;
      }
      return this.graph.forward(fed, opts);
    });
  }

  /** Fake quantization of planned tensor `name`: calibrated parameters, or the learned scale. */
  private fakeQuant(t: Tensor, name: string): Tensor {
    const v = this.scaleVars.get(name);
    const p = this.qparams.get(name)!;
    const { tf, native } = this;
    if (v) return native ? fakeQuantLsqFused(tf, native, t, tf.exp(v), p) : fakeQuantLsq(tf, t, tf.exp(v), p);
    return native ? fakeQuantTensorFused(tf, native, t, p) : fakeQuantTensor(tf, t, p);
  }

  /** The first graph output of a forward pass. */
  logits(feeds: Record<string, Tensor>): Tensor {
    const name = this.graph.outputs[0]!.name;
    return this.forward(feeds, { outputs: [name] })[name]!;
  }

  dispose(): void {
    this.graph.dispose();
    for (const v of new Set(this.scaleVars.values())) v.dispose();
    this.scaleVars.clear();
    for (const v of this.weightScaleVars.values()) v.dispose();
    this.weightScaleVars.clear();
  }
}
