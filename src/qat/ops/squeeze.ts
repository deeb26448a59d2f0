// Squeeze and Unsqueeze: axes as an input (opset >= 13) or an attribute
// (older). Squeeze without axes removes every dim of size 1.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInts } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need, normAxis } from './util.js';

function axesOf(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): number[] | undefined {
  return ctx.opset >= 13 ? (inputs[1] ? ctx.values(inputs[1]) : undefined) : attrInts(node, 'axes');
}

function squeeze(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const given = axesOf(ctx, node, inputs);
  const axes = new Set(given ? given.map((a) => normAxis(node, a, x.rank)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  for (const a of axes) if (x.shape[a] !== 1) invalid(node, `cannot squeeze axis ${a} of size ${x.shape[a]}`);
  return [ctx.tf.reshape(x, x.shape.filter((_, i) => !axes.has(i)))];
}

function unsqueeze(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const given = axesOf(ctx, node, inputs) ?? invalid(node, 'axes are missing');
  const rank = x.rank + given.length;
  const axes = new Set(given.map((a) => normAxis(node, a, rank)));
  if (axes.size !== given.length) invalid(node, `repeated axes [${given}]`);
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.has(i) ? 1 : x.shape[j++]!);
  return [ctx.tf.reshape(x, shape)];
}

registerOp('Squeeze', squeeze);
registerOp('Unsqueeze', unsqueeze);
