// A dataset is one array per model input, samples on axis 0. Everything a
// forward pass would trip over later (names, shapes, dtypes, NaN) is checked
// here, once, with an error that names the file.
//
// A .npz is read whole (its members may be compressed) and batches are views
// of it. A .npy stays on disk: loadDataset checks it by streaming over it in
// bounded chunks, and every batch is read (and converted) when asked for, so
// memory does not grow with the size of the dataset. An image folder
// (image-folder.ts) and a text file (text-dataset.ts) are datasets too: their
// samples are decoded or tokenized by the source, then checked the same way.
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { fileError } from '../util/errors.js';
import { embeddingRows, graphInputs, type Dim, type Graph, type ValueSpec } from '../onnx/graph.js';
import { sizeOf, type TypedArray } from '../onnx/tensor.js';
import { dtypeBytes, openNpy, readNpyElements, readNpyRows, type NdArray, type NpyDtype, type NpyFile } from './npy.js';
import { readNpz } from './npz.js';
import { openImageFolder } from './image-folder.js';
import { openTextFile, TEXT_EXTENSIONS } from './text-dataset.js';
import { checkConvertible, checkFinite, convertForInput, convertedType, convertValues, NonFiniteCount } from './convert.js';

export interface DatasetInput {
  spec: ValueSpec;
  /** Element type of every batch: spec.type when known, else the file's dtype. */
  type: NpyDtype;
  /** Shape of the whole array, samples on axis 0. */
  shape: number[];
  /**
   * 'memory': the array was read whole (.npz) and rows() returns views of it.
   * 'disk': the samples stay in the .npy file and rows() reads them on each call.
   */
  source: 'memory' | 'disk';
  /**
   * Samples [start, start + size) as one C-order array of `type`. From memory:
   * a view (subarray) of the dataset's array, not to be written to. From disk:
   * a fresh array per call, read and converted then, which the caller owns.
   */
  rows(start: number, size: number): TypedArray;
}

/** Labels a data source gives itself (an image folder's class subfolders). */
export interface FolderLabels {
  values: Int32Array;
  /** Class names by class id. */
  classes: string[];
  /** Where they come from (the folder), for messages and reports. */
  source: string;
}

/** How to read data that is not arrays: an image folder's preprocessing, a text file's tokenizer. */
export interface DataSourceOptions {
  /** A preprocessing JSON file, or the spec itself (the config's data.preprocess). */
  preprocess?: string | object;
  /** Names an inline spec in errors (the config file and key). */
  preprocessWhere?: string;
  /** A Hugging Face tokenizer.json. */
  tokenizer?: string;
  /** Pad and truncate every text to this many tokens (overrides the tokenizer file's). */
  maxLength?: number;
  /** Input name -> rows of the embedding it indexes (embeddingRows), to refuse a tokenizer for another model. */
  vocabRows?: Map<string, number>;
}

export interface Dataset {
  path: string;
  /** The source's own labels, if it has them (an image folder with class subfolders). */
  labels?: FolderLabels;
  /** Number of samples (axis 0 of every array). */
  count: number;
  /** In the model's input order. */
  inputs: DatasetInput[];
  /** Set when the model fixes axis 0: every batch must have exactly this size. */
  fixedBatch?: number;
}

/** Only positive numbers pin a dimension; names, null, 0 and -1 all mean "free". */
function fixedDim(d: Dim): number | undefined {
  return typeof d === 'number' && d > 0 ? d : undefined;
}

export function dimsText(dims: readonly Dim[] | null): string {
  return dims ? `[${dims.map((d) => d ?? '?').join(',')}]` : '[?]';
}

const quoted = (names: string[]): string => names.map((n) => `'${n}'`).join(', ');

/**
 * Reads `.npy` (single-input models), `.npz` (one array per input), an image
 * folder (with `source.preprocess`) or a text file (with `source.tokenizer`)
 * and checks it against `inputs`.
 */
