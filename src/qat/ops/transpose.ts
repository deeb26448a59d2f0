// Transpose: `perm` defaults to reversing the axes.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInts } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function transpose(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.rank - 1 - i);
  return [ctx.tf.transpose(x, perm)];
}

registerOp('Transpose', transpose);
