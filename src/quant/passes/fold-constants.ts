// Weights computed from constants become initializers, the recipe's first
// pass. Paddle's, TensorFlow's (tf2onnx) and older PyTorch exporters write a
// layer's weight as a Constant node, sometimes behind Identity, Cast,
// Reshape, Transpose, Squeeze or Unsqueeze of constants; a layer is
// quantizable (and its weight counted) only once its weight is an
// initializer. Each such chain in front of a Conv, ConvTranspose, Gemm or
// MatMul weight or bias is evaluated once here, and its nodes are removed
// when nothing else reads them.
import { onnx } from '../../onnx/proto/onnx.js';
import { cloneModel, opsetVersion, type Model } from '../../onnx/model.js';
import { attr, attrInt, attrInts, consumerMap, graphOutputs, initializerMap, producerMap, type Node } from '../../onnx/graph.js';
import { elemTypeName, makeTensor, tensorToArray, toNumber, type DecodedTensor, type TypedArray } from '../../onnx/tensor.js';
import { WEIGHTED_OPS } from '../quantizable.js';
import { NO_PARAMS, type NoParams, type QuantPass } from './pass.js';

type Value = DecodedTensor;

const numbers = (v: Value): number[] => Array.from(v.data as ArrayLike<number | bigint>, Number);