export function loadDataset(path: string, inputs: ValueSpec[], source: DataSourceOptions = {}): Dataset {
  if (inputs.length === 0) throw new Error('loadDataset: the model has no inputs'); // decodeModel rejects such models
  if (isDirectory(path)) return imageDataset(path, inputs, source);
  if (TEXT_EXTENSIONS.includes(extname(path).toLowerCase())) return textDataset(path, inputs, source);
  const sources = openSources(path, inputs);
  const pairs = inputs.map((spec) => ({ spec, src: sources.get(spec.name)! }));

  for (const { spec, src } of pairs) checkShape(path, spec, src.shape);
  const count = pairs[0]!.src.shape[0]!;
  for (const { spec, src } of pairs) {
    if (src.shape[0] !== count) {
      throw fileError(path, `arrays disagree on the sample count (axis 0): '${pairs[0]!.spec.name}' has ${count}, '${spec.name}' has ${src.shape[0]}`);
    }
  }
  if (count === 0) throw fileError(path, 'holds no samples (axis 0 has length 0)');
  const fixedBatch = fixedBatchOf(path, inputs, count);

  const checked = pairs.map(({ spec, src }) => (src.kind === 'memory' ? memoryInput(path, spec, src.array) : diskInput(path, spec, src.file)));
  return fixedBatch === undefined ? { path, count, inputs: checked } : { path, count, inputs: checked, fixedBatch };
}

function imageDataset(path: string, inputs: ValueSpec[], source: DataSourceOptions): Dataset {
  if (inputs.length !== 1) {
    throw fileError(path, `is an image folder, which feeds one input; the model has ${inputs.length} (${quoted(inputs.map((i) => i.name))})`);
  }
  const { count, input, labels } = openImageFolder(path, inputs[0]!, source.preprocess, source.preprocessWhere);
  return checkedSource(path, inputs, count, [input], labels);
}

function textDataset(path: string, inputs: ValueSpec[], source: DataSourceOptions): Dataset {
  if (source.tokenizer === undefined) throw fileError(path, 'is a text file; give --tokenizer tokenizer.json (or data.tokenizer in the config)');
  const { count, arrays } = openTextFile(path, inputs, source.tokenizer, source.maxLength, source.vocabRows);
  return checkedSource(path, inputs, count, inputs.map((spec) => memoryInput(path, spec, arrays.get(spec.name)!)));
}

/** A source's inputs after the checks every dataset gets. */
function checkedSource(path: string, specs: ValueSpec[], count: number, inputs: DatasetInput[], labels?: FolderLabels): Dataset {
  specs.forEach((spec, k) => checkShape(path, spec, inputs[k]!.shape));
  const fixedBatch = fixedBatchOf(path, specs, count);
  return { path, count, inputs, ...(fixedBatch !== undefined && { fixedBatch }), ...(labels && { labels }) };
}

/** loadDataset for `graph`'s inputs, with what a text source checks against the model. */
export function loadModelDataset(path: string, graph: Graph, source: DataSourceOptions = {}): Dataset {
  return loadDataset(path, graphInputs(graph), { ...source, vocabRows: embeddingRows(graph) });
}

/** Bytes of file data (and, separately, of converted data) one validation step holds at most. */
export const CHECK_CHUNK_BYTES = 8 * 2 ** 20;

function checkRows(input: DatasetInput, start: number, size: number): void {
  const rows = input.shape[0]!;
  if (!Number.isInteger(start) || !Number.isInteger(size) || start < 0 || size < 0 || start + size > rows) {
    throw new RangeError(`rows: samples [${start}, ${start + size}) outside 0..${rows} of input '${input.spec.name}'`);
  }
}

/** An input read whole: converted and checked now, batches are views. */
function memoryInput(path: string, spec: ValueSpec, array: NdArray): DatasetInput {
  const out = convertForInput(array, spec.type, path, spec.name);
  checkFinite(out, path, spec.name);
  const per = sizeOf(out.shape.slice(1));
  const input: DatasetInput = {
    spec, type: out.dtype, shape: out.shape, source: 'memory',
    rows: (start, size) => {
      checkRows(input, start, size);
      return out.data.subarray(start * per, (start + size) * per);
    },
  };
  return input;
}

/**
 * An input left on disk: every value is converted and checked now, chunk by
 * chunk (errors give indexes in the whole file), and read again per batch.
 */
