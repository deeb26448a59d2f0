// The QAT training graph: the quantized model's graph (BatchNorm already
// folded into the Convs, see src/quant/prepare.ts) on tfjs, with
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
import { fakeQuantLsq, fakeQuantTensor, fakeQuantWeight } from './fake-quant.js';
import type { Model } from '../onnx/model.js';
import type { Node } from '../onnx/graph.js';
import { attrInt } from '../onnx/graph.js';
import type { QuantPlan } from '../quant/plan.js';
import type { TensorQParams } from '../quant/qdq.js';
import type { QuantLayer } from '../quant/quantizable.js';
import type { QuantizedModel } from '../stages/quantized-model.js';

/** The per-channel axis buildQdqModel uses for a layer's weight (undefined: per tensor). */
export function weightAxis(layer: QuantLayer, perChannel: boolean): number | undefined {
  if (!perChannel) return undefined;
  if (layer.opType === 'ConvTranspose' && attrInt(layer.node, 'group', 1) !== 1) return undefined;
  return layer.channelAxis;
}

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
  /** When false, forward() is the plain FP32 graph (fake quant off). */
  quantize = true;
  /** Learned activation scales by tensor (learnScales only; shared tensors map to one variable). */
  private readonly scaleVars = new Map<string, Variable>();

  constructor(q: QuantizedModel, tf: Tf, opts: QatGraphOptions = {}) {
    this.tf = tf;
    this.perChannel = q.calibration.perChannel;
    this.batchNormFolded = q.calibration.foldedBatchNorms.length > 0;
    this.model = q.model;
    this.plan = q.plan;
    this.qparams = new Map(this.plan.tensors.map((t) => [t, q.qparams.get(t)!]));
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
          ins[1] = fakeQuantWeight(tf, inputs[1], weightAxis(layer, this.perChannel));
        }
        const outs = run(ins);
        const names = node.output ?? [];
        return outs.map((t, j) => (t && names[j] && planned.has(names[j]!) ? fq(t, names[j]!) : t));
      },
    });
  }

  static async create(q: QuantizedModel, opts: QatGraphOptions = {}): Promise<QatGraph> {
    return new QatGraph(q, (await loadTf()).tf, opts);
  }

  /** What training updates: the weights, and the activation scales when learned. */
  trainableVariables(): Variable[] {
    return [...this.graph.variables().values(), ...new Set(this.scaleVars.values())];
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
    return v ? fakeQuantLsq(this.tf, t, this.tf.exp(v), p) : fakeQuantTensor(this.tf, t, p);
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
  }
}
