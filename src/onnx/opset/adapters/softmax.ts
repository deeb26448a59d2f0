// Softmax, LogSoftmax and Hardmax before 13 flatten their input to 2-D at
// `axis` (default 1) and normalise over everything after it; from 13 they
// work on the one axis `axis` (default -1). The two agree when `axis` is
// the last one, and then the node only says its axis. Otherwise (or when the
// rank is not known) the old meaning is written out as ONNX's converter
// does: Flatten at axis, the op on the last axis, Reshape back to the
// input's shape.
import { attrInt } from '../../graph.js';
import { baseName, intAttribute, makeNode, withoutAttributes } from '../context.js';
import type { Adapter } from './adapter.js';

export const flattenedSoftmaxTo13: Adapter = (n, ctx) => {
  const x = n.input![0]!;
  const y = n.output![0]!;
  const axis = attrInt(n, 'axis', 1);
  const rank = ctx.rank(x);
  const op = withoutAttributes(n, 'axis');
  op.attribute.push(intAttribute('axis', -1));
  // Axis -1 is the last one whatever the rank.
  if (axis === -1 || (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1)) return [op];
  const base = baseName(n);
  const [shape, flat, normalised] = [ctx.freshName(`${base}_shape`), ctx.freshName(`${base}_flat`), ctx.freshName(`${base}_2d`)];
  op.input = [flat];
  op.output = [normalised];
  return [
    makeNode('Shape', [x], [shape], ctx.freshName(`${base}_Shape`)),
    makeNode('Flatten', [x], [flat], ctx.freshName(`${base}_Flatten`), [intAttribute('axis', axis)]),
    op,
    makeNode('Reshape', [normalised, shape], [y], ctx.freshName(`${base}_Reshape`)),
  ];
};
