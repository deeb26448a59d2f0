// LayerNormalization (opset 17): normalises over axes [axis, rank), then
// scale and bias. Optional outputs Mean and InvStdDev keep the reduced axes.
import type { Tensor } from '@tensorflow/tfjs';
import { attrFloat, attrInt } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need, normAxis } from './util.js';

function layerNorm(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const scale = need(node, inputs, 1);
  const bias = inputs[2];
  const axis = normAxis(node, attrInt(node, 'axis', -1), x.rank);
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const axes = x.shape.slice(axis).map((_, i) => axis + i);
  const mean = tf.mean(x, axes, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axes, true);
  const invStd = tf.rsqrt(tf.add(variance, eps));
  let y = tf.mul(tf.mul(centered, invStd), scale);
  if (bias) y = tf.add(y, bias);
  return [y, mean, invStd];
}

registerOp('LayerNormalization', layerNorm);
