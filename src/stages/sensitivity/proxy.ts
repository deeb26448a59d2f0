// The cheap sensitivity proxy, from a single run of the fully quantized model:
// per layer, the SQNR of its own quantization against a float shadow of it fed
// the same inputs, which ranks. SQNRs are per channel, averaged in dB over
// channels. No FP32 copy of the model runs alongside: the SQNR against FP32
// (which accumulates everything upstream) only broke ties, and doubled the
// session's weights and work (BERT-base: 4.5x a forward pass, 6 GB).
import { encodeModel, type Model } from '../../onnx/model.js';
import { attrInt } from '../../onnx/graph.js';
import { batchFeeds, batchRanges } from '../../data/batches.js';
import type { Dataset } from '../../data/dataset.js';
import type { QuantLayer } from '../../quant/quantizable.js';
import { createSession, ort } from '../../runtime/session.js';
import { floatRecipeModel, type QuantRecipe } from '../../quant/recipe.js';
import { ChannelNoise, nsrToDb } from './channel-noise.js';
import { outputNoiseSums, withFloatParams } from './probe-graph.js';
import { addShadowLayers } from './shadow.js';

export interface ProxyLayer {
  name: string;
  /** The layer's output after its own quantization against its float shadow fed the same inputs, dB; null when identical. */
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

/** The quantized model with a float shadow per layer, whose outputs are per-channel [signal, noise] sums, one pair per layer. */
export function proxyGraph(q: QuantRecipe, qdq: Model): { model: Model; sums: { signal: string; noise: string }[] } {
  // Float weights and biases with bias correction's shifts taken out again: the function the quantized layers approximate.
  const fp32 = floatRecipeModel(q);
  const { model, floatName } = withFloatParams(qdq, fp32, q.plan.layers.flatMap((l) => (l.bias ? [l.weight, l.bias] : [l.weight])));
  const shadows = addShadowLayers(q, model, floatName);
  const sums = outputNoiseSums(model, q.plan.layers.map((l, i) => ({
    ref: shadows[i].shadow, test: shadows[i].quantized, channels: outputChannels(l), channelsLast: l.opType === 'MatMul',
  })));
  return { model, sums };
}

export async function runProxy(q: QuantRecipe, qdq: Model, label: string, ds: Dataset, opts: ProxyOptions): Promise<ProxyLayer[]> {
  const { model, sums } = proxyGraph(q, qdq);
  const noise = sums.map(() => new ChannelNoise());
  const session = await createSession(encodeModel(model), `${label} (INT8 with float shadows)`);
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
  return q.plan.layers.map((l, i) => ({ name: l.name, localSqnrDb: nsrToDb(noise[i].nsr) }));
}

const nsrOf = (db: number | null): number => (db === null ? 0 : 10 ** (-db / 10));

/**
 * The proxy per group: its layers' own noise-to-signal ratios add up (noise
 * from independent quantizers adds to first order, which is what keeping the
 * whole group in float removes).
 */
export function groupProxy(layers: ProxyLayer[], groups: readonly { name: string; layers: string[] }[]): ProxyLayer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  return groups.map((g) => {
    const members = g.layers.map((n) => byName.get(n)!);
    if (members.length === 1) return { ...members[0], name: g.name };
    return { name: g.name, localSqnrDb: nsrToDb(members.reduce((s, m) => s + nsrOf(m.localSqnrDb), 0)) };
  });
}
