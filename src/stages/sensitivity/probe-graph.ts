// Graph surgery for the proxy: the FP32 graph copied into the quantized one
// (tensors renamed, graph inputs shared), and per-channel noise and signal
// sums computed inside the graph. One session then runs both models, and only
// vectors of channel sums leave onnxruntime instead of whole activations.
import { onnx } from '../../onnx/proto/onnx.js';
import { cloneModel, opsetVersion, type Model } from '../../onnx/model.js';
import { makeTensor } from '../../onnx/tensor.js';

const PREFIX = 'qtool_fp32/';

/** Renames the tensors a subgraph reads from the enclosing scope, leaving its own names alone. */
function renameOuterRefs(g: onnx.IGraphProto, rename: (t: string) => string): onnx.GraphProto {
  const local = new Set<string>([
    ...(g.input ?? []).map((i) => i.name ?? ''),
    ...(g.initializer ?? []).map((t) => t.name ?? ''),
    ...(g.node ?? []).flatMap((n) => n.output ?? []),
  ]);
  const inner = (t: string) => (local.has(t) ? t : rename(t));
  return onnx.GraphProto.create({ ...g, node: (g.node ?? []).map((n) => copyNode(n, inner, n.name ?? '', false)) });
}

function copyNode(n: onnx.INodeProto, rename: (t: string) => string, name: string, renameOutputs = true): onnx.NodeProto {
  return onnx.NodeProto.create({
    ...n,
    name,
    input: (n.input ?? []).map((i) => (i ? rename(i) : i)),
    output: (n.output ?? []).map((o) => (renameOutputs && o ? rename(o) : o)),
    attribute: (n.attribute ?? []).map((a) => onnx.AttributeProto.create({
      ...a,
      ...(a.g ? { g: renameOuterRefs(a.g, rename) } : {}),
      ...(a.graphs?.length ? { graphs: a.graphs.map((s) => renameOuterRefs(s, rename)) } : {}),
    })),
  });
}

/** A copy of `model` that also computes `fp32`'s graph; returns the FP32 name of a tensor in it. */
export function withFp32Copy(model: Model, fp32: Model): { model: Model; fp32Name: (t: string) => string } {
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const src = fp32.graph!;
  const own = new Set<string>([...(src.initializer ?? []).map((t) => t.name ?? ''), ...(src.node ?? []).flatMap((n) => n.output ?? [])]);
  const fp32Name = (t: string) => (own.has(t) ? PREFIX + t : t);
  // Initializers are shared, renamed; nodes are copied. Both graphs are in topological order and share only inputs.
  g.initializer = [...(src.initializer ?? []).map((t) => onnx.TensorProto.create({ ...t, name: fp32Name(t.name ?? '') })), ...g.initializer];
  g.node = [...(src.node ?? []).map((n) => copyNode(n, fp32Name, PREFIX + (n.name || n.output?.[0] || ''))), ...g.node];
  return { model: m, fp32Name };
}

/** Per-channel noise of `test` against `ref`, two tensors of the same shape. */
export interface Comparison {
  ref: string;
  test: string;
  channels: number;
  /** Channels on the last axis ([..., C], MatMul) rather than axis 1 ([N, C, ...]). */
  channelsLast: boolean;
}

/**
 * Replaces the graph's outputs with, per comparison, sum(ref^2) and
 * sum((ref - test)^2) over everything but the channel axis: float vectors of
 * length `channels`. Returns their names in order [signal, noise] per comparison.
 */
export function outputNoiseSums(model: Model, comparisons: readonly Comparison[]): { signal: string; noise: string }[] {
  const g = model.graph as onnx.GraphProto;
  const axesAsInput = opsetVersion(model) >= 13; // ReduceSum takes its axes as an input from opset 13
  const int64 = (name: string, v: number[]) => makeTensor(name, 'int64', [v.length], BigInt64Array.from(v.map(BigInt)));
  const node = (op: string, input: string[], output: string, attribute: onnx.AttributeProto[] = []) =>
    g.node.push(onnx.NodeProto.create({ op_type: op, name: output, input, output: [output], attribute }));
  const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const keepdims = onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 });

  // Mul then ReduceSum rather than ReduceSumSquare: ORT has fast ReduceSum kernels for
  // reducing leading axes, while its ReduceSumSquare there was 2-10x slower (BERT-base's proxy).
  const sumSquares = (x: string, out: string, c: Comparison) => {
    // [N, C, ...] -> [N, C, rest] or [..., C] -> [rest, C], then reduce all but C.
    const shape = `${out}/shape`;
    g.initializer.push(int64(shape, c.channelsLast ? [-1, c.channels] : [0, c.channels, -1]));
    node('Reshape', [x, shape], `${out}/flat`);
    node('Mul', [`${out}/flat`, `${out}/flat`], `${out}/square`);
    const axes = c.channelsLast ? [0] : [0, 2];
    if (axesAsInput) {
      g.initializer.push(int64(`${out}/axes`, axes));
      node('ReduceSum', [`${out}/square`, `${out}/axes`], out, [keepdims]);
    } else {
      node('ReduceSum', [`${out}/square`], out, [ints('axes', axes), keepdims]);
    }
  };
  const names = comparisons.map((c, i) => {
    const signal = `qtool_probe/${i}/signal`;
    const noise = `qtool_probe/${i}/noise`;
    sumSquares(c.ref, signal, c);
    node('Sub', [c.ref, c.test], `qtool_probe/${i}/diff`);
    sumSquares(`qtool_probe/${i}/diff`, noise, c);
    return { signal, noise };
  });
  const vector = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensor_type: { elem_type: onnx.TensorProto.DataType.FLOAT } } });
  g.output = names.flatMap((n) => [vector(n.signal), vector(n.noise)]);
  return names;
}
