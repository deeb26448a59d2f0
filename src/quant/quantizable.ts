// Which layers qtool quantizes: ops with a constant weight that ONNX Runtime
// runs as integer kernels in QDQ form.
import { attrInt, initializerMap, nodeLabel, type Graph, type Node } from '../onnx/graph.js';
import { dimsOf, sizeOf } from '../onnx/tensor.js';

export const WEIGHTED_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

export interface QuantLayer {
  /** Stable id: the node name, or op type and output when unnamed. */
  name: string;
  opType: string;
  node: Node;
  weight: string;
  weightDims: number[];
  bias?: string;
  /** Weight and bias values. */
  params: number;
  /** The weight axis that holds output channels (per-channel quantization). */
  channelAxis: number;
}

/** The weight axis of output channels, as ONNX Runtime quantizes it. */
function channelAxisOf(node: Node, weightRank: number): number {
  switch (node.op_type) {
    case 'Conv': return 0;
    case 'ConvTranspose': return 1;
    case 'Gemm': return attrInt(node, 'transB', 0) ? 0 : 1;
    default: return weightRank - 1; // MatMul: [K, N] -> N
  }
}

export function findQuantizableLayers(g: Graph): QuantLayer[] {
  const inits = initializerMap(g);
  const layers: QuantLayer[] = [];
  for (const node of g.node ?? []) {
    if (!WEIGHTED_OPS.has(node.op_type ?? '')) continue;
    const w = inits.get(node.input?.[1] ?? '');
    if (!w || w.data_type !== 1 /* FLOAT */) continue;
    const dims = dimsOf(w);
    // MatMul against a constant: only 2-D weights map to per-channel axes ORT fuses.
    if (node.op_type === 'MatMul' && dims.length !== 2) continue;
    // Gemm with a constant A and activation B is not a weighted layer.
    if (node.op_type === 'Gemm' && attrInt(node, 'transA', 0) === 0 && inits.has(node.input?.[0] ?? '')) continue;
    const biasName = node.op_type === 'MatMul' ? undefined : node.input?.[2] || undefined;
    const bias = biasName ? inits.get(biasName) : undefined;
    layers.push({
      name: nodeLabel(node),
      opType: node.op_type!,
      node,
      weight: w.name!,
      weightDims: dims,
      bias: bias ? biasName : undefined,
      params: sizeOf(dims) + (bias ? sizeOf(dimsOf(bias)) : 0),
      channelAxis: channelAxisOf(node, dims.length),
    });
  }
  return layers;
}
