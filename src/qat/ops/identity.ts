// Identity, and Dropout in inference mode (identity; the optional mask is all
// true). A Dropout asked to train (training_mode input true with a non-zero
// ratio) is refused: it would be random.
import type { Tensor } from '@tensorflow/tfjs';
import { attrFloat } from '../../onnx/graph.js';
import { registerOp, unsupported, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function identity(_ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  return [need(node, inputs, 0)];
}

function dropout(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const ratio = inputs[1] ? ctx.values(inputs[1])[0]! : attrFloat(node, 'ratio', 0.5);
  const training = inputs[2] ? ctx.values(inputs[2])[0]! !== 0 : false;
  if (training && ratio !== 0) unsupported(node, 'training mode (random dropout) is not supported');
  const outs = [x];
  if ((node.output ?? [])[1]) outs.push(ctx.tf.ones(x.shape, 'bool'));
  return outs;
}

registerOp('Identity', identity);
registerOp('Dropout', dropout, { nonTrainableInputs: [1] });
