// Gemm: Y = alpha * A' B' + beta * C, with A' = transA ? A^T : A (same for B);
// C broadcasts (unidirectionally) to [M, N] and is optional.
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { attrFloat, attrInt } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function gemm(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const a = need(node, inputs, 0);
  const b = need(node, inputs, 1);
  const c = inputs[2];
  if (a.rank !== 2 || b.rank !== 2) invalid(node, `A and B must be matrices, got ranks ${a.rank} and ${b.rank}`);
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  let y: Tensor = tf.matMul(a as Tensor2D, b as Tensor2D, attrInt(node, 'transA', 0) !== 0, attrInt(node, 'transB', 0) !== 0);
  if (alpha !== 1) y = tf.mul(y, tf.scalar(alpha, y.dtype));
  if (c && beta !== 0) y = tf.add(y, beta === 1 ? c : tf.mul(c, tf.scalar(beta, c.dtype)));
  return [y];
}

registerOp('Gemm', gemm);
