// Writing a model artifact: inline when protobuf can hold it, else as
// `NAME.onnx` plus `NAME.onnx.data` (ONNX external data), both files staged
// and committed with the stage's other artifacts (commit.ts), both in the
// folder's manifest.
import { basename, resolve } from 'node:path';
import { onnx } from '../onnx/proto/onnx.js';
import { splitExternalData } from '../onnx/external-data.js';
import { modelLimitOverride } from '../util/faults.js';
import { writeArtifact } from './commit.js';

/** Protobuf refuses messages over 2 GiB; a margin leaves room for the graph around the weights. */
export const MAX_INLINE_MODEL_BYTES = 1.8e9;
/** Tensors of at least this size move to the side file (onnx.save's default threshold). */
export const MIN_EXTERNAL_TENSOR_BYTES = 1024;

export interface WriteModelOptions {
  maxInlineBytes?: number;
  minTensorBytes?: number;
}

export interface WrittenModel {
  /** The files written: the model, and its side file when it has one. */
  files: string[];
  /** Their bytes added up. */
  sizeBytes: number;
}

/** The side file of a model written at `path`. */
export const externalDataPath = (path: string) => `${path}.data`;

/** Models this process wrote with a side file: resolved model path -> side file. */
const sideFiles = new Map<string, string>();

/** A model file and, when this process wrote it with external data, its side file (for records of what a stage wrote). */
export function modelFiles(path: string): string[] {
  const side = sideFiles.get(resolve(path));
  return side ? [path, side] : [path];
}

export function writeModelArtifact(path: string, bytes: Uint8Array, opts: WriteModelOptions = {}): WrittenModel {
  const limit = opts.maxInlineBytes ?? modelLimitOverride() ?? MAX_INLINE_MODEL_BYTES;
  if (bytes.length <= limit) {
    sideFiles.delete(resolve(path));
    writeArtifact(path, bytes);
    return { files: [path], sizeBytes: bytes.length };
  }
  const dataPath = externalDataPath(path);
  const split = splitExternalData(onnx.ModelProto.decode(bytes), {
    location: basename(dataPath), minTensorBytes: opts.minTensorBytes ?? MIN_EXTERNAL_TENSOR_BYTES,
  });
  writeArtifact(path, split.model);
  writeArtifact(dataPath, split.data);
  sideFiles.set(resolve(path), dataPath);
  return { files: [path, dataPath], sizeBytes: split.model.length + split.data.length };
}
