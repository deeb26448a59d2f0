// Upsample became Resize (10), and Resize took its final signature at 11:
// (X, roi, scales[, sizes]) with a coordinate_transformation_mode. Upsample
// and Resize 10 map output pixel x to input pixel x / scale ('asymmetric')
// and, for 'nearest', take the integer part of that coordinate when
// enlarging and round it up when shrinking (onnxruntime's kernels of those
// versions); Resize 11 says so with nearest_mode 'floor' or 'ceil'. ONNX's
// own converter keeps Resize 11's default 'half_pixel' here, which moves
// every pixel; onnxruntime's transformers write 'asymmetric' as done here.
import { attrString, type Node } from '../../graph.js';
import { baseName, makeNode, stringAttribute, withInputs, withoutAttributes, type UpgradeContext } from '../context.js';
import type { Adapter } from './adapter.js';

export const upsampleToResize: Adapter = (n) => [makeNode('Resize', n.input ?? [], n.output ?? [], n.name ?? '', withoutAttributes(n).attribute)];

/** 'floor' when every scale enlarges or keeps (or is computed), 'ceil' when every one shrinks or keeps; undefined when they mix. */
function nearestMode(n: Node, ctx: UpgradeContext): string | undefined {
  const scales = n.input?.[1] ? ctx.value(n.input[1]) : undefined;
  if (!scales) return 'floor';
  const s = Array.from(scales.data as ArrayLike<number>, Number);
  if (s.every((v) => v >= 1)) return 'floor';
  if (s.every((v) => v <= 1)) return 'ceil';
  return undefined;
}

export const resizeTo11: Adapter = (n, ctx) => {
  const mode = attrString(n, 'mode', 'nearest');
  const attributes = [...withoutAttributes(n, 'mode').attribute, stringAttribute('mode', mode), stringAttribute('coordinate_transformation_mode', 'asymmetric')];
  if (mode === 'nearest') {
    const rounding = nearestMode(n, ctx);
    if (!rounding) return 'nearest resize that enlarges some axes and shrinks others';
    attributes.push(stringAttribute('nearest_mode', rounding));
  }
  // roi only matters for tf_crop_and_resize; an empty one stands for "none".
  const roi = ctx.constant(`${baseName(n)}_roi`, 'float32', [0], new Float32Array(0));
  const out = withInputs(n, [n.input![0]!, roi, n.input![1]!]);
  out.attribute = attributes;
  return [out];
};

/** Resize 13 dropped the 'tf_half_pixel_for_nn' coordinate mode. */
export const resizeTo13: Adapter = (n) => (
  attrString(n, 'coordinate_transformation_mode', 'half_pixel') === 'tf_half_pixel_for_nn'
    ? "coordinate_transformation_mode 'tf_half_pixel_for_nn'"
    : [withoutAttributes(n)]
);
