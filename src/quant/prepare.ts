// The graph that gets quantized, derived from the FP32 model the same way by
// every stage: BatchNormalization folded into the Convs before it (as ONNX
// Runtime's and TensorRT's quantizers do, so the Conv output quantized is the
// one the integer kernel produces and QAT trains the folded weights), then
// calibrate's optional GELU cap.
import type { Model } from '../onnx/model.js';
import { clipGelu, type ClippedActivation } from './clip-activation.js';
import { foldBatchNormReport } from './fold-batchnorm.js';

export interface PreparedGraph {
  model: Model;
  /** The BatchNormalization nodes folded away. */
  foldedBatchNorms: string[];
  /** GELU outputs capped by --clip-activation. */
  clipped: ClippedActivation[];
}

export function prepareForQuantization(model: Model, opts: { clipGelu: number | null }): PreparedGraph {
  const fold = foldBatchNormReport(model);
  const folded = fold.folded.length ? fold.model : model;
  if (opts.clipGelu === null) return { model: folded, foldedBatchNorms: fold.folded, clipped: [] };
  const { model: capped, clipped } = clipGelu(folded, opts.clipGelu);
  return { model: capped, foldedBatchNorms: fold.folded, clipped };
}
