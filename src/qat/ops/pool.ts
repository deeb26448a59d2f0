// Pooling: MaxPool, AveragePool (1-D, 2-D, 3-D; pads, auto_pad, strides,
// dilations (not 3-D), ceil_mode, count_include_pad), GlobalAveragePool and
// GlobalMaxPool.
//
// The input is transposed to channels-last and padded explicitly (-inf for
// max, 0 for average), then pooled with 'valid' windows. Average pooling
// divides by the number of counted elements per window: the pooled window sum
// over the pooled mask of counted positions (real input, plus the explicit
// pads when count_include_pad=1; never the extra end that ceil_mode adds).
import type { Tensor, Tensor4D, Tensor5D } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrInt, attrInts } from '../../onnx/graph.js';
import { registerOp, unsupported, type Node, type OpContext } from './registry.js';
import { anyPad, channelsLastPaddings, need, takeStrided, toChannelsFirstPerm, toChannelsLastPerm, windowAttrs } from './util.js';

type Kind = 'max' | 'avg';

/** 'valid' pooling of a channels-last tensor with 2 or 3 spatial axes. */
function poolValid(tf: Tf, node: Node, x: Tensor, kind: Kind, kernel: number[], strides: number[], dilations: number[]): Tensor {
  const dilated = dilations.some((d) => d > 1);
  if (x.rank === 5) {
    if (dilated) unsupported(node, 'dilations in 3-D pooling');
    const k = kernel as [number, number, number];
    const s = strides as [number, number, number];
    return kind === 'max' ? tf.maxPool3d(x as Tensor5D, k, s, 'valid') : tf.avgPool3d(x as Tensor5D, k, s, 'valid');
  }
  const k = kernel as [number, number];
  if (!dilated) {
    const s = strides as [number, number];
    return kind === 'max' ? tf.maxPool(x as Tensor4D, k, s, 'valid') : tf.avgPool(x as Tensor4D, k, s, 'valid');
  }
  // tf.pool takes dilations only with stride 1: pool densely, then subsample.
  let y: Tensor = tf.pool(x as Tensor4D, k, kind, 'valid', dilations as [number, number], 1);
  for (let i = 0; i < 2; i++) {
    if (strides[i] === 1) continue;
    y = takeStrided(tf, y, i + 1, 0, Math.ceil(y.shape[i + 1]! / strides[i]!), strides[i]!);
  }
  return y;
}

function pool(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[], kind: Kind): Tensor[] {
  const { tf } = ctx;
  let x = need(node, inputs, 0);
  const spatial = x.rank - 2;
  if (spatial < 1 || spatial > 3) unsupported(node, `input of rank ${x.rank}`);
  const inSpatial = x.shape.slice(2);
  let { kernel, strides, dilations, padBegin, padEnd } = windowAttrs(node, inSpatial);
  const ceil = attrInt(node, 'ceil_mode', 0) !== 0;
  // Extra end padding so that ceil_mode's last (partial) windows exist.
  const extra = inSpatial.map((n, i) => {
    const dk = (kernel[i]! - 1) * dilations[i]! + 1;
    const span = n + padBegin[i]! + padEnd[i]! - dk;
    let out = (ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
    // A window may not start in the end padding (PyTorch's and ONNX Runtime's rule).
    if (ceil && (out - 1) * strides[i]! >= n + padBegin[i]!) out--;
    return Math.max(0, (out - 1) * strides[i]! + dk - (n + padBegin[i]! + padEnd[i]!));
  });
  const isInt = x.dtype !== 'float32';
  if (isInt) x = tf.cast(x, 'float32');
  if (spatial === 1) {
    x = tf.expandDims(x, 2);
    [kernel, strides, dilations, padBegin, padEnd] = [[1, ...kernel], [1, ...strides], [1, ...dilations], [0, ...padBegin], [0, ...padEnd]];
    extra.unshift(0);
  }
  const rank = x.rank;
  const xl = tf.transpose(x, toChannelsLastPerm(rank));
  const end = padEnd.map((p, i) => p + extra[i]!);
  const padded = anyPad(padBegin, end);
  let y: Tensor;
  if (kind === 'max') {
    y = poolValid(tf, node, padded ? tf.pad(xl, channelsLastPaddings(padBegin, end), -Infinity) : xl, kind, kernel, strides, dilations);
  } else {
    y = poolValid(tf, node, padded ? tf.pad(xl, channelsLastPaddings(padBegin, end)) : xl, kind, kernel, strides, dilations);
    const includePad = attrInt(node, 'count_include_pad', 0) !== 0;
    if (padded && !(includePad && extra.every((e) => e === 0))) {
      // Fraction of each window that counts, from a [1, ...spatial, 1] mask.
      let mask: Tensor = tf.ones([1, ...xl.shape.slice(1, -1), 1]);
      if (includePad) mask = tf.pad(mask, channelsLastPaddings(padBegin, padEnd), 1);
      const rest = includePad ? extra : end;
      const begin = includePad ? extra.map(() => 0) : padBegin;
      mask = tf.pad(mask, channelsLastPaddings(begin, rest));
      y = tf.div(y, poolValid(tf, node, mask, kind, kernel, strides, dilations));
    }
  }
  y = tf.transpose(y, toChannelsFirstPerm(rank));
  if (spatial === 1) y = tf.squeeze(y, [2]);
  if (isInt) y = tf.cast(y, 'int32');
  return [y];
}

function globalPool(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[], kind: Kind): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const axes = x.shape.slice(2).map((_, i) => i + 2);
  return [kind === 'max' ? tf.max(x, axes, true) : tf.mean(x, axes, true)];
}

registerOp('MaxPool', (ctx, node, inputs) => pool(ctx, node, inputs, 'max'), {
  check: (node) => {
    if ((node.output ?? [])[1]) return 'the Indices output is not supported';
    return attrInts(node, 'kernel_shape') ? undefined : 'kernel_shape is missing';
  },
});
registerOp('AveragePool', (ctx, node, inputs) => pool(ctx, node, inputs, 'avg'), {
  check: (node) => (attrInts(node, 'kernel_shape') ? undefined : 'kernel_shape is missing'),
});
registerOp('GlobalAveragePool', (ctx, node, inputs) => globalPool(ctx, node, inputs, 'avg'));
registerOp('GlobalMaxPool', (ctx, node, inputs) => globalPool(ctx, node, inputs, 'max'));
