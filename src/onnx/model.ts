// Loading and saving ModelProto. Decoding errors become one-line input errors
// that name the file; saving is atomic.
import { onnx } from './proto/onnx.js';
import { graphInputs } from './graph.js';
import { fileError } from '../util/errors.js';
import { readInputFile, sha256, writeFileAtomic } from '../util/files.js';

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

/** Writes the model atomically and returns the bytes written. */
export function saveModel(model: Model, path: string): Uint8Array {
  const bytes = encodeModel(model);
  writeFileAtomic(path, bytes);
  return bytes;
}

/** A deep copy, so that rewrites never touch the caller's model. */
export function cloneModel(model: Model): Model {
  return onnx.ModelProto.decode(encodeModel(model));
}

/** The opset version of the default ONNX domain. */
export function opsetVersion(model: Model, domain = ''): number {
  const entry = model.opset_import.find((o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'));
  return entry ? Number(entry.version) : 0;
}
