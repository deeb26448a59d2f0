// Concat and Split. Split sizes come from the `split` input (opset >= 13),
// the `split` attribute (older), or equal parts: one per output, or
// num_outputs (opset 18) with a smaller last part when the dim does not divide.
import type { Tensor } from '@tensorflow/tfjs';
import { attr, attrInt, attrInts } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need, normAxis } from './util.js';

function concat(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const xs = inputs.filter((t): t is Tensor => t !== undefined);
  if (xs.length === 0) invalid(node, 'no inputs');
  const axis = normAxis(node, attrInt(node, 'axis', 0), xs[0]!.rank);
  return [xs.length === 1 ? xs[0]! : ctx.tf.concat(xs, axis)];
}

function split(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const axis = normAxis(node, attrInt(node, 'axis', 0), x.rank);
  const dim = x.shape[axis]!;
  let sizes = inputs[1] ? ctx.values(inputs[1]) : attrInts(node, 'split');
  if (!sizes) {
    const numOutputs = attr(node, 'num_outputs') ? attrInt(node, 'num_outputs', 1) : (node.output ?? []).length;
    const part = attr(node, 'num_outputs') ? Math.ceil(dim / numOutputs) : dim / numOutputs;
    if (!Number.isInteger(part)) invalid(node, `dim ${dim} does not split into ${numOutputs} equal parts`);
    sizes = Array.from({ length: numOutputs }, (_, i) => Math.max(0, Math.min(part, dim - i * part)));
  }
  if (sizes.reduce((a, b) => a + b, 0) !== dim) invalid(node, `split [${sizes}] does not add up to dim ${dim}`);
  return ctx.tf.split(x, sizes, axis);
}

registerOp('Concat', concat);
registerOp('Split', split);
