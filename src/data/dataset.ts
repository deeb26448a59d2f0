// A dataset is one array per model input, samples on axis 0. Everything a
// forward pass would trip over later (names, shapes, dtypes, NaN) is checked
// here, once, with an error that names the file.
import { extname } from 'node:path';
import { fileError } from '../util/errors.js';
import type { Dim, ValueSpec } from '../onnx/graph.js';
import { readNpy, type NdArray } from './npy.js';
import { readNpz } from './npz.js';
import { checkFinite, convertForInput } from './convert.js';

export interface DatasetInput {
  spec: ValueSpec;
  /** Converted to spec.type (when known), C order, samples on axis 0. */
  array: NdArray;
}

export interface Dataset {
  path: string;
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

/** Reads `.npy` (single-input models) or `.npz` (one array per input) and checks it against `inputs`. */
export function loadDataset(path: string, inputs: ValueSpec[]): Dataset {
  if (inputs.length === 0) throw new Error('loadDataset: the model has no inputs'); // decodeModel rejects such models
  const arrays = readArrays(path, inputs);
  const pairs = inputs.map((spec) => ({ spec, array: arrays.get(spec.name)! }));

  for (const { spec, array } of pairs) checkShape(path, spec, array);
  const count = pairs[0]!.array.shape[0]!;
  for (const { spec, array } of pairs) {
    if (array.shape[0] !== count) {
      throw fileError(path, `arrays disagree on the sample count (axis 0): '${pairs[0]!.spec.name}' has ${count}, '${spec.name}' has ${array.shape[0]}`);
    }
  }
  if (count === 0) throw fileError(path, 'holds no samples (axis 0 has length 0)');
  const fixedBatch = fixedBatchOf(path, inputs, count);

  const converted = pairs.map(({ spec, array }) => {
    const out = convertForInput(array, spec.type, path, spec.name);
    checkFinite(out, path, spec.name);
    return { spec, array: out };
  });
  return fixedBatch === undefined ? { path, count, inputs: converted } : { path, count, inputs: converted, fixedBatch };
}

/** Input name -> array, after checking that the file's arrays are exactly the model's inputs. */
function readArrays(path: string, inputs: ValueSpec[]): Map<string, NdArray> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    if (inputs.length !== 1) {
      throw fileError(path, `the model has ${inputs.length} inputs (${quoted(inputs.map((i) => i.name))}); pass an .npz whose array names are the input names`);
    }
    return new Map([[inputs[0]!.name, readNpy(path)]]);
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
    return arrays;
  }
  throw fileError(path, `unsupported data file type '${ext || '(none)'}'; use .npy (one model input) or .npz (one array per model input)`);
}

function checkShape(path: string, spec: ValueSpec, array: NdArray): void {
  const misfit = (): never => {
    throw fileError(path, `shape [${array.shape.join(',')}] does not fit input '${spec.name}' of shape ${dimsText(spec.dims)}`);
  };
  // Samples live on axis 0, so a scalar cannot be a dataset whatever the model says.
  if (array.shape.length === 0) misfit();
  if (!spec.dims) return;
  if (spec.dims.length !== array.shape.length) misfit();
  for (let a = 1; a < spec.dims.length; a++) {
    const want = fixedDim(spec.dims[a]!);
    if (want !== undefined && array.shape[a] !== want) misfit();
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
