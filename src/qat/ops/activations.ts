// Activations: Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Gelu.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrFloat, attrString } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function activation(opType: string, f: (tf: Tf, x: Tensor, node: Node) => Tensor, check?: (node: Node) => string | undefined): void {
  registerOp(opType, (ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]) => [f(ctx.tf, need(node, inputs, 0), node)], check ? { check } : {});
}

/** max(0, min(1, alpha * x + beta)) */
function hardSigmoid(tf: Tf, x: Tensor, alpha: number, beta: number): Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

activation('Relu', (tf, x) => tf.relu(x));
activation('LeakyRelu', (tf, x, n) => tf.leakyRelu(x, attrFloat(n, 'alpha', 0.01)));
activation('Sigmoid', (tf, x) => tf.sigmoid(x));
activation('Tanh', (tf, x) => tf.tanh(x));
activation('HardSigmoid', (tf, x, n) => hardSigmoid(tf, x, attrFloat(n, 'alpha', 0.2), attrFloat(n, 'beta', 0.5)));
activation('HardSwish', (tf, x) => tf.mul(x, hardSigmoid(tf, x, 1 / 6, 0.5)));
// Gelu (opset 20): exact 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation.
activation('Gelu', (tf, x, n) => {
  if (attrString(n, 'approximate', 'none') === 'tanh') {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  }
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}, (n) => {
  const a = attrString(n, 'approximate', 'none');
  return a === 'none' || a === 'tanh' ? undefined : `approximate '${a}'`;
});
