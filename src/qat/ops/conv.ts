// Conv: 1-D, 2-D and 3-D convolution with groups (depthwise included), pads
// and auto_pad, strides and dilations. ONNX is channels-first, tfjs convs are
// channels-last: the input is transposed to N...C, padded explicitly, convolved
// with 'valid' padding and transposed back. 1-D runs as 2-D with height 1.
import type { Tensor, Tensor4D, Tensor5D } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrInt } from '../../onnx/graph.js';
import { registerOp, invalid, unsupported, type Node, type OpContext } from './registry.js';
import { conv2dCpu } from './conv-cpu.js';
import { anyPad, channelsLastPaddings, dilateKernel, need, toChannelsFirstPerm, toChannelsLastPerm, windowAttrs } from './util.js';

/**
 * Convolution of a channels-last, already padded input with an ONNX weight
 * [M, C/group, k...] ('valid' padding). 2 or 3 spatial axes. Dilations are
 * applied to the kernel (util.dilateKernel) so that gradients exist.
 */
export function convChannelsLast(tf: Tf, x: Tensor, w: Tensor, strides: number[], dilations: number[], group: number): Tensor {
  const spatial = x.rank - 2;
  const channels = x.shape[x.rank - 1]!;
  const outChannels = w.shape[0]!;
  for (let i = 0; i < spatial; i++) w = dilateKernel(tf, w, 2 + i, dilations[i]!);
  if (group === 1) return plainConv(tf, x, w, strides);
  if (spatial === 2 && group === channels && w.shape[1] === 1) {
    // Depthwise: output channel c*mult + m reads input channel c, as in tfjs.
    const mult = outChannels / channels;
    const [kh, kw] = [w.shape[2]!, w.shape[3]!];
    const filter = tf.transpose(tf.reshape(w, [channels, mult, kh, kw]), [2, 3, 0, 1]) as Tensor4D;
    return tf.depthwiseConv2d(x as Tensor4D, filter, strides as [number, number], 'valid');
  }
  const xs = tf.split(x, group, x.rank - 1);
  const ws = tf.split(w, group, 0);
  return tf.concat(xs.map((xi, i) => plainConv(tf, xi, ws[i]!, strides)), x.rank - 1);
}

function plainConv(tf: Tf, x: Tensor, w: Tensor, strides: number[]): Tensor {
  if (x.rank === 4) {
    const filter = tf.transpose(w, [2, 3, 1, 0]) as Tensor4D;
    const s = strides as [number, number];
    // The pure-JS backend's own filter gradient is very slow (see conv-cpu.ts).
    return tf.getBackend() === 'cpu' ? conv2dCpu(tf, x as Tensor4D, filter, s) : tf.conv2d(x as Tensor4D, filter, s, 'valid');
  }
  const filter = tf.transpose(w, [2, 3, 4, 1, 0]) as Tensor5D;
  return tf.conv3d(x as Tensor5D, filter, strides as [number, number, number], 'valid');
}

function conv(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  let x = need(node, inputs, 0);
  let w = need(node, inputs, 1);
  const b = inputs[2];
  const spatial = x.rank - 2;
  if (spatial < 1 || spatial > 3) unsupported(node, `input of rank ${x.rank} (1-D, 2-D and 3-D convolutions are supported)`);
  const group = attrInt(node, 'group', 1);
  if (x.shape[1]! !== w.shape[1]! * group) {
    invalid(node, `input has ${x.shape[1]} channels, weight [${w.shape}] with group ${group} expects ${w.shape[1]! * group}`);
  }
  let { strides, dilations, padBegin, padEnd } = windowAttrs(node, x.shape.slice(2), w.shape.slice(2));
  if (padBegin.some((p) => p < 0) || padEnd.some((p) => p < 0)) unsupported(node, 'negative pads');
  if (spatial === 1) {
    x = tf.expandDims(x, 2);
    w = tf.expandDims(w, 2);
    [strides, dilations, padBegin, padEnd] = [[1, ...strides], [1, ...dilations], [0, ...padBegin], [0, ...padEnd]];
  }
  const rank = x.rank;
  let xl = tf.transpose(x, toChannelsLastPerm(rank));
  if (anyPad(padBegin, padEnd)) xl = tf.pad(xl, channelsLastPaddings(padBegin, padEnd));
  let y = convChannelsLast(tf, xl, w, strides, dilations, group);
  if (b) y = tf.add(y, b);
  y = tf.transpose(y, toChannelsFirstPerm(rank));
  if (spatial === 1) y = tf.squeeze(y, [2]);
  return [y];
}

registerOp('Conv', conv, {
  check: (node) => (attrInt(node, 'group', 1) < 1 ? 'group must be >= 1' : undefined),
});
