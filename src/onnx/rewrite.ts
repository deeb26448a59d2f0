// Small graph rewrites that do not know about quantization.
import { onnx } from './proto/onnx.js';
import type { Model } from './model.js';

function floatOutputs(names: readonly string[], have: Set<string>): onnx.ValueInfoProto[] {
  return names.filter((n) => !have.has(n)).map((name) => onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({ tensor_type: onnx.TypeProto.Tensor.create({ elem_type: onnx.TensorProto.DataType.FLOAT }) }),
  }));
}

/**
 * The model's bytes with the named float tensors added as graph outputs, for
 * onnxruntime, without re-encoding the weights: the protobuf spec merges a
 * non-repeated embedded message that occurs twice, so appending a ModelProto
 * that holds only `graph { output: [...] }` adds outputs to the graph in
 * onnxruntime's parser (protobufjs replaces instead: these bytes do not decode
 * to the model with the outputs added). Saves serialising the whole model
 * (0.3 s for ResNet-18) before the calibration pass.
 */
export function exposeTensorsInBytes(bytes: Uint8Array, model: Model, names: readonly string[]): Uint8Array {
  const extra = floatOutputs(names, new Set((model.graph?.output ?? []).map((o) => o.name ?? '')));
  const tail = onnx.ModelProto.encode(onnx.ModelProto.create({ graph: onnx.GraphProto.create({ output: extra }) })).finish();
  const out = new Uint8Array(bytes.length + tail.length);
  out.set(bytes, 0);
  out.set(tail, bytes.length);
  return out;
}

/** Every tensor name a node list reads, including the reads of If/Loop/Scan bodies. */
function namesRead(nodes: readonly onnx.INodeProto[], into: Set<string>): Set<string> {
  for (const n of nodes) {
    for (const i of n.input ?? []) into.add(i);
    for (const a of n.attribute ?? []) for (const sub of [a.g, ...(a.graphs ?? [])]) if (sub) namesRead(sub.node ?? [], into);
  }
  return into;
}

/** Removes the initializers (and their graph-input entries) that nothing reads; returns their names. */
export function dropUnusedInitializers(g: onnx.GraphProto): Set<string> {
  const read = namesRead(g.node, new Set(g.output.map((o) => o.name ?? '')));
  const dropped = new Set(g.initializer.filter((t) => !read.has(t.name ?? '')).map((t) => t.name ?? ''));
  if (dropped.size === 0) return dropped;
  g.initializer = g.initializer.filter((t) => !dropped.has(t.name ?? ''));
  g.input = g.input.filter((i) => !dropped.has(i.name ?? ''));
  return dropped;
}
