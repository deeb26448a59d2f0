// Range (opset 11): start + i * delta for i < max(ceil((limit - start) / delta), 0),
// in the type of the scalar inputs. Made on the host: its inputs are shape
// values (BERT's position ids count up to the sequence length of the call).
import type { Tensor } from '@tensorflow/tfjs';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function range(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const scalar = (i: number): number => {
    const v = ctx.values(need(node, inputs, i));
    if (v.length !== 1) invalid(node, `input ${i} must be a scalar, has ${v.length} values`);
    return v[0]!;
  };
  const [start, limit, delta] = [scalar(0), scalar(1), scalar(2)];
  if (delta === 0) invalid(node, 'delta 0');
  const dtype = need(node, inputs, 0).dtype === 'float32' ? 'float32' : 'int32';
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const values = dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * delta;
  return [ctx.tf.tensor1d(values, dtype)];
}

registerOp('Range', range);
