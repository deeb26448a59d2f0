// Small helpers the op files share: axes, broadcasting, layouts, windows.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrInts, attrString, type Node } from '../../onnx/graph.js';
import { invalid, unsupported } from './registry.js';

/** A possibly negative axis as 0..rank-1; throws when out of range. */
export function normAxis(node: Node, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= Math.max(rank, 1)) invalid(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** The input at position i, or an error naming the node when it is missing. */
export function need(node: Node, inputs: (Tensor | undefined)[], i: number): Tensor {
  const t = inputs[i];
  if (!t) invalid(node, `input ${i} is missing`);
  return t;
}

/** Numpy broadcasting of two shapes. */
export function broadcastShapes(node: Node, a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) invalid(node, `shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The permutation moving axis 1 (channels) to the end: NC... -> N...C. */
export function toChannelsLastPerm(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** The permutation moving the last axis (channels) back to 1: N...C -> NC.... */
export function toChannelsFirstPerm(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** Reshapes a per-channel vector [C] so that it broadcasts against axis `axis` of a rank-`rank` tensor. */
export function alongAxis(tf: Tf, v: Tensor, axis: number, rank: number): Tensor {
  if (v.rank !== 1 || rank <= 1) return v;
  const shape = new Array<number>(rank).fill(1);
  shape[axis] = v.shape[0]!;
  return tf.reshape(v, shape);
}

/**
 * Every `step`-th element along `axis`, starting at `start`, `count` of them.
 * Gather has a gradient in tfjs; stridedSlice does not.
 */
export function takeStrided(tf: Tf, x: Tensor, axis: number, start: number, count: number, step: number): Tensor {
  if (step === 1) {
    const begin = x.shape.map(() => 0);
    const size = x.shape.slice();
    begin[axis] = start;
    size[axis] = count;
    return tf.slice(x, begin, size);
  }
  const idx = Int32Array.from({ length: count }, (_, i) => start + i * step);
  return tf.gather(x, tf.tensor1d(idx, 'int32'), axis);
}

/**
 * Inserts d-1 zeros between kernel taps along axis `axis` of a weight. tfjs
 * has no gradient for dilated convolutions; a conv with the spread kernel is
 * the same function, and its gradient reaches the real taps through this.
 */
export function dilateKernel(tf: Tf, w: Tensor, axis: number, d: number): Tensor {
  const k = w.shape[axis]!;
  if (d === 1 || k === 1) return w;
  const expanded = tf.expandDims(w, axis + 1);
  const zerosShape = expanded.shape.slice();
  zerosShape[axis + 1] = d - 1;
  const spread = tf.concat([expanded, tf.zeros(zerosShape, w.dtype)], axis + 1);
  const merged = w.shape.slice();
  merged[axis] = k * d;
  const flat = tf.reshape(spread, merged);
  const begin = merged.map(() => 0);
  const size = merged.slice();
  size[axis] = (k - 1) * d + 1;
  return tf.slice(flat, begin, size);
}

/** Spatial window settings of Conv, ConvTranspose and the pools, for `spatial` spatial axes. */
export interface WindowAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin and end padding per spatial axis (after auto_pad). */
  padBegin: number[];
  padEnd: number[];
}

/**
 * Reads kernel_shape/strides/dilations/pads/auto_pad and resolves auto_pad
 * for a forward window op (Conv, pools) over `inSpatial` input sizes.
 * `kernel` defaults to the weight's spatial dims when given.
 */
export function windowAttrs(node: Node, inSpatial: readonly number[], kernelFromWeight?: readonly number[]): WindowAttrs {
  const n = inSpatial.length;
  const kernel = attrInts(node, 'kernel_shape') ?? kernelFromWeight?.slice();
  if (!kernel || kernel.length !== n) invalid(node, `kernel_shape ${kernel ? `[${kernel}]` : 'is missing'} for ${n} spatial axes`);
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  if (strides.length !== n || dilations.length !== n || pads.length !== 2 * n) {
    invalid(node, `strides/dilations/pads do not match ${n} spatial axes`);
  }
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let padBegin = pads.slice(0, n);
  let padEnd = pads.slice(n);
  if (autoPad === 'VALID') {
    padBegin = new Array<number>(n).fill(0);
    padEnd = new Array<number>(n).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    padBegin = [];
    padEnd = [];
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(inSpatial[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inSpatial[i]!);
      const small = Math.floor(total / 2);
      padBegin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      padEnd.push(autoPad === 'SAME_UPPER' ? total - small : small);
    }
  } else if (autoPad !== 'NOTSET') {
    unsupported(node, `auto_pad '${autoPad}'`);
  }
  return { kernel, strides, dilations, padBegin, padEnd };
}

/** tf.pad's paddings for a channels-last tensor with the given spatial padding. */
export function channelsLastPaddings(padBegin: readonly number[], padEnd: readonly number[]): [number, number][] {
  return [[0, 0], ...padBegin.map((b, i): [number, number] => [b, padEnd[i]!]), [0, 0]];
}

/** True when any padding is non-zero. */
export function anyPad(padBegin: readonly number[], padEnd: readonly number[]): boolean {
  return padBegin.some((p) => p !== 0) || padEnd.some((p) => p !== 0);
}

/** Product of a list of dims. */
export function prod(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Host values of an optional integer input, as plain numbers. */
export function optionalInts(values: (t: Tensor) => number[], t: Tensor | undefined): number[] | undefined {
  return t ? values(t) : undefined;
}
