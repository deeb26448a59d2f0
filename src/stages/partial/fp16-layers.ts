// --float-type fp16: the layers kept in float store their weights and biases
// as float16, each followed by a Cast to float32 that feeds the op.
//
// Why not compute in fp16: onnxruntime's CPU provider has no fp16 Conv, Gemm,
// MatMul, Relu or Add kernels on x86; it wraps every fp16 node in Casts to and
// from float32 at load time (InsertCastTransformer). fp16 activations would
// thus only add casts and rounding. fp16 weights with an explicit Cast halve
// the float layers' size, and ORT folds the Cast of a constant at load time,
// so they run at float32 speed.
import { onnx } from '../../onnx/proto/onnx.js';
import { makeTensor, tensorToArray } from '../../onnx/tensor.js';
import type { Model } from '../../onnx/model.js';
import { nodeReads } from '../../onnx/graph.js';
import type { QuantLayer } from '../../quant/quantizable.js';
import { toFloat16Array } from './float16.js';

/** Rewrites `model` in place: the weights (and biases) of `layers` become float16 + Cast. */
export function storeLayersInFloat16(model: Model, layers: readonly QuantLayer[]): void {
  const g = model.graph as onnx.GraphProto;
  const inits = new Map(g.initializer.map((t) => [t.name, t as onnx.TensorProto]));
  const casts: onnx.NodeProto[] = [];
  const added: onnx.TensorProto[] = [];
  const replaced = new Set<string>();
  for (const layer of layers) {
    // A float layer keeps its original output name (no Relu is folded into it).
    const n = (g.node as onnx.NodeProto[]).find((x) => x.op_type === layer.opType && x.output[0] === layer.node.output![0]);
    if (!n) throw new Error(`fp16: layer '${layer.name}' not found in the model`);
    for (const name of [layer.weight, layer.bias]) {
      if (!name) continue;
      const k = n.input.indexOf(name);
      const t = inits.get(name);
      if (k < 0 || !t || t.data_type !== onnx.TensorProto.DataType.FLOAT) continue;
      const half = `${name}@${layer.name}_fp16`;
      const cast = `${half}_Cast_Output`;
      const { dims, data } = tensorToArray(t);
      added.push(makeTensor(half, 'float16', dims, toFloat16Array(data as Float32Array)));
      casts.push(onnx.NodeProto.create({
        op_type: 'Cast', name: `${half}_Cast`, input: [half], output: [cast],
        attribute: [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT })],
      }));
      n.input[k] = cast;
      replaced.add(name);
    }
  }
  // Casts read only initializers, so they can run first; float32 copies nobody reads any more go.
  g.node = [...casts, ...(g.node as onnx.NodeProto[])];
  const read = new Set<string>([...(g.node as onnx.NodeProto[]).flatMap(nodeReads), ...g.input.map((i) => i.name ?? '')]);
  g.initializer = [...(g.initializer as onnx.TensorProto[]).filter((t) => !replaced.has(t.name) || read.has(t.name)), ...added];
}
