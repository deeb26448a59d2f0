// Logical ops on bool tensors with numpy broadcasting: And, Or, Xor, Not.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

/** ONNX guarantees bool inputs; a cast keeps tfjs' bool-only kernels happy should a model bend that. */
function asBool(tf: Tf, t: Tensor): Tensor {
  return t.dtype === 'bool' ? t : tf.cast(t, 'bool');
}

function logical(opType: string, f: (tf: Tf, a: Tensor, b: Tensor) => Tensor): void {
  registerOp(opType, (ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]) => {
    const { tf } = ctx;
    return [f(tf, asBool(tf, need(node, inputs, 0)), asBool(tf, need(node, inputs, 1)))];
  });
}

logical('And', (tf, a, b) => tf.logicalAnd(a, b));
logical('Or', (tf, a, b) => tf.logicalOr(a, b));
logical('Xor', (tf, a, b) => tf.logicalXor(a, b));
registerOp('Not', (ctx, node, inputs) => [ctx.tf.logicalNot(asBool(ctx.tf, need(node, inputs, 0)))]);
