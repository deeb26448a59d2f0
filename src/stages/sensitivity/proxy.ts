// The cheap sensitivity proxy, from a single run of the fully quantized model
// (with the FP32 graph alongside it in the same session): per layer, the SQNR
// of its output against FP32, which accumulates everything upstream, and the
// SQNR of its own quantization against a float shadow of it fed the same
// inputs, which ranks. SQNRs are per channel, averaged in dB over channels.
import { encodeModel, type Model } from '../../onnx/model.js';
import { attrInt } from '../../onnx/graph.js';
import { batchFeeds, batchRanges } from '../../data/batches.js';
import type { Dataset } from '../../data/dataset.js';
import type { QuantLayer } from '../../quant/quantizable.js';
import { createSession, ort } from '../../runtime/session.js';
import { floatRecipeModel, type QuantRecipe } from '../../quant/recipe.js';
import { ChannelNoise, nsrToDb } from './channel-noise.js';
import { outputNoiseSums, withFp32Copy, type Comparison } from './probe-graph.js';
import { addShadowLayers } from './shadow.js';

export interface ProxyLayer {
  name: string;
  /** The layer's output as the next layer reads it (after its Q/DQ pair) against FP32, dB; null when identical. Includes upstream noise. */
  outputSqnrDb: number | null;
  /** The layer's output after its own quantization against its float shadow fed the same inputs, dB. */
  localSqnrDb: number | null;
}

export interface ProxyOptions {
  batchSize: number;
  /** The first `limit` samples. */
  limit: number;
}

/** Output channels of a layer: the weight's channel axis (times the groups of a ConvTranspose). */
function outputChannels(l: QuantLayer): number {
  return l.weightDims[l.channelAxis] * (l.opType === 'ConvTranspose' ? attrInt(l.node, 'group', 1) : 1);
}

export async function runProxy(q: QuantRecipe, qdq: Model, label: string, ds: Dataset, opts: ProxyOptions): Promise<ProxyLayer[]> {
  // FP32 with bias correction's shifts taken out again: the function the quantized layers approximate.
  const { model, fp32Name } = withFp32Copy(qdq, floatRecipeModel(q));
  const shadows = addShadowLayers(q, model, fp32Name);
  const foldedTo = new Map(q.plan.folded.map((f) => [f.from, f.to]));
  const shape = (l: QuantLayer) => ({ channels: outputChannels(l), channelsLast: l.opType === 'MatMul' });
  // The output as the next layer reads it (after the layer's Q/DQ pair, a folded Relu/Clip applied by it)
  // against FP32's. Probing the op's own float output instead would stop ONNX Runtime from fusing
  // DQ -> MatMul -> Q into an integer kernel: on BERT-base the QDQ half then ran in float with its
  // weights dequantized every batch, and the proxy took 7x an FP32 pass.
  const cumulative: Comparison[] = q.plan.layers.map((l, i) => {
    const o = l.node.output![0];
    return { ref: fp32Name(foldedTo.get(o) ?? o), test: shadows[i].quantized, ...shape(l) };
  });
  const local: Comparison[] = q.plan.layers.map((l, i) => ({ ref: shadows[i].shadow, test: shadows[i].quantized, ...shape(l) }));
  const sums = outputNoiseSums(model, [...cumulative, ...local]);
  const noise = sums.map(() => new ChannelNoise());

  const session = await createSession(encodeModel(model), `${label} (FP32 and QDQ side by side, with float shadows)`);
  try {
    const names = sums.flatMap((s) => [s.signal, s.noise]);
    for (const { start, size } of batchRanges(opts.limit, opts.batchSize, ds.fixedBatch)) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(batchFeeds(ds, start, size))) {
        feeds[name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
      }
      const out = await session.run(feeds, names);
      sums.forEach((s, i) => noise[i].addSums(out[s.signal].data as Float32Array, out[s.noise].data as Float32Array));
    }
  } finally {
    await session.release();
  }
  const n = q.plan.layers.length;
  return q.plan.layers.map((l, i) => ({
    name: l.name,
    outputSqnrDb: nsrToDb(noise[i].nsr),
    localSqnrDb: nsrToDb(noise[n + i].nsr),
  }));
}

const nsrOf = (db: number | null): number => (db === null ? 0 : 10 ** (-db / 10));

/**
 * The proxy per group: its layers' own noise-to-signal ratios add up (noise
 * from independent quantizers adds to first order, which is what keeping the
 * whole group in float removes); its output SQNR is its noisiest member's.
 */
export function groupProxy(layers: ProxyLayer[], groups: readonly { name: string; layers: string[] }[]): ProxyLayer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  return groups.map((g) => {
    const members = g.layers.map((n) => byName.get(n)!);
    if (members.length === 1) return { ...members[0], name: g.name };
    const outputs = members.map((m) => m.outputSqnrDb).filter((v): v is number => v !== null);
    return {
      name: g.name,
      localSqnrDb: nsrToDb(members.reduce((s, m) => s + nsrOf(m.localSqnrDb), 0)),
      outputSqnrDb: outputs.length ? Math.min(...outputs) : null,
    };
  });
}
