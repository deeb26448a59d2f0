// Attributes that became inputs: Slice (10), TopK's k (10), Clip's bounds
// (11), Pad's pads and value (11), Dropout's ratio (12), Upsample's scales
// (9), and at 13 the axes of Squeeze, Unsqueeze and ReduceSum and Split's
// sizes. The values become initializers of the types the new inputs take.
import { onnx } from '../../proto/onnx.js';
import { attr, attrFloat, attrInt, attrString } from '../../graph.js';
import type { ElemType, TypedArray } from '../../tensor.js';
import { attrInt64s, baseName, withInputs, withoutAttributes, type UpgradeContext } from '../context.js';
import type { Adapter } from './adapter.js';

const int64s = (ctx: UpgradeContext, base: string, values: readonly bigint[]) => ctx.constant(base, 'int64', [values.length], BigInt64Array.from(values));

/** A scalar or 1-D tensor of float values in the element type of `like` (float32 when unknown). */
function floats(ctx: UpgradeContext, base: string, like: string, values: readonly number[], dims: readonly number[]): string | undefined {
  const type: ElemType = ctx.elemType(like) ?? 'float32';
  const make: Partial<Record<ElemType, (v: readonly number[]) => TypedArray>> = {
    float32: (v) => Float32Array.from(v),
    float64: (v) => Float64Array.from(v),
  };
  return make[type] ? ctx.constant(base, type, dims, make[type](values)) : undefined;
}

export const sliceAttributesToInputs: Adapter = (n, ctx) => {
  const [starts, ends, axes] = [attrInt64s(n, 'starts'), attrInt64s(n, 'ends'), attrInt64s(n, 'axes')];
  if (!starts || !ends) return 'starts or ends missing';
  const base = baseName(n);
  const inputs = [n.input![0]!, int64s(ctx, `${base}_starts`, starts), int64s(ctx, `${base}_ends`, ends)];
  if (axes) inputs.push(int64s(ctx, `${base}_axes`, axes));
  return [withInputs(withoutAttributes(n, 'starts', 'ends', 'axes'), inputs)];
};

export const topKAttributeToInput: Adapter = (n, ctx) => {
  if (attr(n, 'k')?.i == null) return 'k missing';
  return [withInputs(withoutAttributes(n, 'k'), [n.input![0]!, int64s(ctx, `${baseName(n)}_k`, [BigInt(attrInt(n, 'k', 0))])])];
};

export const clipAttributesToInputs: Adapter = (n, ctx) => {
  const x = n.input![0]!;
  const bound = (name: string): string | undefined | null => {
    if (!attr(n, name)) return '';
    return floats(ctx, `${baseName(n)}_${name}`, x, [attrFloat(n, name, 0)], []) ?? null;
  };
  const [min, max] = [bound('min'), bound('max')];
  if (min === null || max === null) return `bounds for element type ${ctx.elemType(x)}`;
  return [withInputs(withoutAttributes(n, 'min', 'max'), [x, min!, max!])];
};

export const padAttributesToInputs: Adapter = (n, ctx) => {
  const pads = attrInt64s(n, 'pads');
  if (!pads) return 'pads missing';
  const x = n.input![0]!;
  const inputs = [x, int64s(ctx, `${baseName(n)}_pads`, pads)];
  const value = attrFloat(n, 'value', 0);
  if (value !== 0 && attrString(n, 'mode', 'constant') === 'constant') {
    const v = floats(ctx, `${baseName(n)}_value`, x, [value], []);
    if (!v) return `a padding value for element type ${ctx.elemType(x)}`;
    inputs.push(v);
  }
  return [withInputs(withoutAttributes(n, 'pads', 'value'), inputs)];
};

/** Pad 2 renamed Pad 1's `paddings` to `pads`. */
export const padRenamePaddings: Adapter = (n) => {
  const out = withoutAttributes(n);
  out.attribute = out.attribute.map((a) => (a.name === 'paddings' ? onnx.AttributeProto.create({ ...a, name: 'pads' }) : a));
  return [out];
};

export const dropoutRatioToInput: Adapter = (n, ctx) => {
  // Inference (no training_mode input) ignores the ratio; it is kept as an input so the graph says what it said.
  const ratio = ctx.constant(`${baseName(n)}_ratio`, 'float32', [], Float32Array.of(attrFloat(n, 'ratio', 0.5)));
  return [withInputs(withoutAttributes(n, 'ratio'), [n.input![0]!, ratio])];
};

export const upsampleScalesToInput: Adapter = (n, ctx) => {
  const scales = attr(n, 'scales')?.floats;
  if (!scales) return 'scales missing';
  const name = ctx.constant(`${baseName(n)}_scales`, 'float32', [scales.length], Float32Array.from(scales));
  return [withInputs(withoutAttributes(n, 'scales'), [n.input![0]!, name])];
};

/** Squeeze, Unsqueeze, ReduceSum (13): `axes` becomes the second input; without it they keep their meaning. */
export const axesAttributeToInput: Adapter = (n, ctx) => {
  const axes = attrInt64s(n, 'axes');
  if (!axes) return n.op_type === 'Unsqueeze' ? 'axes missing' : [withoutAttributes(n)];
  return [withInputs(withoutAttributes(n, 'axes'), [n.input![0]!, int64s(ctx, `${baseName(n)}_axes`, axes)])];
};

export const splitAttributeToInput: Adapter = (n, ctx) => {
  const split = attrInt64s(n, 'split');
  if (!split) return [withoutAttributes(n)];
  return [withInputs(withoutAttributes(n, 'split'), [n.input![0]!, int64s(ctx, `${baseName(n)}_split`, split)])];
};

/** Reshape 5: the `shape` attribute became the second input. */
export const reshapeShapeToInput: Adapter = (n, ctx) => {
  const shape = attrInt64s(n, 'shape');
  if (!shape) return n.input?.[1] ? [withoutAttributes(n, 'consumed_inputs')] : 'shape missing';
  return [withInputs(withoutAttributes(n, 'shape', 'consumed_inputs'), [n.input![0]!, int64s(ctx, `${baseName(n)}_shape`, shape)])];
};
