// Which layers qtool quantizes: ops with a constant weight that ONNX Runtime
// runs as integer kernels in QDQ form.
import { attrInt, initializerMap, nodeLabel, type Graph, type Node } from '../onnx/graph.js';
import { dimsOf, sizeOf } from '../onnx/tensor.js';
import type { onnx } from '../onnx/proto/onnx.js';

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

/** A weighted layer inside an If, Loop or Scan body: found and reported, kept in float. */
export interface SubgraphLayer {
  name: string;
  opType: string;
  weight: string;
  weightDims: number[];
  params: number;
  /** The top-level node that holds it, e.g. "If 'cond_1'". */
  owner: string;
  /** Where it is, from the top-level node down, e.g. "If 'cond_1' then_branch". */
  subgraph: string;
}

/**
 * The layers that findQuantizableLayers would quantize were they in the
 * top-level graph, found in every subgraph at any depth; weights may be the
 * subgraph's own initializers or ones of a graph around it. qtool quantizes
 * only the top-level graph, so these stay float.
 */
export function findSubgraphLayers(g: Graph): SubgraphLayer[] {
  const out: SubgraphLayer[] = [];
  const walk = (graph: Graph, outer: readonly onnx.ITensorProto[], owner: string | undefined, where: string): void => {
    for (const n of graph.node ?? []) {
      const here = `${n.op_type} '${nodeLabel(n)}'`;
      for (const a of n.attribute ?? []) {
        for (const [k, sg] of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])].entries()) {
          const path = `${where ? `${where} > ` : ''}${here} ${a.name}${a.graphs?.length ? `[${k}]` : ''}`;
          // Inner names shadow outer ones: the subgraph's initializers come last in the map.
          const visible = [...outer, ...(sg.initializer ?? [])];
          for (const l of findQuantizableLayers({ node: sg.node, initializer: visible })) {
            out.push({ name: l.name, opType: l.opType, weight: l.weight, weightDims: l.weightDims, params: l.params, owner: owner ?? here, subgraph: path });
          }
          walk(sg, visible, owner ?? here, path);
        }
      }
    }
  };
  walk(g, g.initializer ?? [], undefined, '');
  return out;
}

/** "2 layers inside subgraphs (If 'cond_1') stay float", or null when there are none. */
export function subgraphLayersNote(layers: readonly Pick<SubgraphLayer, 'owner'>[]): string | null {
  if (layers.length === 0) return null;
  const owners = [...new Set(layers.map((l) => l.owner))];
  return `${layers.length} layer${layers.length === 1 ? '' : 's'} inside subgraphs (${owners.join(', ')}) stay${layers.length === 1 ? 's' : ''} float`;
}