function diskInput(path: string, spec: ValueSpec, file: NpyFile): DatasetInput {
  checkConvertible(file.dtype, spec.type, path, spec.name);
  const type = convertedType(file.dtype, spec.type);
  const elemBytes = Math.max(dtypeBytes(file.dtype), dtypeBytes(type));
  const chunk = Math.max(1, Math.floor(CHECK_CHUNK_BYTES / elemBytes));
  const total = sizeOf(file.shape);
  const nonFinite = new NonFiniteCount();
  for (let e = 0; e < total; e += chunk) {
    const n = Math.min(chunk, total - e);
    const values = convertValues(readNpyElements(file, e, n), file.dtype, spec.type, path, spec.name, e);
    nonFinite.add(values, e);
  }
  nonFinite.check(file.shape, path, spec.name);
  const input: DatasetInput = {
    spec, type, shape: file.shape, source: 'disk',
    rows: (start, size) => {
      checkRows(input, start, size);
      return convertValues(readNpyRows(file, start, size), file.dtype, spec.type, path, spec.name, start * file.rowElems);
    },
  };
  return input;
}

type Source = { kind: 'memory'; shape: number[]; array: NdArray } | { kind: 'disk'; shape: number[]; file: NpyFile };

/** Input name -> its array (.npz) or its opened file (.npy), after checking that the file's arrays are exactly the model's inputs. */
function openSources(path: string, inputs: ValueSpec[]): Map<string, Source> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    if (inputs.length !== 1) {
      throw fileError(path, `the model has ${inputs.length} inputs (${quoted(inputs.map((i) => i.name))}); pass an .npz whose array names are the input names`);
    }
    const file = openNpy(path);
    return new Map([[inputs[0]!.name, { kind: 'disk', shape: file.shape, file }]]);
  }
  if (ext === '.npz') {
    const arrays = readNpz(path);
    const missing = inputs.map((i) => i.name).filter((n) => !arrays.has(n));
    const names = new Set(inputs.map((i) => i.name));
    const unexpected = [...arrays.keys()].filter((n) => !names.has(n));
    if (missing.length || unexpected.length) {
      const parts = [missing.length ? `missing ${quoted(missing)}` : '', unexpected.length ? `unexpected ${quoted(unexpected)}` : ''];
      throw fileError(path, `array names must equal the model's input names (${quoted([...names])}): ${parts.filter(Boolean).join('; ')}`);
    }
    return new Map([...arrays].map(([name, array]) => [name, { kind: 'memory', shape: array.shape, array }]));
  }
  throw fileError(path, `unsupported data file type '${ext || '(none)'}'; use .npy (one model input), .npz (one array per model input), an image folder or a text file (${TEXT_EXTENSIONS.join(', ')})`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function checkShape(path: string, spec: ValueSpec, shape: readonly number[]): void {
  const misfit = (): never => {
    throw fileError(path, `shape [${shape.join(',')}] does not fit input '${spec.name}' of shape ${dimsText(spec.dims)}`);
  };
  // Samples live on axis 0, so a scalar cannot be a dataset whatever the model says.
  if (shape.length === 0) misfit();
  if (!spec.dims) return;
  if (spec.dims.length !== shape.length) misfit();
  for (let a = 1; a < spec.dims.length; a++) {
    const want = fixedDim(spec.dims[a]!);
    if (want !== undefined && shape[a] !== want) misfit();
  }
}

/** The model's fixed axis-0 size, if any; the sample count must split into such batches. */
function fixedBatchOf(path: string, inputs: ValueSpec[], count: number): number | undefined {
  const fixed = [...new Set(inputs.map((i) => (i.dims ? fixedDim(i.dims[0]!) : undefined)).filter((d) => d !== undefined))];
  if (fixed.length === 0) return undefined;
  if (fixed.length > 1) throw fileError(path, `the model's inputs fix different batch sizes (${fixed.join(', ')}); qtool cannot batch them together`);
  const b = fixed[0]!;
  // A short last batch cannot be fed; dropping or padding it would silently change the results.
  if (count % b !== 0) {
    throw fileError(path, `${count} samples do not split into batches of ${b}, the model's fixed batch size; use a multiple of ${b} samples or export the model with a dynamic batch axis`);
  }
  return b;
}
