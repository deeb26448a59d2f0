// Comparisons and value tests, all bool-valued with numpy broadcasting:
// Equal, Less, LessOrEqual, Greater, GreaterOrEqual, IsNaN, IsInf. They sit
// on mask paths (BERT's attention mask, PyTorch's NaN guards); no gradient
// flows through a bool.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrInt } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function comparison(opType: string, f: (tf: Tf, a: Tensor, b: Tensor) => Tensor): void {
  registerOp(opType, (ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]) => [f(ctx.tf, need(node, inputs, 0), need(node, inputs, 1))]);
}

comparison('Equal', (tf, a, b) => tf.equal(a, b));
comparison('Less', (tf, a, b) => tf.less(a, b));
comparison('LessOrEqual', (tf, a, b) => tf.lessEqual(a, b));
comparison('Greater', (tf, a, b) => tf.greater(a, b));
comparison('GreaterOrEqual', (tf, a, b) => tf.greaterEqual(a, b));

registerOp('IsNaN', (ctx, node, inputs) => [ctx.tf.isNaN(need(node, inputs, 0))]);

// IsInf: detect_negative / detect_positive (both 1 by default) pick the signs.
registerOp('IsInf', (ctx, node, inputs) => {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const neg = attrInt(node, 'detect_negative', 1) !== 0;
  const pos = attrInt(node, 'detect_positive', 1) !== 0;
  if (neg && pos) return [tf.isInf(x)];
  if (!neg && !pos) return [tf.zeros(x.shape, 'bool')];
  return [tf.equal(x, tf.scalar(pos ? Infinity : -Infinity, x.dtype))];
});
