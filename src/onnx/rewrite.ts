// Small graph rewrites that do not know about quantization.
import { onnx } from './proto/onnx.js';
import { cloneModel, type Model } from './model.js';

/** A copy of the model that also returns the named float tensors as graph outputs. */
export function exposeTensors(model: Model, names: readonly string[]): Model {
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const have = new Set(g.output.map((o) => o.name));
  for (const name of names) {
    if (have.has(name)) continue;
    g.output.push(onnx.ValueInfoProto.create({
      name,
      type: onnx.TypeProto.create({ tensor_type: onnx.TypeProto.Tensor.create({ elem_type: onnx.TensorProto.DataType.FLOAT }) }),
    }));
  }
  return m;
}
