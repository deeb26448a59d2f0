// Resize (opset 10 to 18) and the older Upsample (7 to 9): nearest, linear
// and cubic interpolation with every coordinate transformation mode of
// opset 11-13, nearest_mode, cubic_coeff_a, exclude_outside,
// extrapolation_value, and opset 18's `axes`. Output sizes come from `sizes`
// or from floor(input * scale) (as ONNX Runtime computes it: the spec's roi
// factor for tf_crop_and_resize is not applied). Resize-10 and Upsample map coordinates
// asymmetrically and round nearest as ONNX Runtime does ('simple' in
// resize-taps.ts).
//
// Each resized axis is a sum of gathers weighted along that axis (see
// resize-taps.ts), so gradients reach the input through tfjs' Gather.
// Not supported: antialias and keep_aspect_ratio_policy (opset 18),
// half_pixel_symmetric (opset 19).
import type { Tensor } from '@tensorflow/tfjs';
import { attr, attrFloat, attrInt, attrInts, attrString } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { alongAxis, need, normAxis } from './util.js';
import { axisTaps, COORDINATE_MODES, NEAREST_MODES, type AxisResize, type CoordinateMode, type InterpolationMode, type NearestMode, type ResizeSettings, type Taps } from './resize-taps.js';

/** Resize-10 and Upsample: no roi, sizes or coordinate modes. */
function isLegacy(node: Node, opset: number): boolean {
  return node.op_type === 'Upsample' || opset < 11;
}

function settingsOf(node: Node, opset: number): ResizeSettings {
  const legacy = isLegacy(node, opset);
  const mode = attrString(node, 'mode', 'nearest');
  return {
    mode: (mode === 'bilinear' ? 'linear' : mode) as InterpolationMode,
    coordinate: legacy ? 'asymmetric' : attrString(node, 'coordinate_transformation_mode', 'half_pixel') as CoordinateMode,
    nearest: legacy ? 'simple' : attrString(node, 'nearest_mode', 'round_prefer_floor') as NearestMode,
    cubicA: attrFloat(node, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(node, 'exclude_outside', 0) !== 0,
  };
}

function check(node: Node, opset: number): string | undefined {
  const legacy = isLegacy(node, opset);
  const mode = attrString(node, 'mode', 'nearest');
  const modes = legacy ? ['nearest', 'linear', 'bilinear'] : ['nearest', 'linear', 'cubic'];
  if (!modes.includes(mode)) return `mode '${mode}'`;
  if (legacy) return undefined;
  const coordinate = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  if (!(COORDINATE_MODES as readonly string[]).includes(coordinate)) return `coordinate_transformation_mode '${coordinate}'`;
  const nearest = attrString(node, 'nearest_mode', 'round_prefer_floor');
  if (!(NEAREST_MODES as readonly string[]).includes(nearest)) return `nearest_mode '${nearest}'`;
  if (attrInt(node, 'antialias', 0) !== 0) return 'antialias=1';
  const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') return `keep_aspect_ratio_policy '${policy}'`;
  return undefined;
}

/** Per resized axis: its index and lengths, from the scales, sizes and roi of the node. */
function axesToResize(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[], x: Tensor, s: ResizeSettings): { axis: number; resize: AxisResize }[] {
  const legacy = isLegacy(node, ctx.opset);
  const given = attrInts(node, 'axes');
  const axes = given ? given.map((a) => normAxis(node, a, x.rank)) : x.shape.map((_, i) => i);
  const valuesAt = (i: number): number[] => (inputs[i] ? ctx.values(inputs[i]!) : []);
  const scales = legacy ? (node.op_type === 'Upsample' && ctx.opset < 9 ? attr(node, 'scales')?.floats ?? [] : valuesAt(1)) : valuesAt(2);
  const sizes = legacy ? [] : valuesAt(3);
  const roi = legacy ? [] : valuesAt(1);
  if (sizes.length === 0 && scales.length === 0) invalid(node, 'neither scales nor sizes is given');
  const n = axes.length;
  if (sizes.length > 0 ? sizes.length !== n : scales.length !== n) invalid(node, `${sizes.length > 0 ? 'sizes' : 'scales'} must have ${n} values`);
  const crop = s.coordinate === 'tf_crop_and_resize';
  if (crop && roi.length !== 2 * n) invalid(node, `tf_crop_and_resize needs a roi of ${2 * n} values`);
  return axes.map((axis, k) => {
    const inLen = x.shape[axis]!;
    const [roiStart, roiEnd] = crop ? [roi[k]!, roi[n + k]!] : [0, 1];
    let outLen: number;
    let scale: number;
    if (sizes.length > 0) {
      outLen = sizes[k]!;
      scale = Math.fround(outLen / inLen);
    } else {
      scale = scales[k]!;
      if (!(scale > 0)) invalid(node, `scale ${scale} must be positive`);
      // ONNX Runtime's rule (float32, and no roi factor even for tf_crop_and_resize).
      outLen = Math.floor(Math.fround(scale * inLen));
    }
    return { axis, resize: { inLen, outLen, scale, roiStart, roiEnd } };
  });
}

/** True when the taps read input index i for output index i and nothing else. */
function isIdentity(t: Taps, r: AxisResize): boolean {
  if (r.inLen !== r.outLen || t.outside?.some((o) => o)) return false;
  return t.indices.every((idx, k) => {
    const w = t.weights?.[k];
    return idx.every((v, i) => (w ? (w[i] === 0 || (v === i && w[i] === 1)) : v === i));
  });
}

function resize(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const s = settingsOf(node, ctx.opset);
  if (s.mode !== 'nearest' && x.dtype !== 'float32') invalid(node, `${s.mode} interpolation of a ${x.dtype} tensor`);
  const extrapolation = attrFloat(node, 'extrapolation_value', 0);
  let y = x;
  // Innermost axis first, as ONNX's reference implementation nests them.
  for (const { axis, resize: r } of axesToResize(ctx, node, inputs, x, s).reverse()) {
    const taps = axisTaps(s, r);
    if (isIdentity(taps, r)) continue;
    let acc: Tensor | undefined;
    taps.indices.forEach((idx, k) => {
      let g = tf.gather(y, tf.tensor1d(idx, 'int32'), axis);
      const w = taps.weights?.[k];
      if (w) g = tf.mul(g, alongAxis(tf, tf.tensor1d(w, 'float32'), axis, y.rank));
      acc = acc ? tf.add(acc, g) : g;
    });
    y = acc!;
    if (taps.outside?.some((o) => o)) {
      const inside = alongAxis(tf, tf.tensor1d(Float32Array.from(taps.outside, (o) => 1 - o), 'float32'), axis, y.rank);
      const fill = alongAxis(tf, tf.tensor1d(Float32Array.from(taps.outside, (o) => o * extrapolation), 'float32'), axis, y.rank);
      y = tf.add(tf.mul(y, inside), fill);
    }
  }
  return [y === x ? tf.clone(x) : y];
}

// roi and scales are settings (and sizes integers), never weights.
registerOp('Resize', resize, { nonTrainableInputs: [1, 2], check });
registerOp('Upsample', resize, { nonTrainableInputs: [1], check });
