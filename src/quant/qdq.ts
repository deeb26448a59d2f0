// Writes the QDQ model: int8 weights behind DequantizeLinear, int32 biases,
// and a QuantizeLinear/DequantizeLinear pair on every planned activation.
import { onnx } from '../onnx/proto/onnx.js';
import { cloneModel, opsetVersion, type Model } from '../onnx/model.js';
import { attrInt, initializerMap, nodeReads } from '../onnx/graph.js';
import { makeTensor, tensorToArray, type TypedArray } from '../onnx/tensor.js';
import { dequantizeLinear, dequantizeLinearPerAxis, quantizeLinear, quantizeLinearPerAxis, quantizeWeightPerChannel, quantizeWeightPerTensor, type QuantType } from './qparams.js';
import { quantizeBias } from './bias.js';
import type { QuantPlan } from './plan.js';
import type { QuantLayer } from './quantizable.js';

export interface TensorQParams {
  scale: number;
  zeroPoint: number;
  type: QuantType;
}

export interface QdqOptions {
  perChannel: boolean;
  /** Recorded in the model's metadata. */
  metadata?: Record<string, string>;
  /** Quantized weights by layer, reused across models built from the same FP32 model and perChannel setting. */
  weightCache?: Map<string, QuantizedWeight>;
  /**
   * Weight scales by weightKey (QAT's learned ones) instead of max|w| / 127:
   * weights quantize with them, clamped to [-127, 127] as symmetric int8 is.
   */
  weightScales?: Map<string, Float32Array>;
}

export interface QuantizedWeight {
  q: Int8Array;
  scales: Float32Array;
  zeroPoints: Int8Array;
}

const qName = (t: string) => `${t}_QuantizeLinear_Output`;
const dqName = (t: string) => `${t}_DequantizeLinear_Output`;

function node(op: string, inputs: string[], outputs: string[], name: string, axis?: number): onnx.NodeProto {
  const n = onnx.NodeProto.create({ op_type: op, input: inputs, output: outputs, name });
  if (axis !== undefined) n.attribute.push(onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }));
  return n;
}

function scalar(name: string, type: 'float32' | QuantType | 'int32', v: number): onnx.TensorProto {
  const data: TypedArray = type === 'float32' ? Float32Array.of(v) : type === 'uint8' ? Uint8Array.of(v) : type === 'int8' ? Int8Array.of(v) : Int32Array.of(v);
  return makeTensor(name, type, [], data);
}

/** The key of a layer's weight in the QDQ model (and in QdqOptions.weightScales). */
export function weightKey(layer: QuantLayer): string {
  return `${layer.weight}@${layer.name}`;
}

/** A layer's weight quantization axis: per channel only where the channel axis is the output axis (ConvTranspose with groups is not); undefined: per tensor. */
export function weightAxis(layer: QuantLayer, perChannel: boolean): number | undefined {
  if (!perChannel) return undefined;
  if (layer.opType === 'ConvTranspose' && attrInt(layer.node, 'group', 1) !== 1) return undefined;
  return layer.channelAxis;
}

/** A layer's weight as the QDQ model stores it: int8 symmetric, per channel or per tensor (weightAxis). */
export function quantizeLayerWeight(layer: QuantLayer, w: Float32Array, perChannel: boolean): QuantizedWeight {
  const axis = weightAxis(layer, perChannel);
  if (axis !== undefined) return quantizeWeightPerChannel(w, layer.weightDims, axis);
  const r = quantizeWeightPerTensor(w);
  return { q: r.q, scales: Float32Array.of(r.scale), zeroPoints: Int8Array.of(r.zeroPoint) };
}

/** Q(W): the float values the QDQ model's DequantizeLinear gives for a layer's weight. */
export function dequantizedLayerWeight(layer: QuantLayer, w: Float32Array, perChannel: boolean): Float32Array {
  const { q, scales, zeroPoints } = quantizeLayerWeight(layer, w, perChannel);
  const axis = weightAxis(layer, perChannel);
  return axis === undefined ? dequantizeLinear(q, scales[0]!, zeroPoints[0]!) : dequantizeLinearPerAxis(q, layer.weightDims, axis, scales, zeroPoints);
}

/** Symmetric int8 with the given scales (one, or one per channel along axis), clamped to [-127, 127]. */
function quantizeWithScales(w: Float32Array, dims: readonly number[], axis: number | undefined, scales: Float32Array): QuantizedWeight {
  const zeroPoints = new Int8Array(scales.length);
  const q = axis === undefined ? quantizeLinear(w, scales[0]!, 0, 'int8') : quantizeLinearPerAxis(w, dims, axis, scales, zeroPoints, 'int8');
  for (let i = 0; i < q.length; i++) if (q[i] === -128) q[i] = -127;
  return { q, scales, zeroPoints };
}

