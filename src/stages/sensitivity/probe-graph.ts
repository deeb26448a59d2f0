// Graph surgery for the proxy: the layers' float weights added to the
// quantized model, and per-channel noise and signal sums computed inside the
// graph. Only vectors of channel sums leave onnxruntime instead of whole
// activations.
import { onnx } from '../../onnx/proto/onnx.js';
import { cloneModel, opsetVersion, type Model } from '../../onnx/model.js';
import { makeTensor } from '../../onnx/tensor.js';

const PREFIX = 'qtool_float/';

/**
 * A copy of the quantized `model` that also holds the FP32 initializers named
 * in `params` (the layers' weights and biases, which `model` holds quantized)
 * under new names; returns the float name of each. The tensors are shared, not
 * copied.
 */
export function withFloatParams(model: Model, fp32: Model, params: Iterable<string>): { model: Model; floatName: (t: string) => string } {
  const m = cloneModel(model);
  const wanted = new Set(params);
  const floatName = (t: string) => PREFIX + t;
  const src = (fp32.graph!.initializer ?? []).filter((t) => wanted.has(t.name ?? ''));
  m.graph!.initializer = [...src.map((t) => onnx.TensorProto.create({ ...t, name: floatName(t.name ?? '') })), ...m.graph!.initializer!];
  return { model: m, floatName };
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
  // Probes are added last comparison first. ORT orders nodes by a depth-first walk
  // back from the nodes nothing reads, taking the last of them first: in graph order,
  // the last layer's probe pulled in the whole model before any probe ran, and every
  // probed tensor stayed alive (BERT-base: 5.1 GB and 1.7x the time; reversed 2.4 GB).
  const names = comparisons.map((_, i) => ({ signal: `qtool_probe/${i}/signal`, noise: `qtool_probe/${i}/noise` }));
  for (let i = comparisons.length - 1; i >= 0; i--) {
    const c = comparisons[i];
    sumSquares(c.ref, names[i].signal, c);
    node('Sub', [c.ref, c.test], `qtool_probe/${i}/diff`);
    sumSquares(`qtool_probe/${i}/diff`, names[i].noise, c);
  }
  const vector = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensor_type: { elem_type: onnx.TensorProto.DataType.FLOAT } } });
  g.output = names.flatMap((n) => [vector(n.signal), vector(n.noise)]);
  return names;
}
