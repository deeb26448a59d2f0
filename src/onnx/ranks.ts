// Ranks of the tensors of a graph, propagated from the inputs, initializers
// and Constant nodes through the ops whose output rank follows from their
// inputs' ranks and attributes. Exporters such as paddle2onnx write no
// value_info, and an upgrade of Softmax needs to know whether its axis is the
// last one. A tensor whose rank this cannot tell is left out.
import { attr, attrInt, attrInts, topologicalOrder, valueSpecMap, type Graph, type Node } from './graph.js';
import { dimsOf } from './tensor.js';

/** Ops whose outputs have the rank of their first input. */
const SAME_RANK = new Set([
  'Abs', 'AveragePool', 'BatchNormalization', 'Cast', 'Ceil', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'DepthToSpace',
  'Dropout', 'Elu', 'Erf', 'Exp', 'Floor', 'GlobalAveragePool', 'GlobalMaxPool', 'Hardmax', 'HardSigmoid', 'HardSwish',
  'Identity', 'InstanceNormalization', 'LayerNormalization', 'LeakyRelu', 'Log', 'LogSoftmax', 'LRN', 'MaxPool', 'Neg',
  'Pad', 'PRelu', 'Reciprocal', 'Relu', 'Resize', 'Round', 'Selu', 'Sigmoid', 'Sign', 'Slice', 'Softmax', 'Softplus',
  'Softsign', 'SpaceToDepth', 'Split', 'Sqrt', 'Tanh', 'Tile', 'Transpose', 'Upsample',
]);

/** Ops that broadcast their inputs (numpy's rule: the largest rank). */
const BROADCAST = new Set(['Add', 'And', 'Div', 'Equal', 'Greater', 'Less', 'Max', 'Mean', 'Min', 'Mul', 'Or', 'Pow', 'Sub', 'Sum', 'Where', 'Xor']);

const REDUCE = /^Reduce/;

/** The length of a 1-D Slice of the attribute form (opset < 10): the pieces of a shape. */
function slicedLength(n: Node, length: number): number | undefined {
  const [starts, ends] = [attrInts(n, 'starts'), attrInts(n, 'ends')];
  if (starts?.length !== 1 || ends?.length !== 1) return undefined;
  const clamp = (v: number) => Math.min(length, Math.max(0, v < 0 ? v + length : v));
  return Math.max(0, clamp(ends[0]!) - clamp(starts[0]!));
}

export function inferRanks(g: Graph): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const [name, spec] of valueSpecMap(g)) if (spec.dims) ranks.set(name, spec.dims.length);
  const lengths = new Map<string, number>(); // element counts of constant 1-D tensors (shapes, axes)
  for (const t of g.initializer ?? []) {
    const dims = dimsOf(t);
    ranks.set(t.name ?? '', dims.length);
    if (dims.length === 1) lengths.set(t.name ?? '', dims[0]!);
  }
  const rankOf = (n: Node): number | undefined => {
    const op = n.op_type ?? '';
    const ins = (n.input ?? []).map((i) => (i ? ranks.get(i) : undefined));
    const r0 = ins[0];
    const count = (attribute: string, input: number) => attrInts(n, attribute)?.length ?? (n.input?.[input] ? lengths.get(n.input[input]!) : undefined);
    if (op === 'Constant') {
      const t = attr(n, 'value')?.t;
      if (t && dimsOf(t).length === 1) lengths.set(n.output![0]!, dimsOf(t)[0]!);
      return t ? dimsOf(t).length : undefined;
    }
    if (SAME_RANK.has(op)) return r0;
    if (BROADCAST.has(op)) return ins.every((r) => r !== undefined) ? Math.max(...(ins as number[])) : undefined;
    if (op === 'MatMul') return ins[0] !== undefined && ins[1] !== undefined && ins[0] >= 2 && ins[1] >= 2 ? Math.max(ins[0], ins[1]) : undefined;
    if (op === 'Gemm' || op === 'Flatten') return 2;
    if (op === 'Shape') return 1;
    if (op === 'Size') return 0;
    if (op === 'Reshape') return count('shape', 1);
    if (op === 'Unsqueeze') { const k = count('axes', 1); return r0 !== undefined && k !== undefined ? r0 + k : undefined; }
    if (op === 'Squeeze') { const k = count('axes', 1); return r0 !== undefined && k !== undefined ? r0 - k : undefined; }
    if (op === 'Gather') return r0 !== undefined && ins[1] !== undefined ? r0 - 1 + ins[1] : undefined;
    if (op === 'ArgMax' || op === 'ArgMin') return r0 !== undefined ? r0 - (attrInt(n, 'keepdims', 1) ? 0 : 1) : undefined;
    if (REDUCE.test(op)) {
      if (attrInt(n, 'keepdims', 1)) return r0;
      const k = count('axes', 1);
      return k === undefined ? (n.input?.[1] ? undefined : 0) : r0 !== undefined ? r0 - k : undefined;
    }
    return undefined;
  };
  for (const n of topologicalOrder(g)) {
    // A shape built by concatenating constant pieces, as paddle2onnx writes Reshape's shape.
    const pieces = (n.input ?? []).map((i) => lengths.get(i));
    if (n.op_type === 'Concat' && pieces.length && pieces.every((k) => k !== undefined)) lengths.set(n.output![0]!, (pieces as number[]).reduce((a, b) => a + b, 0));
    if ((n.op_type === 'Cast' || n.op_type === 'Identity') && pieces[0] !== undefined) lengths.set(n.output![0]!, pieces[0]);
    if (n.op_type === 'Shape' && ranks.get(n.input![0]!) !== undefined && !attr(n, 'start') && !attr(n, 'end')) lengths.set(n.output![0]!, ranks.get(n.input![0]!)!);
    if (n.op_type === 'Slice' && pieces[0] !== undefined) {
      const sliced = slicedLength(n, pieces[0]);
      if (sliced !== undefined) lengths.set(n.output![0]!, sliced);
    }
    const r = rankOf(n);
    if (r === undefined) continue;
    const outputs = n.op_type === 'Split' ? n.output ?? [] : (n.output ?? []).slice(0, 1);
    for (const o of outputs) if (o && !ranks.has(o)) ranks.set(o, r);
  }
  return ranks;
}
