// Writing an ONNX model file, for models the tests and benchmarks build or
// edit (qtool's stages encode their models themselves and write them with
// their other artifacts).
import { encodeModel, type Model } from '../../src/onnx/model.js';
import { writeFileAtomic } from '../../src/util/files.js';

/** Writes the model atomically and returns the bytes written. */
export function saveModel(model: Model, path: string): Uint8Array {
  const bytes = encodeModel(model);
  writeFileAtomic(path, bytes);
  return bytes;
}
