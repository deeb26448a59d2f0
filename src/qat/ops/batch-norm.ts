// BatchNormalization in inference mode: y = (x - mean) / sqrt(var + eps) * scale + B
// per channel (axis 1). Training mode (batch statistics, running-stat
// updates) is not supported: QAT trains with BatchNormalization folded into
// the preceding Conv (see src/quant/fold-batchnorm.ts). The running mean and variance
// are statistics, not weights.
import type { Tensor } from '@tensorflow/tfjs';
import { attrFloat, attrInt } from '../../onnx/graph.js';
import { registerOp, type Node, type OpContext } from './registry.js';
import { alongAxis, need } from './util.js';

function batchNorm(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => alongAxis(tf, need(node, inputs, i), 1, x.rank));
  const eps = attrFloat(node, 'epsilon', 1e-5);
  // x * k + (B - mean * k): two passes over x instead of three.
  const k = tf.mul(scale!, tf.rsqrt(tf.add(variance!, eps)));
  return [tf.add(tf.mul(x, k), tf.sub(bias!, tf.mul(mean!, k)))];
}

registerOp('BatchNormalization', batchNorm, {
  nonTrainableInputs: [3, 4],
  check: (node, opset) => {
    if (attrInt(node, 'training_mode', 0) !== 0) return 'training_mode=1 (only inference mode is supported)';
    if (opset < 7 && attrInt(node, 'is_test', 0) === 0 && (node.output ?? []).filter((o) => o).length > 1) return 'training outputs (only inference mode is supported)';
    if ((node.output ?? []).slice(1).some((o) => o)) return 'running mean/variance outputs (only inference mode is supported)';
    return undefined;
  },
});
