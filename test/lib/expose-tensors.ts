// The model-level counterpart of src/onnx/rewrite.ts's exposeTensorsInBytes:
// a decoded copy of the model with extra graph outputs, re-encoded by the
// caller. The reference the ONNX test compares the appended bytes with, and
// what bench/profile-ops.ts profiles.
import { onnx } from '../../src/onnx/proto/onnx.js';
import { cloneModel, type Model } from '../../src/onnx/model.js';

/** A copy of the model that also returns the named float tensors (those not already outputs) as graph outputs. */
export function exposeTensors(model: Model, names: readonly string[]): Model {
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const have = new Set(g.output.map((o) => o.name ?? ''));
  g.output.push(...names.filter((name) => !have.has(name)).map((name) => onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({ tensor_type: onnx.TypeProto.Tensor.create({ elem_type: onnx.TensorProto.DataType.FLOAT }) }),
  })));
  return m;
}
