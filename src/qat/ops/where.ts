// Where: select with numpy broadcasting of all three inputs.
// Broadcasting is made explicit so that each branch's gradient has its shape.
import type { Tensor } from '@tensorflow/tfjs';
import { registerOp, type Node, type OpContext } from './registry.js';
import { broadcastShapes, need } from './util.js';

function where(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  let cond = need(node, inputs, 0);
  if (cond.dtype !== 'bool') cond = tf.cast(cond, 'bool');
  let a = need(node, inputs, 1);
  let b = need(node, inputs, 2);
  const shape = broadcastShapes(node, broadcastShapes(node, cond.shape, a.shape), b.shape);
  const to = (t: Tensor): Tensor => (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : tf.broadcastTo(t, shape));
  [cond, a, b] = [to(cond), to(a), to(b)];
  return [tf.where(cond, a, b)];
}

registerOp('Where', where);
