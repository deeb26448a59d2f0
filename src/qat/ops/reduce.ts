// ReduceMean, ReduceSum, ReduceMax, ReduceMin. Axes come from the second
// input when the node has one (ReduceSum since opset 13, the others since
// opset 18) or from the `axes` attribute; no axes reduce everything unless
// noop_with_empty_axes=1. keepdims defaults to 1.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attrInt, attrInts } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need, normAxis } from './util.js';

type Reducer = (tf: Tf, x: Tensor, axes: number[], keepDims: boolean) => Tensor;

function reduce(opType: string, f: Reducer): void {
  registerOp(opType, (ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]) => {
    const x = need(node, inputs, 0);
    const given = inputs[1] ? ctx.values(inputs[1]) : attrInts(node, 'axes');
    const keepDims = attrInt(node, 'keepdims', 1) !== 0;
    if (!given || given.length === 0) {
      if (attrInt(node, 'noop_with_empty_axes', 0) !== 0) return [x];
      return [f(ctx.tf, x, x.shape.map((_, i) => i), keepDims)];
    }
    const axes = [...new Set(given.map((a) => normAxis(node, a, x.rank)))].sort((a, b) => a - b);
    return [f(ctx.tf, x, axes, keepDims)];
  });
}

reduce('ReduceMean', (tf, x, axes, keep) => tf.mean(x, axes, keep));
reduce('ReduceSum', (tf, x, axes, keep) => tf.sum(x, axes, keep));
reduce('ReduceMax', (tf, x, axes, keep) => tf.max(x, axes, keep));
reduce('ReduceMin', (tf, x, axes, keep) => tf.min(x, axes, keep));
