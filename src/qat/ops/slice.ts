// Slice: starts/ends/axes/steps as inputs (opset >= 10) or attributes (older).
// Negative starts/ends count from the end, out-of-range values (INT64_MAX,
// clamped to int32 on load) are clamped to the dim, negative steps walk
// backwards. Each axis is a slice (step 1) or a gather (other steps), which
// both have gradients in tfjs.
import type { Tensor } from '@tensorflow/tfjs';
import { attrInts } from '../../onnx/graph.js';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need, normAxis, takeStrided } from './util.js';

function slice(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { tf } = ctx;
  const x = need(node, inputs, 0);
  const fromInputs = ctx.opset >= 10;
  const starts = (fromInputs ? inputs[1] && ctx.values(inputs[1]) : attrInts(node, 'starts')) || invalid(node, 'starts are missing');
  const ends = (fromInputs ? inputs[2] && ctx.values(inputs[2]) : attrInts(node, 'ends')) || invalid(node, 'ends are missing');
  const axes = (fromInputs ? inputs[3] && ctx.values(inputs[3]) : attrInts(node, 'axes')) || starts.map((_, i) => i);
  const steps = (fromInputs && inputs[4] && ctx.values(inputs[4])) || starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    invalid(node, 'starts, ends, axes and steps differ in length');
  }
  let y = x;
  for (let i = 0; i < starts.length; i++) {
    const axis = normAxis(node, axes[i]!, x.rank);
    const dim = x.shape[axis]!;
    const step = steps[i]!;
    if (step === 0) invalid(node, 'step 0');
    let start = starts[i]! < 0 ? starts[i]! + dim : starts[i]!;
    let end = ends[i]! < 0 ? ends[i]! + dim : ends[i]!;
    if (step > 0) {
      start = Math.min(Math.max(start, 0), dim);
      end = Math.min(Math.max(end, 0), dim);
      const count = Math.max(0, Math.ceil((end - start) / step));
      if (start === 0 && count === dim && step === 1) continue;
      y = takeStrided(tf, y, axis, start, count, step);
    } else {
      start = Math.min(Math.max(start, 0), dim - 1);
      end = Math.min(Math.max(end, -1), dim - 1);
      const count = Math.max(0, Math.ceil((start - end) / -step));
      // Reversed, element `start` is at dim - 1 - start.
      y = takeStrided(tf, tf.reverse(y, axis), axis, dim - 1 - start, count, -step);
    }
  }
  return [y === x ? tf.clone(x) : y];
}

registerOp('Slice', slice);
