// Broadcasting became numpy's at opset 7. Before, Add, Sub, Mul, Div, Pow
// and the comparisons broadcast only with `broadcast=1`, aligning B with A's
// trailing axes or, with `axis`, from that axis; PRelu's slope of one value
// per channel applied along axis 1 (Caffe's rule), where numpy's rule aligns
// it with the last axis. A constant B or slope gets trailing ones where the
// two rules differ; a computed one cannot be reshaped here.
import { attr, attrInt } from '../../graph.js';
import { withInputs, withoutAttributes } from '../context.js';
import type { Adapter } from './adapter.js';

/**
 * Add, Sub, Mul, Div, Pow and the comparisons before 7: `broadcast=1`
 * aligns B with A's trailing dimensions (numpy's rule) or, with `axis`, from
 * that axis; the latter is numpy's rule only when B reaches A's last axis,
 * else a constant B gets trailing ones.
 */
export const numpyBroadcast: Adapter = (n, ctx) => {
  const plain = withoutAttributes(n, 'broadcast', 'axis', 'consumed_inputs');
  if (attrInt(n, 'broadcast', 0) === 0 || !attr(n, 'axis')) return [plain];
  const [a, b] = [n.input![0]!, n.input![1]!];
  const rankA = ctx.rank(a);
  const bValue = ctx.value(b);
  const rankB = bValue?.dims.length ?? ctx.rank(b);
  if (rankA === undefined || rankB === undefined) return 'broadcast along an axis of tensors of unknown rank';
  const axis = attrInt(n, 'axis', 0) < 0 ? attrInt(n, 'axis', 0) + rankA : attrInt(n, 'axis', 0);
  const ones = rankA - axis - rankB;
  if (ones === 0) return [plain];
  if (!bValue || ones < 0) return 'broadcast along an axis of a computed tensor';
  const reshaped = ctx.constant(`${b}_broadcast`, bValue.type, [...bValue.dims, ...new Array<number>(ones).fill(1)], bValue.data);
  return [withInputs(plain, [a, reshaped])];
};


export const preluChannelSlope: Adapter = (n, ctx) => {
  const [x, slope] = [n.input![0]!, n.input![1]!];
  const plain = withoutAttributes(n, 'consumed_inputs');
  const value = ctx.value(slope);
  const rank = ctx.rank(x);
  if (value && value.data.length === 1) return [plain];
  if (!value || value.dims.length !== 1) return value ? [plain] : 'a computed slope (its broadcasting changed at opset 7)';
  if (rank === undefined) return 'a per-channel slope on an input of unknown rank';
  if (rank <= 2) return [plain];
  const reshaped = ctx.constant(`${slope}_per_channel`, value.type, [value.data.length, ...new Array<number>(rank - 2).fill(1)], value.data);
  return [withInputs(plain, [x, reshaped])];
};
