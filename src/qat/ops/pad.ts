// Pad: modes constant, reflect and edge. Pads are an input (opset >= 11, with
// optional constant_value and, from opset 18, axes) or the `pads` attribute
// (older; `paddings` in opset 1). Negative pads crop.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrFloat, attrInts, attrString } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need, normAxis } from './util.js';

const MODES = ['constant', 'reflect', 'edge'];

/** x[start : start + count] along `axis`. */
function range(tf: Tf, x: Tensor, axis: number, start: number, count: number): Tensor {
  const begin = x.shape.map(() => 0);
  const size = x.shape.slice();
  begin[axis] = start;
  size[axis] = count;
  return tf.slice(x, begin, size);
}

/** Repeats the first (or last) slice of `axis` n times. */
function edgeSlices(tf: Tf, x: Tensor, axis: number, n: number, last: boolean): Tensor {
  const reps = x.shape.map(() => 1);
  reps[axis] = n;
  return tf.tile(range(tf, x, axis, last ? x.shape[axis]! - 1 : 0, 1), reps);
}

/** The n slices next to the first (or last) one, mirrored. */
function reflectSlices(tf: Tf, x: Tensor, axis: number, n: number, last: boolean): Tensor {
  const dim = x.shape[axis]!;
  return tf.reverse(range(tf, x, axis, last ? dim - 1 - n : 1, n), axis);
}

function pad(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  let x = need(node, inputs, 0);
  const r = x.rank;
  const mode = attrString(node, 'mode', 'constant');
  const given = ctx.opset >= 11
    ? ctx.values(need(node, inputs, 1))
    : attrInts(node, ctx.opset < 2 ? 'paddings' : 'pads') ?? invalid(node, 'pads are missing');
  const value = ctx.opset >= 11 ? (inputs[2] ? ctx.values(inputs[2])[0] ?? 0 : 0) : attrFloat(node, 'value', 0);
  const axes = inputs[3] ? ctx.values(inputs[3]).map((a) => normAxis(node, a, r)) : x.shape.map((_, i) => i);
  if (given.length !== 2 * axes.length) invalid(node, `${given.length} pads for ${axes.length} axes`);
  const begin = new Array<number>(r).fill(0);
  const end = new Array<number>(r).fill(0);
  axes.forEach((a, i) => {
    begin[a] = given[i]!;
    end[a] = given[axes.length + i]!;
  });
  // Crop first (negative pads), then pad.
  if (begin.some((p) => p < 0) || end.some((p) => p < 0)) {
    const b = begin.map((p) => Math.max(0, -p));
    const size = x.shape.map((d, i) => d - b[i]! - Math.max(0, -end[i]!));
    x = tf.slice(x, b, size);
  }
  const paddings = begin.map((p, i): [number, number] => [Math.max(0, p), Math.max(0, end[i]!)]);
  if (paddings.every(([lo, hi]) => lo === 0 && hi === 0)) return [x];
  if (mode === 'constant') return [tf.pad(x, paddings, value)];
  // Built from slices rather than tf.mirrorPad, whose gradient drops what
  // flows into the mirrored border.
  const border = mode === 'reflect' ? reflectSlices : edgeSlices;
  let y = x;
  paddings.forEach(([lo, hi], axis) => {
    if (lo === 0 && hi === 0) return;
    if (mode === 'reflect' && (lo >= y.shape[axis]! || hi >= y.shape[axis]!)) {
      invalid(node, `reflect padding of ${Math.max(lo, hi)} on axis ${axis} of size ${y.shape[axis]}`);
    }
    const parts = [];
    if (lo > 0) parts.push(border(tf, y, axis, lo, false));
    parts.push(y);
    if (hi > 0) parts.push(border(tf, y, axis, hi, true));
    y = tf.concat(parts, axis);
  });
  return [y];
}

registerOp('Pad', pad, {
  nonTrainableInputs: [2],
  check: (node) => {
    const mode = attrString(node, 'mode', 'constant');
    return MODES.includes(mode) ? undefined : `mode '${mode}' (constant, reflect and edge are supported)`;
  },
});
