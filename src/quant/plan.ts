// Which tensors get a QuantizeLinear/DequantizeLinear pair, following ONNX
// Runtime's QDQ quantizer: every float activation read or written by a
// quantized node, so ORT can fuse DQ -> op -> Q into integer kernels.
import { constantTensors, consumerMap, graphOutputs, initializerMap, producerMap, attrFloat, type Graph, type Node } from '../onnx/graph.js';
import { inferElemTypes } from '../onnx/types.js';
import { findQuantizableLayers, type QuantLayer } from './quantizable.js';

/** Ops that run on quantized inputs/outputs in ORT's QDQ fusions (besides the weighted layers). */
const ACTIVATION_OPS = new Set(['Add', 'Concat', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'MatMul']);
/** Ops that only clip at 0 (and maybe above): absorbed by a uint8 output range. */
const REMOVABLE_ACTIVATIONS = new Set(['Relu', 'Clip']);
/** Ops whose output must share the input's scale for ORT to run them on integers. */
export const SAME_SCALE_OPS = new Set(['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze']);

export interface QuantPlan {
  layers: QuantLayer[];
  /** Nodes that run quantized (weighted layers, plus activation ops). */
  quantizedNodes: Set<Node>;
  /** Float activation tensors that get a Q/DQ pair, in graph order. */
  tensors: string[];
  /** Relu/Clip nodes folded into their producer's output range: producer output -> activation output. */
  folded: { node: Node; from: string; to: string }[];
  /** Tensor -> tensor whose quantization parameters it must reuse. */
  sharedScale: Map<string, string>;
}

export interface PlanOptions {
  /** Fold Relu/Clip into the range (only for asymmetric activations). */
  foldActivations: boolean;
}

function clipFoldable(n: Node, inits: ReturnType<typeof initializerMap>): boolean {
  if (n.op_type === 'Relu') return true;
  // Clip(0, hi): the lower bound must be exactly 0 so the uint8 range starts there.
  const minName = n.input?.[1];
  if (minName) {
    const t = inits.get(minName);
    if (!t) return false;
    const v = t.raw_data?.length === 4 ? new DataView(t.raw_data.buffer, t.raw_data.byteOffset, 4).getFloat32(0, true) : t.float_data?.[0];
    return v === 0;
  }
  return attrFloat(n, 'min', -Infinity) === 0;
}

export function planQuantization(g: Graph, opts: PlanOptions): QuantPlan {
  const layers = findQuantizableLayers(g);
  const layerNodes = new Set(layers.map((l) => l.node));
  const types = inferElemTypes(g);
  const inits = initializerMap(g);
  const consumers = consumerMap(g);
  const producers = producerMap(g);
  const outputs = new Set(graphOutputs(g).map((o) => o.name));
  const constants = constantTensors(g);
  // Only float32 tensors are ever planned: integer and bool ones (token ids, masks before they are made
  // float, shapes) and those whose type is unknown are not (src/quant/float-tensors.ts has the others left float).
  const isActivation = (t: string) => !!t && !constants.has(t) && types.get(t) === 'float32';

  const quantizedNodes = new Set<Node>(layerNodes);
  for (const n of g.node ?? []) {
    const op = n.op_type ?? '';
    if (layerNodes.has(n) || !ACTIVATION_OPS.has(op)) continue;
    const ins = (n.input ?? []).filter((i) => i);
    // Add/MatMul/Concat with a constant operand stay float: ORT's integer kernels want every operand quantized.
    const allActivations = ins.every(isActivation);
    if (ins.length > 0 && (allActivations || !['Add', 'MatMul', 'Concat'].includes(op)) && isActivation(ins[0])) quantizedNodes.add(n);
  }

  // Fold a Relu/Clip that is the only reader of a quantized node's output.
  const folded: QuantPlan['folded'] = [];
  if (opts.foldActivations) {
    for (const n of g.node ?? []) {
      if (!REMOVABLE_ACTIVATIONS.has(n.op_type ?? '') || !clipFoldable(n, inits)) continue;
      const from = n.input?.[0] ?? '';
      const p = producers.get(from);
      if (!p || !quantizedNodes.has(p) || (consumers.get(from) ?? []).length !== 1) continue;
      if (outputs.has(from) || outputs.has(n.output?.[0] ?? '')) continue;
      folded.push({ node: n, from, to: n.output![0] });
    }
  }
  const foldedFrom = new Map(folded.map((f) => [f.from, f.to]));
  const foldedNodes = new Set(folded.map((f) => f.node));

  const wanted = new Set<string>();
  for (const n of g.node ?? []) {
    if (!quantizedNodes.has(n)) continue;
    const weightInputs = new Set<string>();
    const layer = layers.find((l) => l.node === n);
    if (layer) { weightInputs.add(layer.weight); if (layer.bias) weightInputs.add(layer.bias); }
    for (const i of n.input ?? []) if (isActivation(i) && !weightInputs.has(i)) wanted.add(i);
    for (const o of n.output ?? []) {
      const t = foldedFrom.get(o) ?? o;
      if (isActivation(o) && !outputs.has(t)) wanted.add(t);
    }
  }
  // Graph order, so reports and models list tensors the way the model runs.
  const order: string[] = [];
  for (const i of g.input ?? []) if (wanted.has(i.name ?? '')) order.push(i.name!);
  for (const n of g.node ?? []) {
    if (foldedNodes.has(n)) continue;
    for (const o of n.output ?? []) {
      const t = foldedFrom.get(o) ?? o;
      if (wanted.has(t) && !order.includes(t)) order.push(t);
    }
  }
  const sharedScale = new Map<string, string>();
  for (const n of g.node ?? []) {
    if (!SAME_SCALE_OPS.has(n.op_type ?? '')) continue;
    const i = n.input?.[0] ?? '';
    const o = n.output?.[0] ?? '';
    if (wanted.has(i) && wanted.has(o)) sharedScale.set(o, i);
  }
  return { layers, quantizedNodes, tensors: order, folded, sharedScale };
}
