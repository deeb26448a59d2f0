// Loading, decoding and encoding ModelProto. Decoding errors become one-line
// input errors that name the file.
import { onnx } from './proto/onnx.js';
import { graphInputs } from './graph.js';
import { fileError } from '../util/errors.js';
import { readInputFile, sha256 } from '../util/files.js';

export type Model = onnx.ModelProto;

export interface LoadedModel {
  path: string;
  bytes: Uint8Array;
  sha256: string;
  model: Model;
}

/** Decodes ONNX bytes; `path` only names the source in errors. */
export function decodeModel(bytes: Uint8Array, path: string): Model {
  if (bytes.length === 0) throw fileError(path, 'is empty, expected an ONNX model');
  let model: Model;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const why = String((e as Error).message ?? e);
    const hint = /index out of range/.test(why) ? 'truncated or not an ONNX model' : 'not an ONNX model';
    throw fileError(path, `${hint} (protobuf: ${why})`);
  }
  const g = model.graph;
  if (!g || ((g.node ?? []).length === 0 && (g.output ?? []).length === 0)) {
    throw fileError(path, 'not an ONNX model (no graph)');
  }
  if (model.opset_import.length === 0) throw fileError(path, 'not an ONNX model (no opset_import)');
  if (graphInputs(g).length === 0) throw fileError(path, 'the model has no inputs');
  if ((g.output ?? []).length === 0) throw fileError(path, 'the model has no outputs');
  return model;
}

export function loadModel(path: string): LoadedModel {
  const bytes = readInputFile(path);
  const model = decodeModel(bytes, path);
  return { path, bytes, sha256: sha256(bytes), model };
}

export function encodeModel(model: Model): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A copy whose structure (nodes, their inputs/outputs/attributes, graph inputs,
 * outputs, value infos, the initializer list, metadata) can be edited without
 * touching the caller's model. Initializer tensors are shared, not copied:
 * weights are the bulk of a model, and rewrites replace them rather than
 * mutate them. Subgraphs (If/Loop bodies) are deep-copied.
 */
export function cloneModel(model: Model): Model {
  const m = onnx.ModelProto.create({ ...model });
  m.opset_import = model.opset_import.map((o) => onnx.OperatorSetIdProto.create({ ...o }));
  m.metadata_props = model.metadata_props.map((p) => onnx.StringStringEntryProto.create({ ...p }));
  const g = model.graph!;
  m.graph = onnx.GraphProto.create({
    ...g,
    node: (g.node ?? []).map(cloneNode),
    input: [...(g.input ?? [])],
    output: [...(g.output ?? [])],
    value_info: [...(g.value_info ?? [])],
    initializer: [...(g.initializer ?? [])],
  });
  return m;
}

function cloneNode(n: onnx.INodeProto): onnx.NodeProto {
  const hasSubgraph = (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length);
  if (hasSubgraph) return onnx.NodeProto.decode(onnx.NodeProto.encode(n).finish());
  return onnx.NodeProto.create({
    ...n,
    input: [...(n.input ?? [])],
    output: [...(n.output ?? [])],
    attribute: (n.attribute ?? []).map((a) => onnx.AttributeProto.create({ ...a })),
  });
}

/** The opset version of the default ONNX domain. */
export function opsetVersion(model: Model, domain = ''): number {
  const entry = model.opset_import.find((o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'));
  return entry ? Number(entry.version) : 0;
}
