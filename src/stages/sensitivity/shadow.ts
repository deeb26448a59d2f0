// Shadow layers for the proxy: next to every quantized layer of the QDQ model,
// a float copy of it that reads the same upstream values before they are
// quantized. Comparing the two within one run isolates what the layer's own
// quantization (input and output Q/DQ pairs, int8 weights) does, whatever
// noise arrives from upstream; against FP32, accumulated noise would rank
// late layers first.
import { onnx } from '../../onnx/proto/onnx.js';
import type { Model } from '../../onnx/model.js';
import { consumerMap, type Node } from '../../onnx/graph.js';
import { layerTensors, type QuantRecipe } from '../../quant/recipe.js';

export interface ShadowProbe {
  layer: string;
  /** The layer's output as the quantized model passes it on (after its Q/DQ pair, if any). */
  quantized: string;
  /** The same from the float copy. */
  shadow: string;
}

const SUFFIX = '__qtool_shadow';

function copyNode(n: Node, inputs: string[], output: string): onnx.NodeProto {
  const c = onnx.NodeProto.decode(onnx.NodeProto.encode(n as onnx.NodeProto).finish());
  c.name = output; // unique: one node per shadow tensor
  c.input = inputs;
  c.output = [output];
  return c;
}

/**
 * Adds a float shadow of every layer to `model`, in place: the fully quantized
 * model (built from q.plan), which must also hold each layer's float weights
 * under the name `floatParam(weight)` (see withFloatParams).
 */
export function addShadowLayers(q: QuantRecipe, model: Model, floatParam: (name: string) => string): ShadowProbe[] {
  const g = model.graph as onnx.GraphProto;
  const consumers = consumerMap(g);
  const planned = new Set(q.plan.tensors);
  const foldOf = new Map(q.plan.folded.map((f) => [f.to, f]));
  const dequantized = (t: string): string => {
    const qn = (consumers.get(t) ?? []).find((n) => n.op_type === 'QuantizeLinear');
    const dq = qn && (consumers.get(qn.output![0]) ?? []).find((n) => n.op_type === 'DequantizeLinear');
    if (!dq) throw new Error(`shadow: no Q/DQ pair found for '${t}'`);
    return dq.output![0];
  };
  // In the QDQ graph a folded tensor holds the value before its Relu/Clip (the Q/DQ pair applies it).
  const floatValue = (t: string, nodes: onnx.NodeProto[]): string => {
    const f = foldOf.get(t);
    if (!f) return t;
    const out = `${t}${SUFFIX}`;
    if (!nodes.some((n) => n.output[0] === out)) nodes.push(copyNode(f.node, [t, ...(f.node.input ?? []).slice(1)], out));
    return out;
  };

  const added: onnx.NodeProto[] = [];
  const probes: ShadowProbe[] = [];
  for (const l of q.plan.layers) {
    const params = new Set([l.weight, l.bias]);
    const inputs = (l.node.input ?? []).map((i) => (params.has(i) ? floatParam(i) : i ? floatValue(i, added) : i));
    const o = l.node.output![0];
    const shadowOut = `${o}${SUFFIX}`;
    added.push(copyNode(l.node, inputs, shadowOut));
    const fold = q.plan.folded.find((f) => f.from === o);
    const out = fold?.to ?? o;
    const shadow = fold ? `${out}${SUFFIX}_out` : shadowOut;
    if (fold) added.push(copyNode(fold.node, [shadowOut, ...(fold.node.input ?? []).slice(1)], shadow));
    const own = layerTensors(q.plan, l).includes(out) && planned.has(out);
    probes.push({ layer: l.name, quantized: own ? dequantized(out) : out, shadow });
  }
  g.node.push(...added);
  return probes;
}
