// ConvTranspose: 1-D, 2-D (and 3-D, forward only: tfjs has no gradient for
// it) transposed convolution with groups, strides, dilations, pads,
// output_padding, output_shape and auto_pad.
//
// The full transposed convolution (no padding; size (in-1)*s + (k-1)*d + 1
// per axis) comes from tf.conv2dTranspose; the ONNX output is the window
// [pad_begin, pad_begin + out) of it, zeros outside (output_padding and
// output_shape can ask for more than the full size). Dilation is done by
// spreading the kernel with zeros (util.dilateKernel), which tfjs'
// transposed conv lacks.
import type { Tensor, Tensor4D, Tensor5D } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrInt, attrInts, attrString } from '../../onnx/graph.js';
import { registerOp, unsupported, type Node, type OpContext } from './registry.js';
import { dilateKernel, need, toChannelsFirstPerm, toChannelsLastPerm } from './util.js';

/** Full transposed convolution of a channels-last input with an ONNX weight [C, M/group, k...]. */
function fullTransposed(tf: Tf, x: Tensor, w: Tensor, strides: number[], group: number): Tensor {
  const spatial = x.rank - 2;
  const xs = group === 1 ? [x] : tf.split(x, group, x.rank - 1);
  const ws = group === 1 ? [w] : tf.split(w, group, 0);
  const outs = xs.map((xi, g) => {
    const wi = ws[g]!;
    const k = wi.shape.slice(2);
    const full = xi.shape.slice(1, -1).map((n, i) => (n - 1) * strides[i]! + k[i]!);
    const outDepth = wi.shape[1]!;
    if (spatial === 2) {
      const filter = tf.transpose(wi, [2, 3, 1, 0]) as Tensor4D;
      return tf.conv2dTranspose(xi as Tensor4D, filter, [xi.shape[0]!, full[0]!, full[1]!, outDepth], strides as [number, number], 'valid');
    }
    const filter = tf.transpose(wi, [2, 3, 4, 1, 0]) as Tensor5D;
    return tf.conv3dTranspose(xi as Tensor5D, filter, [xi.shape[0]!, full[0]!, full[1]!, full[2]!, outDepth], strides as [number, number, number], 'valid');
  });
  return outs.length === 1 ? outs[0]! : tf.concat(outs, x.rank - 1);
}

function convTranspose(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  let x = need(node, inputs, 0);
  let w = need(node, inputs, 1);
  const b = inputs[2];
  const spatial = x.rank - 2;
  if (spatial < 1 || spatial > 3) unsupported(node, `input of rank ${x.rank}`);
  const group = attrInt(node, 'group', 1);
  const n = spatial;
  const inSize = x.shape.slice(2);
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const outPadding = attrInts(node, 'output_padding') ?? new Array<number>(n).fill(0);
  let outputShape = attrInts(node, 'output_shape');
  if (outputShape && outputShape.length === n + 2) outputShape = outputShape.slice(2);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const kernel = w.shape.slice(2);
  const dk = kernel.map((k, i) => (k - 1) * dilations[i]! + 1);
  const full = inSize.map((s, i) => (s - 1) * strides[i]! + dk[i]!);

  const padBegin: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = outputShape ? outputShape[i]! : inSize[i]! * strides[i]!;
      const total = full[i]! + outPadding[i]! - o;
      const half = Math.floor(total / 2);
      padBegin.push(autoPad === 'SAME_UPPER' ? half : total - half);
      out.push(o);
    } else if (autoPad === 'VALID') {
      padBegin.push(0);
      out.push(full[i]! + outPadding[i]!);
    } else {
      padBegin.push(pads[i]!);
      out.push(full[i]! + outPadding[i]! - pads[i]! - pads[n + i]!);
    }
  }

  for (let i = 0; i < n; i++) w = dilateKernel(tf, w, 2 + i, dilations[i]!);
  let st = strides.slice();
  if (n === 1) {
    x = tf.expandDims(x, 2);
    w = tf.expandDims(w, 2);
    st = [1, ...st];
  }
  const rank = x.rank;
  let y = fullTransposed(tf, tf.transpose(x, toChannelsLastPerm(rank)), w, st, group);
  if (n === 1) y = tf.squeeze(y, [1]);

  // Window [padBegin, padBegin + out) of the full output, zeros outside it.
  const extra: [number, number][] = [[0, 0]];
  const begin = [0];
  const size = [y.shape[0]!];
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, -padBegin[i]!);
    const hi = Math.max(0, padBegin[i]! + out[i]! - full[i]!);
    extra.push([lo, hi]);
    begin.push(padBegin[i]! + lo);
    size.push(out[i]!);
  }
  extra.push([0, 0]);
  begin.push(0);
  size.push(y.shape[y.rank - 1]!);
  if (extra.some(([lo, hi]) => lo > 0 || hi > 0)) y = tf.pad(y, extra);
  y = tf.slice(y, begin, size);
  if (b) y = tf.add(y, b);
  return [tf.transpose(y, toChannelsFirstPerm(y.rank))];
}

registerOp('ConvTranspose', convTranspose, {
  check: (node) => {
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    return ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad) ? undefined : `auto_pad '${autoPad}'`;
  },
});
