// Element-wise math: Sqrt, Erf, Exp, Log, Neg, Reciprocal, Abs.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function unary(opType: string, f: (tf: Tf, x: Tensor) => Tensor): void {
  registerOp(opType, (ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]) => [f(ctx.tf, need(node, inputs, 0))]);
}

unary('Sqrt', (tf, x) => tf.sqrt(x));
unary('Erf', (tf, x) => tf.erf(x));
unary('Exp', (tf, x) => tf.exp(x));
unary('Log', (tf, x) => tf.log(x));
unary('Neg', (tf, x) => tf.neg(x));
unary('Reciprocal', (tf, x) => tf.reciprocal(x));
unary('Abs', (tf, x) => tf.abs(x));
