// HardSwish as older exporters write it, x * Clip(x + 3, 0, 6) / 6 (Paddle's
// MobileNetV3 and PP-LCNet, PyTorch before opset 14), becomes
// x * HardSigmoid(x) with alpha 1/6 and beta 0.5: the same function in two
// float ops instead of four between the Q/DQ pairs on its input and output
// (the plan keeps a self-gated activation float as a unit; ORT's quantizer
// instead puts pairs inside it, on the Add and the Mul). The HardSwish op
// itself would be one op, but needs opset 14, and ORT has no integer kernel
// for it either.
import { onnx } from '../../onnx/proto/onnx.js';
import { cloneModel, type Model } from '../../onnx/model.js';
import { attrFloat, consumerMap, graphOutputs, initializerMap, producerMap, type Node } from '../../onnx/graph.js';
import { dropUnusedInitializers } from '../../onnx/rewrite.js';
import { scalarOf } from '../../onnx/tensor.js';
import { NO_PARAMS, type NoParams, type QuantPass } from './pass.js';

type Inits = ReturnType<typeof initializerMap>;

const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** Clip's bounds: inputs from opset 11, attributes before. */
function clipBounds(n: Node, inits: Inits): [number | undefined, number | undefined] {
  if ((n.input?.length ?? 0) > 1) return [scalarOf(n.input![1], inits), scalarOf(n.input![2], inits)];
  return [attrFloat(n, 'min', -Infinity), attrFloat(n, 'max', Infinity)];
}

interface HardSwish {
  x: string;
  /** The nodes of the written-out form, Add first, the final Div (or Mul by 1/6) last. */
  nodes: Node[];
  output: string;
}

function findHardSwishes(g: onnx.IGraphProto): HardSwish[] {
  const inits = initializerMap(g);
  const producers = producerMap(g);
  const consumers = consumerMap(g);
  const outputs = new Set(graphOutputs(g).map((o) => o.name));
  // An inner tensor must feed only the next op of the pattern (and not be a graph output).
  const onlyInto = (t: string, n: Node) => !outputs.has(t) && (consumers.get(t) ?? []).length === 1 && consumers.get(t)![0] === n;
  const found: HardSwish[] = [];
  for (const last of g.node ?? []) {
    const isDiv = last.op_type === 'Div' && near(scalarOf(last.input?.[1], inits), 6);
    const isMulSixth = last.op_type === 'Mul' && last.input!.some((i) => near(scalarOf(i, inits), 1 / 6));
    if (!isDiv && !isMulSixth) continue;
    const mul = producers.get(isDiv ? last.input![0]! : last.input!.find((i) => !inits.has(i))!);
    if (!mul || mul.op_type !== 'Mul' || !onlyInto(mul.output![0]!, last)) continue;
    for (const [a, b] of [[0, 1], [1, 0]] as const) {
      const clip = producers.get(mul.input![b]!);
      if (!clip || clip.op_type !== 'Clip' || !onlyInto(clip.output![0]!, mul)) continue;
      const [lo, hi] = clipBounds(clip, inits);
      if (!near(lo, 0) || !near(hi, 6)) continue;
      const add = producers.get(clip.input![0]!);
      const x = mul.input![a]!;
      if (!add || add.op_type !== 'Add' || !onlyInto(add.output![0]!, clip)) continue;
      const three = add.input!.find((i) => i !== x);
      if (!add.input!.includes(x) || !near(scalarOf(three, inits), 3)) continue;
      found.push({ x, nodes: [add, clip, mul, last], output: last.output![0]! });
      break;
    }
  }
  return found;
}

export function fuseHardSwish(model: Model): { model: Model; fused: string[] } {
  const found = findHardSwishes(model.graph!);
  if (found.length === 0) return { model, fused: [] };
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const byLast = new Map(found.map((h) => [h.nodes[3]!.output![0]!, h]));
  const removed = new Set(found.flatMap((h) => h.nodes.slice(0, 3).map((n) => n.output![0]!)));
  const nodes: onnx.NodeProto[] = [];
  for (const n of g.node as onnx.NodeProto[]) {
    const h = byLast.get(n.output[0] ?? '');
    if (h) {
      const hs = `${h.output}_hardsigmoid`;
      nodes.push(onnx.NodeProto.create({
        op_type: 'HardSigmoid', name: hs, input: [h.x], output: [hs],
        attribute: [
          onnx.AttributeProto.create({ name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 / 6 }),
          onnx.AttributeProto.create({ name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0.5 }),
        ],
      }));
      nodes.push(onnx.NodeProto.create({ op_type: 'Mul', name: `${h.output}_hardswish`, input: [h.x, hs], output: [h.output] }));
    } else if (!(n.output.length === 1 && removed.has(n.output[0]!))) {
      nodes.push(n);
    }
  }
  g.node = nodes;
  dropUnusedInitializers(g); // the 3s and 6s, which ORT would warn about
  return { model: m, fused: found.map((h) => h.output) };
}

/** Always applied: a no-op for models without the written-out form. */
export const fuseHardSwishPass: QuantPass<NoParams> = {
  name: 'fuse-hardswish',
  always: true,
  params: NO_PARAMS,
  apply(model) {
    const r = fuseHardSwish(model);
    return { model: r.model, effect: { fused: r.fused } };
  },
};
