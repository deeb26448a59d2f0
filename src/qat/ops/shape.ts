// Shape (with start/end, opset 15) and Size. ONNX returns int64; here int32
// (see dtype.ts). The values come from the tensor's static shape, so shape
// subgraphs follow the batch size of each forward pass.
import type { Tensor } from '@tensorflow/tfjs';
import { attr, attrInt } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need, prod } from './util.js';

function shape(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const r = x.rank;
  const clampAxis = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clampAxis(attrInt(node, 'start', 0));
  const end = attr(node, 'end') ? clampAxis(attrInt(node, 'end', r)) : r;
  return [ctx.tf.tensor1d(x.shape.slice(start, Math.max(start, end)), 'int32')];
}

function size(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  return [ctx.tf.scalar(prod(need(node, inputs, 0).shape), 'int32')];
}

registerOp('Shape', shape);
registerOp('Size', size);
