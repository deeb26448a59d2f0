// Reshape (0 copies the input dim unless allowzero=1, -1 is inferred; the
// shape is an input since opset 5, an attribute before) and Flatten (to 2-D
// around `axis`).
import type { Tensor } from '@tensorflow/tfjs';
import { attrInt, attrInts } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need, normAxis, prod } from './util.js';

/** The output shape of Reshape for `x` and the requested `shape`. */
export function reshapeTarget(node: Node, inShape: readonly number[], shape: readonly number[], allowZero: boolean): number[] {
  const out = shape.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= inShape.length) invalid(node, `shape [${shape}] copies dim ${i} of an input of rank ${inShape.length}`);
      return inShape[i]!;
    }
    return d;
  });
  const inferred = out.filter((d) => d === -1).length;
  if (inferred > 1) invalid(node, `shape [${shape}] has more than one -1`);
  const total = prod(inShape);
  if (inferred === 1) {
    const known = prod(out.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) invalid(node, `cannot reshape [${inShape}] to [${shape}]`);
    out[out.indexOf(-1)] = total / known;
  } else if (prod(out) !== total) {
    invalid(node, `cannot reshape [${inShape}] to [${shape}]`);
  }
  return out;
}

function reshape(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const shape = inputs[1] ? ctx.values(inputs[1]) : attrInts(node, 'shape') ?? invalid(node, 'the shape is missing');
  return [ctx.tf.reshape(x, reshapeTarget(node, x.shape, shape, attrInt(node, 'allowzero', 0) !== 0))];
}

function flatten(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const raw = attrInt(node, 'axis', 1);
  const axis = raw === x.rank ? x.rank : normAxis(node, raw, x.rank);
  return [ctx.tf.reshape(x, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))])];
}

registerOp('Reshape', reshape);
registerOp('Flatten', flatten);
