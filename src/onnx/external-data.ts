// Writing a model with ONNX external data: protobuf cannot encode a message
// over 2 GB, so a large model keeps its large tensors in a side file next to
// the model (`location` relative to the model's folder, `offset`, `length`),
// as onnx.save(..., save_as_external_data=True) does. Reading them back is in
// model.ts (loadModel resolves them into the model).
import { onnx } from './proto/onnx.js';
import { allTensors, encodeModel, type Model } from './model.js';

export interface ExternalDataOptions {
  /** The side file's name, relative to the model's folder. */
  location: string;
  /** Tensors with at least this many bytes move to the side file; smaller ones stay inline. */
  minTensorBytes: number;
}

export interface SplitModel {
  /** The .onnx file: the model with the moved tensors pointing into `data`. */
  model: Uint8Array;
  /** The side file: the moved tensors' bytes, each at an offset aligned to ALIGN. */
  data: Uint8Array;
  /** How many tensors moved. */
  moved: number;
}

/** Offsets in the side file are multiples of this, so a reader may map tensors straight from it. */
const ALIGN = 64;

/**
 * The model's encoding with every raw-data tensor of at least
 * `minTensorBytes` moved to the side file. The model is not changed: its
 * tensors (shared with other models built from the same FP32 model) are
 * edited for the encoding and restored before this returns.
 */
export function splitExternalData(model: Model, opts: ExternalDataOptions): SplitModel {
  const moved: { t: onnx.ITensorProto; raw: Uint8Array; saved: Saved }[] = [];
  const seen = new Set<onnx.ITensorProto>();
  let size = 0;
  for (const t of allTensors(model.graph)) {
    const raw = t.raw_data;
    if (seen.has(t) || !raw || raw.length < opts.minTensorBytes || t.data_location === onnx.TensorProto.DataLocation.EXTERNAL) continue;
    seen.add(t);
    const offset = Math.ceil(size / ALIGN) * ALIGN;
    moved.push({ t, raw, saved: save(t) });
    t.external_data = [
      { key: 'location', value: opts.location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    size = offset + raw.length;
  }
  try {
    const data = new Uint8Array(size);
    for (const m of moved) {
      data.set(m.raw, Number(m.t.external_data![1].value));
      m.t.raw_data = new Uint8Array(0);
      m.t.data_location = onnx.TensorProto.DataLocation.EXTERNAL;
    }
    return { model: encodeModel(model), data, moved: moved.length };
  } finally {
    for (const m of moved) restore(m.t, m.raw, m.saved);
  }
}

const FIELDS = ['data_location', 'external_data'] as const;
type Saved = Partial<Record<(typeof FIELDS)[number], unknown>>;

/** The fields the split edits, as own properties: protobufjs encodes a field that is set, even to its default. */
function save(t: onnx.ITensorProto): Saved {
  const s: Saved = {};
  for (const f of FIELDS) if (Object.prototype.hasOwnProperty.call(t, f)) s[f] = t[f];
  return s;
}

function restore(t: onnx.ITensorProto, raw: Uint8Array, saved: Saved): void {
  t.raw_data = raw;
  for (const f of FIELDS) {
    if (f in saved) (t as Record<string, unknown>)[f] = saved[f];
    else delete (t as Record<string, unknown>)[f];
  }
}
