// Versions that only removed an attribute whose meaning the new version has
// by default: consumed_inputs (6), BatchNormalization's and Dropout's is_test
// (7, inference is the only meaning left), BatchNormalization's spatial (9),
// Gemm's broadcast (7: unidirectional broadcasting of C is the rule now),
// Concat's axis becoming required (4), and Scatter renamed ScatterElements
// (11).
import { attr, attrInt } from '../../graph.js';
import { makeNode, intAttribute, withoutAttributes } from '../context.js';
import type { Adapter } from './adapter.js';

export const dropConsumedInputs: Adapter = (n) => [withoutAttributes(n, 'consumed_inputs')];

/** BatchNormalization and Dropout 7: only the inference form is left. */
export const dropIsTest: Adapter = (n) => {
  if (n.op_type === 'BatchNormalization' && (n.output ?? []).filter((o) => o).length > 1) return 'training outputs (running mean and variance)';
  return [withoutAttributes(n, 'is_test')];
};

export const dropSpatial: Adapter = (n) => (attrInt(n, 'spatial', 1) === 1 ? [withoutAttributes(n, 'spatial')] : 'spatial=0 (per-activation statistics)');

export const dropGemmBroadcast: Adapter = (n) => [withoutAttributes(n, 'broadcast')];

export const concatAxisRequired: Adapter = (n) => {
  const out = withoutAttributes(n);
  if (!attr(n, 'axis')) out.attribute.push(intAttribute('axis', 1));
  return [out];
};

export const scatterToScatterElements: Adapter = (n) => [makeNode('ScatterElements', n.input ?? [], n.output ?? [], n.name ?? '', withoutAttributes(n).attribute)];
