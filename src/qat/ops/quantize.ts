// QuantizeLinear and DequantizeLinear, per tensor (scalar scale) or per axis
// (1-D scale along `axis`, default 1), exactly as ONNX defines them:
//   y = saturate(round_half_to_even(x / scale) + zero_point)
//   x = (y - zero_point) * scale
// The integer tensor is an int32 tfjs tensor holding uint8/int8/... values;
// its ONNX type comes from the zero point (uint8 without one, or
// output_dtype in opset >= 19). For training, QuantizeLinear's zero gradient
// is replaced by a straight-through fake quant elsewhere; this is the forward
// semantics. Scales and zero points are settings, not weights.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInt } from '../../onnx/graph.js';
import { elemTypeName, type ElemType } from '../../onnx/tensor.js';
import { registerOp, unsupported, type Node, type OpContext } from './registry.js';
import { alongAxis, need, normAxis } from './util.js';

const RANGES: Partial<Record<ElemType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
};

function quantType(ctx: OpContext, node: Node): ElemType {
  const outType = attrInt(node, 'output_dtype', 0);
  if (outType) return elemTypeName(outType) ?? unsupported(node, `output_dtype ${outType}`);
  const zpName = (node.input ?? [])[2];
  if (!zpName) return 'uint8';
  return ctx.elemType(zpName) ?? unsupported(node, `the element type of zero point '${zpName}' is not stated in the model`);
}

/** Scale (or zero point) shaped to broadcast along `axis` when it is per-axis. */
function perAxis(ctx: OpContext, node: Node, t: Tensor, x: Tensor): Tensor {
  if (t.rank === 0) return t;
  if (t.rank !== 1) unsupported(node, 'blocked quantization (scale of rank > 1)');
  const axis = normAxis(node, attrInt(node, 'axis', 1), x.rank);
  return alongAxis(ctx.tf, t, axis, x.rank);
}

function quantizeLinear(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const type = quantType(ctx, node);
  const range = RANGES[type] ?? unsupported(node, `quantization to ${type}`);
  const scale = perAxis(ctx, node, need(node, inputs, 1), x);
  let q = tf.round(tf.div(tf.cast(x, 'float32'), scale));
  const zp = inputs[2];
  if (zp) q = tf.add(q, tf.cast(perAxis(ctx, node, zp, x), 'float32'));
  return [tf.cast(tf.clipByValue(q, range[0], range[1]), 'int32')];
}

function dequantizeLinear(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const scale = perAxis(ctx, node, need(node, inputs, 1), x);
  let v = tf.cast(x, 'float32');
  const zp = inputs[2];
  if (zp) v = tf.sub(v, tf.cast(perAxis(ctx, node, zp, x), 'float32'));
  return [tf.mul(v, scale)];
}

const blockCheck = (node: Node): string | undefined => (attrInt(node, 'block_size', 0) !== 0 ? 'blocked quantization (block_size)' : undefined);
registerOp('QuantizeLinear', quantizeLinear, { nonTrainableInputs: [1, 2], check: blockCheck });
registerOp('DequantizeLinear', dequantizeLinear, { nonTrainableInputs: [1, 2], check: blockCheck });
