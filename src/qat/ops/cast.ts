// Cast to float32, the integer types (int32 in tfjs; float -> int truncates
// toward zero) or bool (non-zero -> true). Types tfjs cannot hold (float64,
// float16, string, ...) are rejected before anything runs.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInt } from '../../onnx/graph.js';
import { elemTypeName } from '../../onnx/tensor.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { tfDtypeOfCode } from './dtype.js';
import { need } from './util.js';

function cast(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const to = tfDtypeOfCode(attrInt(node, 'to', 0))!;
  if (x.dtype === to) return [x];
  return [ctx.tf.cast(x, to)];
}

registerOp('Cast', cast, {
  check: (node) => {
    const to = attrInt(node, 'to', 0);
    return tfDtypeOfCode(to) ? undefined : `cast to ${elemTypeName(to) ?? `data type ${to}`}, which TensorFlow.js cannot hold`;
  },
});
