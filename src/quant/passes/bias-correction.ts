// Bias correction (Nagel et al. 2019, section 4), a data-driven recipe
// pass: quantizing a layer's weights shifts the mean of its output by
// E[W x] - E[Q(W) x] per output channel, and the next layers see that shift
// as a bias error. The layer's bias absorbs it, with Q the recipe's own
// weight quantizer (per channel or per tensor) and x the layer's input on the
// calibration data in the model whose earlier layers have quantized weights
// and corrected biases.
//
// The expectation is taken inside onnxruntime: beside each layer, the same op
// on the same input with weight W - Q(W) and no bias, then a channel mean
// (src/calib/channel-stats.ts), so a Conv's padding, strides and groups are
// exact and only [channels] vectors leave the session. Every layer is
// corrected in each round over the whole model (one forward pass) instead of
// one pass per layer; a layer's correction depends on the earlier ones only
// through its input's small shift, so the rounds converge fast (round 2
// changes the corrections about 100x less than round 1 on the samples). The
// per-round residual (largest change of any correction) is recorded.
import { z } from 'zod';
import { onnx } from '../../onnx/proto/onnx.js';
import { cloneModel, withInitializers, type Model } from '../../onnx/model.js';
import { consumerMap, graphOutputs, initializerMap, type Node } from '../../onnx/graph.js';
import { makeTensor, tensorToArray } from '../../onnx/tensor.js';
import { channelStatistics, channelStatKey, type ChannelStatRequest } from '../../calib/channel-stats.js';
import { InputError } from '../../util/errors.js';
import { findQuantizableLayers, type QuantLayer } from '../quantizable.js';
import { dequantizedLayerWeight } from '../qdq.js';
import { compactFloats, WeightEditor } from './weight-params.js';
import type { FitContext, QuantPass } from './pass.js';

/** Rounds over the whole model at most. */
const MAX_ROUNDS = 4;
/** Stop when a round's residual is below this share of the first round's. */
const SETTLED = 0.01;

const correctionSchema = z.object({ layer: z.string(), shift: z.array(z.number()) }).strict();
const paramsSchema = z.object({
  /** The weight quantizer the shifts were fitted for. */
  weights: z.enum(['per-channel', 'per-tensor']).optional(),
  rounds: z.number().int().nonnegative().optional(),
  /** Largest |E[y] - E[y~]| over all layers and channels before each round. */
  residuals: z.array(z.number()).optional(),
  corrections: z.array(correctionSchema).optional(),
}).strict();
export type BiasCorrectionParams = z.infer<typeof paramsSchema>;

/** A layer whose output mean can be corrected, and where its bias lives. */
interface Correctable {
  layer: QuantLayer;
  /** The tensor whose channel mean is corrected: the layer's output with its bias added. */
  output: string;
  axis: ChannelStatRequest['axis'];
  channels: number;
  /** The node holding the bias and its input index: the layer itself (Conv, Gemm), or the Add after a MatMul. */
  biasNode: Node;
  biasIndex: number;
}

function correctableLayers(g: Model['graph']): Correctable[] {
  const graph = g!;
  const consumers = consumerMap(graph);
  const inits = initializerMap(graph);
  const outputs = new Set(graphOutputs(graph).map((o) => o.name));
  const out: Correctable[] = [];
  for (const layer of findQuantizableLayers(graph)) {
    const n = layer.node;
    const output = n.output?.[0] ?? '';
    const channels = layer.weightDims[layer.channelAxis]!;
    if (layer.opType === 'Conv' || layer.opType === 'Gemm') {
      const b = n.input?.[2];
      if (b && (!inits.has(b) || tensorToArray(inits.get(b)!).data.length !== channels)) continue;
      out.push({ layer, output, axis: 'second', channels, biasNode: n, biasIndex: 2 });
    } else if (layer.opType === 'MatMul') {
      // Linear on 3-D tensors: MatMul then Add of a [N] constant, the bias.
      const readers = consumers.get(output) ?? [];
      const add = readers[0];
      if (readers.length !== 1 || outputs.has(output) || add?.op_type !== 'Add') continue;
      const biasIndex = add.input?.[0] === output ? 1 : 0;
      const bias = inits.get(add.input?.[biasIndex] ?? '');
      if (!bias || bias.data_type !== 1 || tensorToArray(bias).dims.join() !== String(channels)) continue;
      out.push({ layer, output: add.output![0]!, axis: 'last', channels, biasNode: add, biasIndex });
    }
  }
  return out;
}

/** The model with each correction's shift added to its layer's bias (a missing Conv/Gemm bias starts at 0). */
function shifted(model: Model, shifts: ReadonlyMap<string, ArrayLike<number>>): Model {
  const m = cloneModel(model);
  const editor = new WeightEditor(m.graph!);
  for (const c of correctableLayers(m.graph)) {
    const shift = shifts.get(c.layer.name);
    if (!shift) continue;
    if (shift.length !== c.channels) throw new InputError(`bias-correction: layer '${c.layer.name}' has ${c.channels} channels, the recorded shift ${shift.length}`);
    const bias = editor.own(c.biasNode, c.biasIndex) ?? editor.create(c.biasNode, c.biasIndex, `${c.layer.weight}__corrected_bias`, [c.channels]);
    for (let i = 0; i < c.channels; i++) bias.data[i] = bias.data[i]! + shift[i]!;
  }
  editor.commit();
  return m;
}

