// Softmax. Opset >= 13: along one axis (default -1). Opset < 13: the input is
// coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])] (default axis 1) and
// normalised along the second dimension. tfjs normalises the last axis only,
// so another axis is moved there and back.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInt } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need, normAxis, prod } from './util.js';

function softmax(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  if (x.rank === 0) return [tf.onesLike(x)];
  if (ctx.opset < 13) {
    const axis = normAxis(node, attrInt(node, 'axis', 1), x.rank);
    const flat = tf.reshape(x, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))]);
    return [tf.reshape(tf.softmax(flat, -1), x.shape)];
  }
  const axis = normAxis(node, attrInt(node, 'axis', -1), x.rank);
  if (axis === x.rank - 1) return [tf.softmax(x, -1)];
  const perm = x.shape.map((_, i) => i);
  perm[axis] = x.rank - 1;
  perm[x.rank - 1] = axis;
  return [tf.transpose(tf.softmax(tf.transpose(x, perm), -1), perm)];
}

registerOp('Softmax', softmax);
