// Clip: bounds as inputs (opset >= 11) or attributes (older); absent bounds
// do not clip. Bounds are settings (ReLU6's 0 and 6), never trained.
import type { Tensor } from '@tensorflow/tfjs';
import { attrFloat } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function clip(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  let lo: number;
  let hi: number;
  if (ctx.opset < 11) {
    lo = attrFloat(node, 'min', -Infinity);
    hi = attrFloat(node, 'max', Infinity);
  } else {
    lo = inputs[1] ? ctx.values(inputs[1])[0]! : -Infinity;
    hi = inputs[2] ? ctx.values(inputs[2])[0]! : Infinity;
  }
  if (x.dtype === 'int32') {
    // Unbounded sides of an integer clip: tfjs would turn +-Infinity into 0.
    lo = Math.max(lo, -2147483648);
    hi = Math.min(hi, 2147483647);
  }
  // ONNX: min > max sets every value to max.
  if (lo > hi) return [tf.fill(x.shape, hi, x.dtype)];
  return [tf.clipByValue(x, lo, hi)];
}

registerOp('Clip', clip, { nonTrainableInputs: [1, 2] });