/** Every quantizable layer's weight replaced by Q(W), as the QDQ model computes with it; and W - Q(W) by layer name. */
function withQuantizedWeights(model: Model, perChannel: boolean): { model: Model; errors: Map<string, Float32Array> } {
  const m = cloneModel(model);
  const g = m.graph!;
  const byWeight = new Map(findQuantizableLayers(g).map((l) => [l.weight, l]));
  const errors = new Map<string, Float32Array>();
  g.initializer = (g.initializer ?? []).map((t) => {
    const l = byWeight.get(t.name ?? '');
    if (!l) return t;
    const w = tensorToArray(t).data as Float32Array;
    const q = dequantizedLayerWeight(l, w, perChannel);
    errors.set(l.name, Float32Array.from(w, (v, i) => v - q[i]!));
    return makeTensor(t.name!, 'float32', l.weightDims, q);
  });
  return { model: m, errors };
}

/**
 * Beside each layer, the same op on the same input with the weight error
 * W - Q(W) and no bias: its channel mean is E[(W - Q(W)) x~], exactly what
 * the layer's padding, strides and groups make of it.
 */
function withErrorBranches(model: Model, layers: readonly Correctable[], errors: ReadonlyMap<string, Float32Array>): { model: Model; requests: ChannelStatRequest[] } {
  const g = model.graph!;
  const requests: ChannelStatRequest[] = [];
  for (const [i, c] of layers.entries()) {
    const n = c.layer.node;
    const name = `qtool_bias_error${i}`;
    g.initializer!.push(makeTensor(`${name}_weight`, 'float32', c.layer.weightDims, errors.get(c.layer.name)!));
    g.node!.push(onnx.NodeProto.create({
      op_type: n.op_type, name, input: [n.input![0]!, `${name}_weight`], output: [name],
      attribute: (n.attribute ?? []).filter((a) => a.name !== 'beta').map((a) => onnx.AttributeProto.create(a)),
    }));
    requests.push({ tensor: name, kind: 'mean', axis: c.axis, channels: c.channels });
  }
  return { model, requests };
}

async function fitShifts(model: Model, ctx: FitContext): Promise<Required<BiasCorrectionParams>> {
  const { model: quantized, errors } = withQuantizedWeights(model, ctx.perChannel);
  const layers = correctableLayers(quantized.graph);
  const shifts = new Map(layers.map((c) => [c.layer.name, new Float64Array(c.channels)]));
  const residuals: number[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // The inputs x~ of the model with every weight quantized and the biases corrected so far.
    const current = shifted(quantized, shifts);
    const probe = withErrorBranches(current, correctableLayers(current.graph), errors);
    const stats = await channelStatistics(probe.model, probe.requests, ctx.data, {
      batchSize: ctx.batchSize, label: 'bias correction', progress: ctx.progress, progressLabel: `bias correction, round ${round + 1}`,
    });
    let residual = 0;
    for (const [i, c] of layers.entries()) {
      const e = stats.get(channelStatKey(probe.requests[i]!.tensor, 'mean'))!;
      const s = shifts.get(c.layer.name)!;
      for (let k = 0; k < c.channels; k++) {
        residual = Math.max(residual, Math.abs(e[k]! - s[k]!));
        s[k] = e[k]!;
      }
    }
    residuals.push(residual);
    if (residual <= SETTLED * residuals[0]!) break;
  }
  return {
    weights: ctx.perChannel ? 'per-channel' : 'per-tensor',
    rounds: residuals.length,
    residuals: compactFloats(residuals),
    corrections: layers.map((c) => ({ layer: c.layer.name, shift: compactFloats(shifts.get(c.layer.name)!) })),
  };
}

/** `--bias-correction`: the last pass, so that the weights it corrects for are the ones that get quantized. */
export const biasCorrectionPass: QuantPass<BiasCorrectionParams> = {
  name: 'bias-correction',
  always: false,
  params: paramsSchema,
  fit: async (model, _requested, ctx) => fitShifts(model, ctx),
  describe({ params }) {
    const c = params.corrections ?? [];
    const largest = Math.max(0, ...c.flatMap((x) => x.shift.map(Math.abs)));
    return `${c.length} layers (${params.weights} weights), ${params.rounds} rounds (residuals ${(params.residuals ?? []).map((r) => r.toPrecision(2)).join(', ')}), largest correction ${largest.toPrecision(3)}`;
  },
  apply(model, params) {
    if (!params.corrections) throw new InputError('bias-correction: no fitted corrections (they are computed from data by qtool calibrate)');
    const shifts = new Map(params.corrections.map((c) => [c.layer, c.shift]));
    const known = new Set(correctableLayers(model.graph).map((c) => c.layer.name));
    const stray = params.corrections.find((c) => !known.has(c.layer));
    if (stray) throw new InputError(`bias-correction: no correctable layer '${stray.layer}' in this model`);
    return { model: shifted(model, shifts), effect: { corrected: params.corrections.map((c) => c.layer) } };
  },
  // A float layer's weights are not quantized: its bias goes back to b, to float rounding of (b + shift) - shift.
  keepFloat(model, params, layers) {
    const undo = (params.corrections ?? []).filter((c) => layers.has(c.layer));
    if (undo.length === 0) return model;
    const shifts = new Map(undo.map((c) => [c.layer, c.shift]));
    const inits = initializerMap(model.graph!);
    const replaced = new Map<string, onnx.TensorProto>();
    for (const c of correctableLayers(model.graph)) {
      const shift = shifts.get(c.layer.name);
      const name = c.biasNode.input?.[c.biasIndex];
      if (!shift || !name) continue;
      const b = tensorToArray(inits.get(name)!);
      replaced.set(name, makeTensor(name, 'float32', b.dims, Float32Array.from(b.data as Float32Array, (v, i) => v - shift[i]!)));
    }
    return withInitializers(model, replaced);
  },
};
