// Which tensors get a QuantizeLinear/DequantizeLinear pair, following ONNX
// Runtime's QDQ quantizer: every float activation read or written by a
// quantized node, so ORT can fuse DQ -> op -> Q into integer kernels.
import { constantTensors, consumerMap, graphOutputs, initializerMap, producerMap, attrFloat, type Graph, type Node } from '../onnx/graph.js';
import { scalarOf } from '../onnx/tensor.js';
import { inferElemTypes } from '../onnx/types.js';
import { findQuantizableLayers, type QuantLayer } from './quantizable.js';

/**
 * Ops that ORT's CPU provider runs as integer kernels when their float inputs
 * and their output have Q/DQ pairs (besides the weighted layers): its QDQ
 * rules for binary ops (QLinearAdd, QLinearMul), unary ops (QLinearSigmoid,
 * QLinearLeakyRelu, QLinearAveragePool, QLinearGlobalAveragePool), Concat,
 * MaxPool, and MatMul of two activations. Not Softmax: ORT's QLinearSoftmax
 * made the transformer sample slower than a float Softmax between Q/DQ pairs
 * (0.60-0.98x of it, three runs).
 */
const ACTIVATION_OPS = new Set(['Add', 'Mul', 'Concat', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'MatMul', 'Sigmoid', 'LeakyRelu']);
/** Binary ops that ORT fuses only when every operand is a quantized activation. */
const ALL_OPERANDS_OPS = new Set(['Add', 'Mul', 'MatMul', 'Concat']);
/**
 * Data movement that ORT runs on 8-bit data when the Q/DQ pairs on its data
 * input and output share one scale (its "drop Q/DQ" rules): quantized
 * whenever its input is, so a chain such as Reshape -> Transpose between two
 * quantized ops stays integer, as ORT's quantizer does for these ops.
 */
const DATA_MOVEMENT_OPS = new Set(['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather', 'Expand', 'Tile', 'Resize']);
/** Ops that only clip at 0 (and maybe above): absorbed by a uint8 output range. */
const REMOVABLE_ACTIVATIONS = new Set(['Relu', 'Clip']);
/** Ops whose output must share the input's scale for ORT to run them on integers. */
export const SAME_SCALE_OPS = new Set(['MaxPool', ...DATA_MOVEMENT_OPS]);

/** Elementwise ops through which a self-gated activation computes its gate from its input. */
const GATE_OPS = new Set(['Erf', 'Sigmoid', 'Tanh', 'HardSigmoid', 'Softplus', 'Relu', 'Clip', 'Add', 'Sub', 'Mul', 'Div']);

/**
 * Whether Mul(a, b) is a self-gated activation written out, x * f(x):
 * GELU (x * (1 + erf(x / sqrt2))), Swish, Mish, HardSwish (x * HardSigmoid(x)).
 * It stays float as a unit: a Q/DQ pair inside would cost accuracy, and ORT
 * fuses GELU and Swish into float kernels (BiasGelu, QuickGelu) that a pair
 * on the Mul would break.
 */
function selfGated(n: Node, producers: Map<string, Node>, isConstant: (t: string) => boolean): boolean {
  const [a, b] = [n.input?.[0] ?? '', n.input?.[1] ?? ''];
  const reaches = (from: string, to: string): boolean => {
    for (let t = from, depth = 0; depth < 6; depth++) {
      const p = producers.get(t);
      if (!p || !GATE_OPS.has(p.op_type ?? '')) return false;
      const ins = (p.input ?? []).filter((i) => i && !isConstant(i));
      if (ins.length !== 1) return false; // a gate reads its input and constants only
      if (ins[0] === to) return true;
      t = ins[0]!;
    }
    return false;
  };
  return reaches(b, a) || reaches(a, b);
}

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
  /**
   * Tensors whose range is fixed by the op, not calibrated: Softmax outputs
   * are [0, 1], as ORT's quantizer sets them. Where ORT fuses DQ -> Softmax
   * -> Q (the input is quantized for another reader), its QLinearSoftmax
   * needs that range: with a calibrated [0, 0.78] it gave zeros.
   */
  fixedRange: Map<string, [number, number]>;
}

export interface PlanOptions {
  /** Fold Relu/Clip into the range (only for asymmetric activations). */
  foldActivations: boolean;
}

function clipFoldable(n: Node, inits: ReturnType<typeof initializerMap>): boolean {
  if (n.op_type === 'Relu') return true;
  // Clip(0, hi): the lower bound must be exactly 0 so the uint8 range starts there.
  const minName = n.input?.[1];
  if (minName) return scalarOf(minName, inits) === 0;
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
    // Add/Mul/MatMul/Concat with a constant operand stay float: ORT's integer kernels want every operand quantized.
    const allActivations = ins.every(isActivation);
    if (op === 'Mul' && selfGated(n, producers, (t) => constants.has(t))) continue;
    if (ins.length > 0 && (allActivations || !ALL_OPERANDS_OPS.has(op)) && isActivation(ins[0])) quantizedNodes.add(n);
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
  // Graph order is topological, so one walk carries a quantized input down a chain of data movement.
  for (const n of g.node ?? []) {
    const o = n.output?.[0] ?? '';
    if (DATA_MOVEMENT_OPS.has(n.op_type ?? '') && wanted.has(n.input?.[0] ?? '') && isActivation(o) && !outputs.has(o)) wanted.add(o);
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
    // Point at the chain's first tensor, so every member copies one set of parameters.
    if (wanted.has(i) && wanted.has(o)) sharedScale.set(o, sharedScale.get(i) ?? i);
  }
  const fixedRange = new Map<string, [number, number]>();
  for (const n of g.node ?? []) {
    const o = n.output?.[0] ?? '';
    if (n.op_type === 'Softmax' && wanted.has(o)) fixedRange.set(o, [0, 1]);
  }
  return { layers, quantizedNodes, tensors: order, folded, sharedScale, fixedRange };
}
