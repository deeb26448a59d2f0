// Tile: repeats[i] copies along axis i (opset 6+; repeats is an input).
import type { Tensor } from '@tensorflow/tfjs';
import { registerOp, invalid, type Node, type OpContext } from './registry.js';
import { need } from './util.js';

function tile(ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const repeats = ctx.values(need(node, inputs, 1));
  if (repeats.length !== x.rank) invalid(node, `${repeats.length} repeats for an input of rank ${x.rank}`);
  if (repeats.some((r) => r < 0)) invalid(node, `negative repeats [${repeats}]`);
  if (repeats.every((r) => r === 1)) return [x];
  return [ctx.tf.tile(x, repeats)];
}

registerOp('Tile', tile);