function transpose(v: Value, perm: number[]): Value {
  const dims = perm.map((p) => v.dims[p]!);
  const strides = v.dims.map((_, i) => v.dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new (v.data.constructor as new (n: number) => TypedArray)(v.data.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += idx[k]! * strides[perm[k]!]!;
    (out as unknown as number[])[o] = (v.data as unknown as number[])[src]!;
    for (let k = dims.length - 1; k >= 0 && ++idx[k]! === dims[k]!; k--) idx[k] = 0;
  }
  return { type: v.type, dims, data: out };
}

function reshape(v: Value, shape: number[]): Value | undefined {
  const dims = shape.map((d, i) => (d === 0 ? v.dims[i]! : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = dims.map((d) => (d === -1 ? v.data.length / known : d));
  return out.reduce((a, b) => a * b, 1) === v.data.length ? { ...v, dims: out } : undefined;
}

/** The axes of Squeeze/Unsqueeze: an attribute before opset 13, an input from 13 on. */
function axesOf(n: Node, opset: number, evaluate: (t: string) => Value | undefined): number[] | undefined {
  if (opset < 13) return attrInts(n, 'axes');
  const a = n.input?.[1] ? evaluate(n.input[1]) : undefined;
  return a ? numbers(a) : undefined;
}

/** The value of a Constant node's output. */
function constantValue(n: Node): Value | undefined {
  const a = attr(n, 'value');
  if (a?.t) return tensorToArray(a.t);
  const f = attr(n, 'value_float');
  if (f) return { type: 'float32', dims: [], data: Float32Array.of(f.f ?? 0) };
  const fs = attr(n, 'value_floats');
  if (fs) return { type: 'float32', dims: [fs.floats?.length ?? 0], data: Float32Array.from(fs.floats ?? []) };
  const i = attr(n, 'value_int');
  if (i) return { type: 'int64', dims: [], data: BigInt64Array.of(BigInt(toNumber(i.i ?? 0))) };
  const is = attr(n, 'value_ints');
  if (is) return { type: 'int64', dims: [is.ints?.length ?? 0], data: BigInt64Array.from((is.ints ?? []).map((v) => BigInt(toNumber(v)))) };
  return undefined;
}

/** Evaluates the constant-only chain that computes `name`, recording the nodes it passes. */
function evaluator(g: onnx.IGraphProto, opset: number, visited: Set<Node>): (name: string) => Value | undefined {
  const inits = initializerMap(g);
  const producers = producerMap(g);
  const memo = new Map<string, Value | undefined>();
  const evaluate = (name: string): Value | undefined => {
    if (memo.has(name)) return memo.get(name);
    const init = inits.get(name);
    let v: Value | undefined;
    if (init) {
      v = tensorToArray(init);
    } else {
      const n = producers.get(name);
      v = n ? step(n) : undefined;
      if (v && n) visited.add(n);
    }
    memo.set(name, v);
    return v;
  };
  const step = (n: Node): Value | undefined => {
    const input = (i: number) => (n.input?.[i] ? evaluate(n.input[i]) : undefined);
    switch (n.op_type) {
      case 'Constant': return constantValue(n);
      case 'Identity': return input(0);
      case 'Cast': {
        const x = input(0);
        const to = elemTypeName(attrInt(n, 'to', 0));
        return x && to === 'float32' ? { type: 'float32', dims: x.dims, data: Float32Array.from(numbers(x)) } : undefined;
      }
      case 'Reshape': {
        const [x, s] = [input(0), input(1)];
        return x && s ? reshape(x, numbers(s)) : undefined;
      }
      case 'Transpose': {
        const x = input(0);
        return x ? transpose(x, attrInts(n, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i)) : undefined;
      }
      case 'Unsqueeze': case 'Squeeze': {
        const x = input(0);
        const axes = x && axesOf(n, opset, evaluate);
        if (!x || !axes) return n.op_type === 'Squeeze' && x && !n.input?.[1] && !attrInts(n, 'axes') ? { ...x, dims: x.dims.filter((d) => d !== 1) } : undefined;
        if (n.op_type === 'Squeeze') {
          const drop = new Set(axes.map((a) => (a < 0 ? a + x.dims.length : a)));
          return { ...x, dims: x.dims.filter((_, i) => !drop.has(i)) };
        }
        const rank = x.dims.length + axes.length;
        const add = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
        const dims: number[] = [];
        for (let i = 0, k = 0; i < rank; i++) dims.push(add.has(i) ? 1 : x.dims[k++]!);
        return { ...x, dims };
      }
      default: return undefined;
    }
  };
  return evaluate;
}

export function foldConstantWeights(model: Model): { model: Model; folded: string[] } {
  const g0 = model.graph!;
  const inits0 = initializerMap(g0);
  const wanted = new Set<string>();
  for (const n of g0.node ?? []) {
    if (!WEIGHTED_OPS.has(n.op_type ?? '')) continue;
    const slots = n.op_type === 'MatMul' ? [1] : [1, 2];
    for (const i of slots) if (n.input?.[i] && !inits0.has(n.input[i]!)) wanted.add(n.input[i]!);
  }
  if (wanted.size === 0) return { model, folded: [] };
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const visited = new Set<Node>();
  const evaluate = evaluator(g, opsetVersion(m), visited);
  const folded: string[] = [];
  for (const name of wanted) {
    const v = evaluate(name);
    // Only float weights are quantized; a chain that reads an activation is not constant.
    if (!v || v.type !== 'float32') continue;
    g.initializer.push(makeTensor(name, 'float32', v.dims, v.data));
    folded.push(name);
  }
  if (folded.length === 0) return { model, folded: [] };
  // The folded tensors are now initializers: drop what only computed them.
  const produced = new Set(folded);
  g.node = (g.node as onnx.NodeProto[]).filter((n) => !(n.output.length === 1 && produced.has(n.output[0]!)));
  const outputs = new Set(graphOutputs(g).map((o) => o.name));
  for (let removed = true; removed;) {
    const consumers = consumerMap(g);
    const before = g.node.length;
    g.node = (g.node as onnx.NodeProto[]).filter((n) => !visited.has(n) || n.output.some((o) => (consumers.get(o) ?? []).length > 0 || outputs.has(o)));
    removed = g.node.length < before;
  }
  return { model: m, folded };
}

/**
 * Every other Constant node of the main graph becomes an initializer too, so
 * the passes and the plan that read initializers (BatchNorm folding, Clip's
 * bounds, Reshape's shape) see through them, as they do for PyTorch's exports.
 */
export function constantNodesToInitializers(model: Model): { model: Model; constants: string[] } {
  const outputs = new Set(graphOutputs(model.graph!).map((o) => o.name));
  const values = new Map<Node, onnx.TensorProto>();
  for (const n of model.graph!.node ?? []) {
    if (n.op_type !== 'Constant' || (n.domain ?? '') !== '' || n.output?.length !== 1 || outputs.has(n.output[0]!)) continue;
    const name = n.output[0]!;
    const t = attr(n, 'value')?.t;
    // A `value` tensor moves as it is (any element type); the scalar and list forms are made into one.
    const v = t ? undefined : constantValue(n);
    if (t) values.set(n, onnx.TensorProto.create({ ...t, name }));
    else if (v) values.set(n, makeTensor(name, v.type, v.dims, v.data));
  }
  if (values.size === 0) return { model, constants: [] };
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const constants: string[] = [];
  g.node = (g.node as onnx.NodeProto[]).filter((n, i) => {
    const t = values.get(model.graph!.node![i]!);
    if (!t) return true;
    g.initializer.push(t);
    constants.push(n.output[0]!);
    return false;
  });
  return { model: m, constants };
}

/** Always applied: a no-op for models whose weights are initializers already. */
export const foldConstantsPass: QuantPass<NoParams> = {
  name: 'fold-constants',
  always: true,
  params: NO_PARAMS,
  apply(model) {
    const r = foldConstantWeights(model);
    // Constant nodes becoming initializers changes how values are stored, not what they are: not an effect to check.
    return { model: constantNodesToInitializers(r.model).model, effect: { folded: r.folded } };
  },
};
