// MatMul with numpy semantics: batched, batch dims broadcast, and 1-D operands
// promoted (a vector on the left becomes a row, on the right a column) and
// their added axis removed again.
//
// tfjs' BatchMatMul gradient does not sum over broadcast batch dims, so
// broadcasting is made explicit: a matrix on the right (x @ W, the usual
// Linear layer) folds the batch dims into rows; otherwise operands are
// broadcast to the common batch shape with tf.broadcastTo, whose gradient sums.
import type { Tensor } from '@tensorflow/tfjs';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { broadcastShapes, need } from './util.js';

function matmul(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  let a = need(node, inputs, 0);
  let b = need(node, inputs, 1);
  if (a.rank === 0 || b.rank === 0) invalid(node, 'scalar operands');
  const vecA = a.rank === 1;
  const vecB = b.rank === 1;
  if (vecA) a = tf.expandDims(a, 0);
  if (vecB) b = tf.expandDims(b, 1);
  let y: Tensor;
  if (b.rank === 2 && a.rank > 2) {
    const k = a.shape[a.rank - 1]!;
    const rows = tf.reshape(a, [-1, k]);
    y = tf.reshape(tf.matMul(rows, b), [...a.shape.slice(0, -1), b.shape[1]!]);
  } else {
    const batch = broadcastShapes(node, a.shape.slice(0, -2), b.shape.slice(0, -2));
    const full = (t: Tensor): Tensor => {
      const shape = [...batch, ...t.shape.slice(-2)];
      return t.rank === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : tf.broadcastTo(t, shape);
    };
    y = tf.matMul(full(a), full(b));
  }
  if (vecA) y = tf.squeeze(y, [y.rank - 2]);
  if (vecB) y = tf.squeeze(y, [y.rank - 1]);
  return [y];
}

registerOp('MatMul', matmul);