export function buildQdqModel(fp32: Model, plan: QuantPlan, qparams: Map<string, TensorQParams>, opts: QdqOptions): Model {
  if (opsetVersion(fp32) < 13) throw new Error('QDQ with per-axis scales needs opset >= 13');
  const model = cloneModel(fp32);
  const g = model.graph as onnx.GraphProto;
  const inits = initializerMap(g);
  // Nodes are matched by position: the clone keeps the FP32 graph's order.
  const origIndex = new Map((fp32.graph!.node ?? []).map((n, i) => [n, i]));
  const nodes = g.node as onnx.NodeProto[];
  const at = (n: onnx.INodeProto): onnx.NodeProto => nodes[origIndex.get(n)!];
  const newInits: onnx.TensorProto[] = [];
  const usedInits = new Map<string, number>();
  // Subgraph reads count: a branch may read an outer weight that a quantized layer reads too.
  for (const n of nodes) for (const i of nodeReads(n)) usedInits.set(i, (usedInits.get(i) ?? 0) + 1);

  // 1. Fold Relu/Clip into the producer's output: the producer now writes the activation's tensor.
  const drop = new Set<onnx.NodeProto>();
  for (const f of plan.folded) {
    const act = at(f.node);
    drop.add(act);
    for (const n of nodes) n.output = n.output.map((o) => (o === f.from ? f.to : o));
  }

  // 2. Weights and biases.
  const weightNodes = new Map<onnx.NodeProto, onnx.NodeProto[]>();
  for (const layer of plan.layers) {
    const n = at(layer.node);
    const axis = weightAxis(layer, opts.perChannel);
    const base = weightKey(layer);
    const given = opts.weightScales?.get(base);
    const wq: QuantizedWeight = (!given && opts.weightCache?.get(base)) || (() => {
      const wData = tensorToArray(inits.get(layer.weight)!).data as Float32Array;
      return given ? quantizeWithScales(wData, layer.weightDims, axis, given) : quantizeLayerWeight(layer, wData, opts.perChannel);
    })();
    if (!given) opts.weightCache?.set(base, wq);
    const perAxis = axis !== undefined;
    newInits.push(
      makeTensor(`${base}_quantized`, 'int8', layer.weightDims, wq.q),
      perAxis ? makeTensor(`${base}_scale`, 'float32', [wq.scales.length], wq.scales) : scalar(`${base}_scale`, 'float32', wq.scales[0]),
      perAxis ? makeTensor(`${base}_zero_point`, 'int8', [wq.zeroPoints.length], wq.zeroPoints) : scalar(`${base}_zero_point`, 'int8', wq.zeroPoints[0]),
    );
    const extra = [node('DequantizeLinear', [`${base}_quantized`, `${base}_scale`, `${base}_zero_point`], [dqName(base)], `${base}_DequantizeLinear`, perAxis ? axis : undefined)];
    n.input[1] = dqName(base);
    usedInits.set(layer.weight, usedInits.get(layer.weight)! - 1);

    const inputQ = qparams.get(n.input[0]);
    if (layer.bias && inputQ) {
      const b = tensorToArray(inits.get(layer.bias)!).data as Float32Array;
      const bq = quantizeBias(b, inputQ.scale, wq.scales);
      const bbase = `${layer.bias}@${layer.name}`;
      newInits.push(
        makeTensor(`${bbase}_quantized`, 'int32', [b.length], bq.q),
        makeTensor(`${bbase}_scale`, 'float32', [b.length], bq.scales),
        makeTensor(`${bbase}_zero_point`, 'int32', [b.length], new Int32Array(b.length)),
      );
      extra.push(node('DequantizeLinear', [`${bbase}_quantized`, `${bbase}_scale`, `${bbase}_zero_point`], [dqName(bbase)], `${bbase}_DequantizeLinear`, 0));
      n.input[2] = dqName(bbase);
      usedInits.set(layer.bias, usedInits.get(layer.bias)! - 1);
    }
    weightNodes.set(n, extra);
  }

  // 3. Activations: Q/DQ right after the producer; every reader takes the DQ output.
  const planned = new Set(plan.tensors);
  const pairFor = (t: string): onnx.NodeProto[] => {
    const p = qparams.get(t);
    if (!p) throw new Error(`no quantization parameters for tensor '${t}'`);
    newInits.push(scalar(`${t}_scale`, 'float32', p.scale), scalar(`${t}_zero_point`, p.type, p.zeroPoint));
    return [
      node('QuantizeLinear', [t, `${t}_scale`, `${t}_zero_point`], [qName(t)], `${t}_QuantizeLinear`),
      node('DequantizeLinear', [qName(t), `${t}_scale`, `${t}_zero_point`], [dqName(t)], `${t}_DequantizeLinear`),
    ];
  };
  const out: onnx.NodeProto[] = [];
  for (const i of g.input as onnx.ValueInfoProto[]) if (planned.has(i.name)) out.push(...pairFor(i.name));
  for (const n of nodes) {
    if (drop.has(n)) continue;
    out.push(...(weightNodes.get(n) ?? []), n);
    for (const o of n.output) if (planned.has(o)) out.push(...pairFor(o));
  }
  for (const n of out) {
    if (n.op_type === 'QuantizeLinear') continue;
    n.input = (n.input ?? []).map((i) => (planned.has(i) ? dqName(i) : i));
  }
  g.node = out;

  // Float weights no longer read by anything are dropped; shared ones stay.
  g.initializer = [...(g.initializer as onnx.TensorProto[]).filter((t) => (usedInits.get(t.name) ?? 1) > 0), ...newInits];
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    model.metadata_props.push(onnx.StringStringEntryProto.create({ key: k, value: v }));
  }
  return model;
}
