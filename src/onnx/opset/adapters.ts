// What to do with each op at each version where it changed (./versions.ts),
// up to 13: an adapter that rewrites the node (./adapters/), or nothing
// because the change kept the meaning of every model that was valid before
// (new element types, new attributes whose default is the old behaviour,
// negative axes, multidirectional broadcasting where there was
// unidirectional). An op changed at a version listed in neither table has no
// adapter, and a model using it cannot be upgraded (LSTM/GRU/RNN 7, Scan 9,
// MaxUnpool 11, Cast 6, Tile 6 and Split 2 among them).
import type { Adapter } from './adapters/adapter.js';
import {
  axesAttributeToInput, clipAttributesToInputs, dropoutRatioToInput, padAttributesToInputs, padRenamePaddings,
  reshapeShapeToInput, sliceAttributesToInputs, splitAttributeToInput, topKAttributeToInput, upsampleScalesToInput,
} from './adapters/attributes-to-inputs.js';
import {
  concatAxisRequired, dropConsumedInputs, dropGemmBroadcast, dropIsTest, dropSpatial, scatterToScatterElements,
} from './adapters/removed-attributes.js';
import { numpyBroadcast, preluChannelSlope } from './adapters/broadcast.js';
import { resizeTo11, resizeTo13, upsampleToResize } from './adapters/resize.js';
import { flattenedSoftmaxTo13 } from './adapters/softmax.js';

/** Versions whose change needs a rewrite, by op. */
const ADAPTERS: Readonly<Record<string, Readonly<Record<number, Adapter>>>> = {
  Add: { 7: numpyBroadcast }, Sub: { 7: numpyBroadcast }, Mul: { 7: numpyBroadcast }, Div: { 7: numpyBroadcast },
  Pow: { 7: numpyBroadcast }, And: { 7: numpyBroadcast }, Or: { 7: numpyBroadcast }, Xor: { 7: numpyBroadcast },
  Equal: { 7: numpyBroadcast }, Greater: { 7: numpyBroadcast }, Less: { 7: numpyBroadcast },
  BatchNormalization: { 7: dropIsTest, 9: dropSpatial },
  Clip: { 11: clipAttributesToInputs },
  Concat: { 4: concatAxisRequired },
  Dropout: { 7: dropIsTest, 12: dropoutRatioToInput },
  Gemm: { 7: dropGemmBroadcast },
  Hardmax: { 13: flattenedSoftmaxTo13 },
  LogSoftmax: { 13: flattenedSoftmaxTo13 },
  Pad: { 2: padRenamePaddings, 11: padAttributesToInputs },
  PRelu: { 7: preluChannelSlope },
  ReduceSum: { 13: axesAttributeToInput },
  Reshape: { 5: reshapeShapeToInput },
  Resize: { 11: resizeTo11, 13: resizeTo13 },
  Scatter: { 11: scatterToScatterElements },
  Slice: { 10: sliceAttributesToInputs },
  Softmax: { 13: flattenedSoftmaxTo13 },
  Split: { 13: splitAttributeToInput },
  Squeeze: { 13: axesAttributeToInput },
  TopK: { 10: topKAttributeToInput },
  Unsqueeze: { 13: axesAttributeToInput },
  Upsample: { 9: upsampleScalesToInput, 10: upsampleToResize },
};

/** Ops whose version 6 only removed the `consumed_inputs` attribute (an optimisation hint). */
const CONSUMED_INPUTS_AT_6 = new Set([
  'Abs', 'Add', 'BatchNormalization', 'Ceil', 'Clip', 'Div', 'Dropout', 'Elu', 'Exp', 'Floor', 'HardSigmoid',
  'InstanceNormalization', 'LeakyRelu', 'Log', 'Max', 'Mean', 'Min', 'Mul', 'Neg', 'PRelu', 'Reciprocal', 'Relu',
  'Selu', 'Sigmoid', 'Sqrt', 'Sub', 'Sum', 'Tanh',
]);

/** Versions whose change keeps every earlier model's meaning (ONNX's converter registers them as compatible). */
const COMPATIBLE: Readonly<Record<string, readonly number[]>> = {
  Abs: [13], Add: [13], ArgMax: [11, 12, 13], ArgMin: [11, 12, 13], AveragePool: [7, 10, 11], Cast: [9, 13],
  Ceil: [13], Clip: [12, 13], Compress: [11], Concat: [11, 13], Constant: [9, 11, 12, 13], Conv: [11],
  ConvTranspose: [11], DepthToSpace: [11, 13], DequantizeLinear: [13], Div: [13], Dropout: [10, 13],
  Equal: [11, 13], Erf: [13], Exp: [13], Expand: [13], Flatten: [9, 11, 13], Floor: [13], Gather: [11, 13],
  GatherElements: [13], GatherND: [12, 13], Gemm: [9, 11, 13], Greater: [9, 13], Hardmax: [11], Identity: [13],
  If: [11, 13], IsNaN: [13], LRN: [13], Less: [9, 13], Log: [13], LogSoftmax: [11], Loop: [11, 13], LpPool: [11],
  MatMul: [9, 13], Max: [8, 12, 13], MaxPool: [8, 10, 11, 12], Mean: [8, 13], MeanVarianceNormalization: [13],
  Min: [8, 12, 13], Mod: [13], Mul: [13], Neg: [13], NegativeLogLikelihoodLoss: [13], NonMaxSuppression: [11],
  NonZero: [13], OneHot: [11], PRelu: [9], Pad: [13], Pow: [12, 13], QuantizeLinear: [13], Reciprocal: [13],
  ReduceL1: [11, 13], ReduceL2: [11, 13], ReduceLogSum: [11, 13], ReduceLogSumExp: [11, 13], ReduceMax: [11, 12, 13],
  ReduceMean: [11, 13], ReduceMin: [11, 12, 13], ReduceProd: [11, 13], ReduceSum: [11], ReduceSumSquare: [11, 13],
  Relu: [13], Reshape: [13], Scan: [11], ScatterElements: [13], ScatterND: [13], Shape: [13], Sigmoid: [13],
  Sign: [13], Size: [13], Slice: [11, 13], Softmax: [11], SoftmaxCrossEntropyLoss: [13], SpaceToDepth: [13],
  Split: [11], Sqrt: [13], Squeeze: [11], Sub: [13], Sum: [8, 13], Tanh: [13], Tile: [13], TopK: [11],
  Transpose: [13], Unsqueeze: [11],
};

/** What the change of `op` at `version` needs: an adapter, 'compatible', or undefined when qtool has none. */
export function stepFor(op: string, version: number): Adapter | 'compatible' | undefined {
  const adapter = ADAPTERS[op]?.[version] ?? (version === 6 && CONSUMED_INPUTS_AT_6.has(op) ? dropConsumedInputs : undefined);
  if (adapter) return adapter;
  return COMPATIBLE[op]?.includes(version) ? 'compatible' : undefined;
}
