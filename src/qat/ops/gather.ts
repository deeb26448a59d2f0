// Gather along `axis` (default 0) and GatherND (with batch_dims, opset 12);
// negative indices count from the end. Scalar Gather indices remove the axis.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInt } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need, normAxis, prod } from './util.js';

function gather(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  let idx = need(node, inputs, 1);
  const axis = normAxis(node, attrInt(node, 'axis', 0), x.rank);
  if (idx.dtype !== 'int32') idx = tf.cast(idx, 'int32');
  idx = tf.where(tf.less(idx, 0), tf.add(idx, tf.scalar(x.shape[axis]!, 'int32')), idx);
  return [tf.gather(x, idx, axis)];
}

/**
 * GatherND as one Gather of a flattened view: the last index axis addresses
 * k dims after the batch dims, which are folded into a row number. tfjs has
 * no gradient for its own gatherND; Gather's reaches the data.
 */
function gatherND(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  let idx = need(node, inputs, 1);
  const b = attrInt(node, 'batch_dims', 0);
  const k = idx.shape[idx.rank - 1]!;
  if (idx.rank < 1 || b >= idx.rank || b + k > x.rank) invalid(node, `indices of shape [${idx.shape}] for data of shape [${x.shape}] with batch_dims ${b}`);
  const batch = x.shape.slice(0, b);
  const addressed = x.shape.slice(b, b + k);
  const rest = x.shape.slice(b + k);
  const rows = prod(batch) * prod(addressed);
  const q = idx.shape.slice(b, -1);
  if (idx.dtype !== 'int32') idx = tf.cast(idx, 'int32');
  const dims = tf.tensor1d(addressed, 'int32');
  idx = tf.where(tf.less(idx, 0), tf.add(idx, dims), idx);
  // Row of each index tuple: its batch number * prod(addressed) + the row-major offset of the tuple.
  const strides = addressed.map((_, i) => prod(addressed.slice(i + 1)));
  let row = tf.sum(tf.mul(tf.reshape(idx, [prod(batch), prod(q), k]), tf.tensor1d(strides, 'int32')), -1);
  if (b > 0) row = tf.add(row, tf.tensor2d(Int32Array.from({ length: prod(batch) }, (_, i) => i * prod(addressed)), [prod(batch), 1], 'int32'));
  const flat = tf.reshape(x, [rows, ...rest]);
  return [tf.reshape(tf.gather(flat, tf.reshape(row, [-1]), 0), [...batch, ...q, ...rest])];
}

registerOp('Gather', gather);
registerOp('GatherND', gatherND);
