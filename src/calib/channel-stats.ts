// Per-channel statistics of chosen tensors over a dataset, reduced inside
// onnxruntime: each tensor gets a Reshape and a ReduceMean (or Abs and
// ReduceMax) branch, so only one small vector per tensor and batch leaves the
// session, whatever the tensor's size. Data-driven recipe passes use it:
// bias correction (channel means), SmoothQuant (channel absolute maxima).
import { onnx } from '../onnx/proto/onnx.js';
import { cloneModel, encodeModel, opsetVersion, type Model } from '../onnx/model.js';
import { makeTensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { runBatches } from '../runtime/run.js';
import type { Dataset } from '../data/dataset.js';
import type { ProgressFactory } from '../util/progress.js';

export interface ChannelStatRequest {
  tensor: string;
  /** 'mean' over every axis but the channel axis; 'absmax': max |x| over them. */
  kind: 'mean' | 'absmax';
  /** Axis 1 (NCHW, Gemm's [N, C]) or the last axis (MatMul's [..., C]). */
  axis: 'second' | 'last';
  channels: number;
}

export interface ChannelStatOptions {
  batchSize: number;
  label: string;
  progress?: ProgressFactory;
  progressLabel?: string;
}

const statName = (r: ChannelStatRequest) => `${r.tensor}__${r.kind}_per_channel`;

/** The model with one reduced [channels] output per request, in place of its own outputs. */
export function withChannelStats(model: Model, requests: readonly ChannelStatRequest[]): Model {
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const axesAsInput = opsetVersion(m) >= 18; // ReduceMean/ReduceMax took axes as an attribute before opset 18
  const node = (op: string, inputs: string[], output: string, attrs: onnx.IAttributeProto[] = []) =>
    onnx.NodeProto.create({ op_type: op, input: inputs, output: [output], name: `${output}_${op}`, attribute: attrs });
  const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const int = (name: string, v: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
  g.output = [];
  for (const [i, r] of requests.entries()) {
    const out = statName(r);
    const p = `qtool_stat${i}`;
    // [N, C, rest] (Reshape's 0 copies N) or [rows, C]: every axis but C is reduced.
    const shape = r.axis === 'second' ? [0, r.channels, -1] : [-1, r.channels];
    const axes = r.axis === 'second' ? [0, 2] : [0];
    g.initializer.push(makeTensor(`${p}_shape`, 'int64', [shape.length], BigInt64Array.from(shape.map(BigInt))));
    let src = `${p}_flat`;
    g.node.push(node('Reshape', [r.tensor, `${p}_shape`], src));
    if (r.kind === 'absmax') { g.node.push(node('Abs', [src], `${p}_abs`)); src = `${p}_abs`; }
    const op = r.kind === 'mean' ? 'ReduceMean' : 'ReduceMax';
    if (axesAsInput) {
      g.initializer.push(makeTensor(`${p}_axes`, 'int64', [axes.length], BigInt64Array.from(axes.map(BigInt))));
      g.node.push(node(op, [src, `${p}_axes`], out, [int('keepdims', 0)]));
    } else {
      g.node.push(node(op, [src], out, [ints('axes', axes), int('keepdims', 0)]));
    }
    g.output.push(onnx.ValueInfoProto.create({
      name: out, type: onnx.TypeProto.create({ tensor_type: onnx.TypeProto.Tensor.create({ elem_type: onnx.TensorProto.DataType.FLOAT }) }),
    }));
  }
  return m;
}

/**
 * One pass over `ds`: for each request, the channel means (weighted by
 * samples per batch, so independent of the batch size when every sample has
 * the same shape) or the channel absolute maxima. Keyed by tensor and kind.
 */
export async function channelStatistics(model: Model, requests: readonly ChannelStatRequest[], ds: Dataset, opts: ChannelStatOptions): Promise<Map<string, Float64Array>> {
  const out = new Map(requests.map((r) => [statName(r), new Float64Array(r.channels)]));
  if (requests.length === 0) return keyed(requests, out);
  const session = await createSession(encodeModel(withChannelStats(model, requests)), opts.label);
  const bar = opts.progress?.(opts.progressLabel ?? 'statistics', ds.count);
  try {
    await runBatches(session, ds, {
      batchSize: opts.batchSize, label: opts.label, outputNames: requests.map(statName),
      onBatch: ({ size, outputs }) => {
        for (const r of requests) {
          const acc = out.get(statName(r))!;
          const v = outputs[statName(r)]!.data as Float32Array;
          if (r.kind === 'mean') for (let c = 0; c < acc.length; c++) acc[c] += (v[c]! * size) / ds.count;
          else for (let c = 0; c < acc.length; c++) acc[c] = Math.max(acc[c]!, v[c]!);
        }
        bar?.tick(size);
      },
    });
  } finally {
    bar?.stop();
    await session.release();
  }
  return keyed(requests, out);
}

function keyed(requests: readonly ChannelStatRequest[], byName: Map<string, Float64Array>): Map<string, Float64Array> {
  return new Map(requests.map((r) => [channelStatKey(r.tensor, r.kind), byName.get(statName(r))!]));
}

export const channelStatKey = (tensor: string, kind: ChannelStatRequest['kind']) => `${kind}:${tensor}`;
