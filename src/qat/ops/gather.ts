// Gather along `axis` (default 0); negative indices count from the end.
// Scalar indices remove the axis.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInt } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need, normAxis } from './util.js';

function gather(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  let idx = need(node, inputs, 1);
  const axis = normAxis(node, attrInt(node, 'axis', 0), x.rank);
  if (idx.dtype !== 'int32') idx = tf.cast(idx, 'int32');
  idx = tf.where(tf.less(idx, 0), tf.add(idx, tf.scalar(x.shape[axis]!, 'int32')), idx);
  return [tf.gather(x, idx, axis)];
}

registerOp('Gather', gather);
