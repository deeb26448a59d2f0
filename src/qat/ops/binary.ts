// Element-wise arithmetic with numpy broadcasting: Add, Sub, Mul, Div, Pow.
// Integer Div truncates toward zero as ONNX (C) does, where tfjs floors.
// Pow keeps the base's type (ONNX allows a different exponent type).
import type { Tensor } from '@tensorflow/tfjs';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

type Binary = (ctx: OpContext, a: Tensor, b: Tensor) => Tensor;

function binary(opType: string, f: Binary, nonTrainableInputs?: number[]): void {
  registerOp(opType, (ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]) => [f(ctx, need(node, inputs, 0), need(node, inputs, 1))], nonTrainableInputs ? { nonTrainableInputs } : {});
}

binary('Add', ({ tf }, a, b) => tf.add(a, b));
binary('Sub', ({ tf }, a, b) => tf.sub(a, b));
binary('Mul', ({ tf }, a, b) => tf.mul(a, b));
binary('Div', ({ tf }, a, b) => {
  if (a.dtype !== 'int32' || b.dtype !== 'int32') return tf.div(a, b);
  return tf.mul(tf.floorDiv(tf.abs(a), tf.abs(b)), tf.mul(tf.sign(a), tf.sign(b)));
});
// The exponent is a setting (x^2 in exported norms), not a weight.
binary('Pow', ({ tf }, a, b) => {
  const y = tf.pow(a, b);
  return y.dtype === a.dtype ? y : tf.cast(y, a.dtype);
}, [1]);
