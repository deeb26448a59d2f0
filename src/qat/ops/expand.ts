// Expand: numpy broadcast of the input with a shape (either side may be 1).
import type { Tensor } from '@tensorflow/tfjs';
import { registerOp, type Node, type OpContext } from './registry.js';
import { broadcastShapes, need } from './util.js';

function expand(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const shape = broadcastShapes(node, x.shape, ctx.values(need(node, inputs, 1)));
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return [x];
  return [ctx.tf.broadcastTo(x, shape)];
}

registerOp('Expand', expand);
