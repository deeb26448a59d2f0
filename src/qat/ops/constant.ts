// Constant (value, value_float(s), value_int(s)) and ConstantOfShape (the
// `value` attribute, default float 0, filled into the shape given as input).
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { attr, nodeLabel } from '../../onnx/graph.js';
import { toNumber } from '../../onnx/tensor.js';
import { registerOp, unsupported, type Node, type OpContext } from './registry.js';
import { clampInt32, tensorFromProto, tfDtypeOfCode } from './dtype.js';
import { need } from './util.js';

/** The tensor a Constant node holds. */
export function constantValue(tf: Tf, node: Node): Tensor {
  const a = (node.attribute ?? [])[0];
  switch (a?.name) {
    case 'value':
      try {
        return tensorFromProto(tf, a.t!);
      } catch (e) {
        return unsupported(node, (e as Error).message);
      }
    case 'value_float': return tf.scalar(a.f ?? 0, 'float32');
    case 'value_floats': return tf.tensor1d(a.floats ?? [], 'float32');
    case 'value_int': return tf.scalar(clampInt32(toNumber(a.i as number)), 'int32');
    case 'value_ints': return tf.tensor1d((a.ints ?? []).map((v) => clampInt32(toNumber(v as number))), 'int32');
    default: return unsupported(node, `attribute '${a?.name ?? '(none)'}' (value, value_float(s) and value_int(s) are supported)`);
  }
}

function checkConstant(node: Node): string | undefined {
  const a = (node.attribute ?? [])[0];
  if (!a || !['value', 'value_float', 'value_floats', 'value_int', 'value_ints'].includes(a.name ?? '')) {
    return `attribute '${a?.name ?? '(none)'}' (value, value_float(s) and value_int(s) are supported)`;
  }
  if (a.name === 'value' && !tfDtypeOfCode(a.t?.data_type ?? 0)) return `element type ${a.t?.data_type} of its value has no TensorFlow.js equivalent`;
  return undefined;
}

function constantOfShape(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const shape = ctx.values(need(node, inputs, 0));
  const a = attr(node, 'value');
  if (!a?.t) return [tf.zeros(shape, 'float32')];
  const v = tensorFromProto(tf, a.t);
  const value = v.dataSync()[0] ?? 0;
  const dtype = v.dtype;
  v.dispose();
  return [tf.fill(shape, value as number, dtype)];
}

registerOp('Constant', (ctx, node) => [constantValue(ctx.tf, node)], { check: checkConstant });
registerOp('ConstantOfShape', constantOfShape, {
  check: (node) => {
    const t = attr(node, 'value')?.t;
    return t && !tfDtypeOfCode(t.data_type ?? 0) ? `value of element type ${t.data_type} has no TensorFlow.js equivalent (at ${nodeLabel(node)})` : undefined;
  },
});
