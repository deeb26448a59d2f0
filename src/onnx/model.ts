// Loading and saving ModelProto. Decoding errors become one-line input errors
// that name the file; a graph that cannot run (a cycle, a tensor nothing
// defines) is refused when the model is loaded; weights stored as external
// data are read from beside the model file; saving is atomic.
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { onnx } from './proto/onnx.js';
import { graphInputs, graphProblem } from './graph.js';
import { elemBytes, dimsOf, sizeOf } from './tensor.js';
import { fileError } from '../util/errors.js';
import { isStaged, readInputFile, resolveStaged, sha256 } from '../util/files.js';

export type Model = onnx.ModelProto;

export interface LoadedModel {
  path: string;
  /** The model with every tensor inside it (external data read in), as onnxruntime gets it. */
  bytes: Uint8Array;
  /** Of the file; for a model with external data, of `bytes` (weights included). */
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
  const problem = graphProblem(g);
  if (problem) throw fileError(path, `invalid graph: ${problem}`);
  return model;
}

export function loadModel(path: string): LoadedModel {
  const file = readInputFile(path);
  const model = decodeModel(file, path);
  if (readExternalData(model, path) === 0) return { path, bytes: file, sha256: sha256(file), model };
  const bytes = encodeModel(model);
  return { path, bytes, sha256: sha256(bytes), model };
}

/** Every TensorProto of the model: initializers, Constant values, sparse tensors, in subgraphs too. */
export function* allTensors(g: onnx.IGraphProto | null | undefined): Generator<onnx.ITensorProto> {
  if (!g) return;
  yield* g.initializer ?? [];
  for (const s of g.sparse_initializer ?? []) {
    if (s.values) yield s.values;
    if (s.indices) yield s.indices;
  }
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) yield a.t;
      yield* a.tensors ?? [];
      if (a.sparse_tensor?.values) yield a.sparse_tensor.values;
      if (a.g) yield* allTensors(a.g);
      for (const sg of a.graphs ?? []) yield* allTensors(sg);
    }
  }
}

const inside = (dir: string, p: string) => {
  const rel = relative(dir, p);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
};

/**
 * Reads the weights a model keeps in external files into the model (ONNX's
 * external data: `location` relative to the model file, `offset`, `length`,
 * optional SHA-1 `checksum`), so that everything after sees one
 * self-contained model. A location outside the model's folder (absolute,
 * `..`, or a symbolic link leading out) is refused, and so is a byte range
 * beyond the end of the file or of another size than the tensor's. Returns
 * how many tensors were read in.
 */
function readExternalData(model: Model, modelPath: string): number {
  const dir = dirname(resolve(modelPath));
  let n = 0;
  for (const t of allTensors(model.graph)) {
    if (t.data_location !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const what = `tensor '${t.name}': external data`;
    const kv = new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw fileError(modelPath, `${what} has no location`);
    if (isAbsolute(location)) throw fileError(modelPath, `${what} is at the absolute path '${location}'; it must be a path relative to the model's folder`);
    const file = resolve(dir, location);
    if (!inside(dir, file)) throw fileError(modelPath, `${what} location '${location}' leaves the model's folder`);
    // A side file this process wrote and has not committed yet (qtool run) is read from its temporary file.
    if (!isStaged(file)) {
      try {
        if (!statSync(file).isFile()) throw new Error('not a file');
        if (!inside(realpathSync(dir), realpathSync(file))) throw fileError(modelPath, `${what} location '${location}' leads out of the model's folder (a symbolic link)`);
      } catch (e) {
        if ((e as Error).name === 'InputError') throw e;
        throw fileError(modelPath, `${what} file '${location}' is missing beside the model (${file})`);
      }
    }
    const number = (key: string, fallback: number) => {
      const v = kv.has(key) ? Number(kv.get(key)) : fallback;
      if (!Number.isSafeInteger(v) || v < 0) throw fileError(modelPath, `${what} ${key} '${kv.get(key)}' is not a byte count`);
      return v;
    };
    const fd = openSync(resolveStaged(file), 'r');
    try {
      const size = fstatSync(fd).size;
      const offset = number('offset', 0);
      const length = number('length', Math.max(0, size - offset));
      if (offset + length > size) {
        throw fileError(modelPath, `${what} bytes [${offset}, ${offset + length}) lie beyond the end of '${location}' (${size} bytes)`);
      }
      const per = elemBytes(t.data_type ?? 0);
      if (per !== undefined && length !== per * sizeOf(dimsOf(t))) {
        throw fileError(modelPath, `${what} is ${length} bytes long, the tensor's dims [${dimsOf(t).join(',')}] need ${per * sizeOf(dimsOf(t))}`);
      }
      const bytes = new Uint8Array(length);
      for (let at = 0; at < length;) {
        const got = readSync(fd, bytes, at, length - at, offset + at);
        if (got === 0) throw fileError(modelPath, `${what}: '${location}' ended early`);
        at += got;
      }
      const checksum = kv.get('checksum');
      if (checksum && createHash('sha1').update(bytes).digest('hex') !== checksum.toLowerCase()) {
        throw fileError(modelPath, `${what} in '${location}' does not match its recorded checksum`);
      }
      t.raw_data = bytes;
    } finally {
      closeSync(fd);
    }
    // Unset rather than set to their defaults (protobufjs encodes a set field): the model then encodes, and hashes, as the same model stored inline.
    delete t.data_location;
    delete t.external_data;
    n++;
  }
  return n;
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

/** The model with these initializers replaced by name, every node shared (a plan made on `model` still points at them). */
export function withInitializers(model: Model, replaced: ReadonlyMap<string, onnx.TensorProto>): Model {
  const m = onnx.ModelProto.create({ ...model });
  const g = model.graph!;
  m.graph = onnx.GraphProto.create({ ...g, initializer: (g.initializer ?? []).map((t) => replaced.get(t.name ?? '') ?? t) });
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
