// Folds inference-mode BatchNormalization into the Conv before it:
//   W'[c] = W[c] * k[c],  b'[c] = (b[c] - mean[c]) * k[c] + beta[c],
//   k[c]  = gamma[c] / sqrt(var[c] + eps)
// QAT trains the conv weights with BN folded in, as they will be quantized
// (Jacob et al. 2018, section 3.2; ONNX Runtime folds BN the same way before
// quantizing). A BN is folded only when:
//   - its input is output 0 of a Conv read by nothing else (and not a graph output),
//   - it is in inference mode and only its Y output is used,
//   - the Conv weight/bias and the BN parameters are float32 initializers.
// The Conv then writes the BN's output name. A weight (or bias) that only this
// Conv reads keeps its initializer name with the folded values; a shared one
// gets a new initializer. A Conv without a bias takes the BN bias's name for its
// new bias when nothing else reads it. Unused initializers are removed.
import { onnx } from '../../onnx/proto/onnx.js';
import { cloneModel, type Model } from '../../onnx/model.js';
import { attrFloat, attrInt, consumerMap, nodeReads, type Node } from '../../onnx/graph.js';
import { dropUnusedInitializers } from '../../onnx/rewrite.js';
import { makeTensor, tensorToArray } from '../../onnx/tensor.js';
import { NO_PARAMS, type NoParams, type PassRecord, type QuantPass } from './pass.js';

export interface FoldResult {
  model: Model;
  /** Names of the BatchNormalization nodes folded (their output names when unnamed). */
  folded: string[];
}

/** A copy of `model` with every foldable Conv -> BatchNormalization pair folded, and which BatchNormalization nodes were. */
export function foldBatchNormReport(model: Model): FoldResult {
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  // Decoded messages carry every repeated field; the interfaces say optional.
  const nodes = g.node as onnx.NodeProto[];
  const folded: string[] = [];
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const initIndex = new Map(g.initializer.map((t, i) => [t.name, i]));
  const floatInit = (name: string | undefined): Float32Array | undefined => {
    const i = name ? initIndex.get(name) : undefined;
    if (i === undefined) return undefined;
    const d = tensorToArray(g.initializer[i]!);
    return d.type === 'float32' ? (d.data as Float32Array) : undefined;
  };
  const producer = new Map<string, Node>();
  for (const n of nodes) for (const o of n.output) if (o) producer.set(o, n);
  const removed = new Set<onnx.NodeProto>();
  const usedNames = new Set<string>([...nodes.flatMap((n) => [...nodeReads(n), ...n.output]), ...g.initializer.map((t) => t.name ?? ''), ...g.input.map((i) => i.name ?? '')]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; usedNames.has(name); i++) name = `${base}_${i}`;
    usedNames.add(name);
    return name;
  };

  for (const bn of nodes) {
    if (bn.op_type !== 'BatchNormalization' || (bn.domain ?? '') !== '') continue;
    if (attrInt(bn, 'training_mode', 0) !== 0 || bn.output.slice(1).some((o) => o)) continue;
    const x = bn.input[0];
    const conv = x ? (producer.get(x) as onnx.NodeProto | undefined) : undefined;
    if (!conv || conv.op_type !== 'Conv' || (conv.domain ?? '') !== '' || removed.has(conv)) continue;
    const consumers = consumerMap(g).get(x!) ?? [];
    if (consumers.length !== 1 || graphOutputs.has(x!)) continue;
    const [wName, bName] = [conv.input[1], conv.input[2]];
    const w = floatInit(wName);
    const b = bName ? floatInit(bName) : undefined;
    if (!w || (bName && !b)) continue;
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => floatInit(bn.input[i]));
    const wDims = tensorToArray(g.initializer[initIndex.get(wName!)!]!).dims;
    const channels = wDims[0]!;
    if (!gamma || !beta || !mean || !variance || [gamma, beta, mean, variance].some((p) => p.length !== channels)) continue;
    if (b && b.length !== channels) continue;

    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const k = Float64Array.from(gamma, (s, c) => s / Math.sqrt(variance[c]! + eps));
    const per = w.length / channels;
    const w2 = new Float32Array(w.length);
    for (let c = 0; c < channels; c++) for (let j = 0; j < per; j++) w2[c * per + j] = w[c * per + j]! * k[c]!;
    const b2 = Float32Array.from({ length: channels }, (_, c) => ((b ? b[c]! : 0) - mean[c]!) * k[c]! + beta[c]!);

    const readers = consumerMap(g);
    const onlyReader = (name: string): boolean => (readers.get(name) ?? []).length === 1 && !graphOutputs.has(name);
    const setInit = (name: string, dims: number[], data: Float32Array): void => {
      const t = makeTensor(name, 'float32', dims, data);
      const i = initIndex.get(name);
      if (i === undefined) {
        initIndex.set(name, g.initializer.length);
        g.initializer.push(t);
      } else {
        g.initializer[i] = t;
      }
    };
    const newW = onlyReader(wName!) ? wName! : fresh(`${wName}_bn_folded`);
    setInit(newW, wDims, w2);
    let newB: string;
    if (bName) newB = onlyReader(bName) ? bName : fresh(`${bName}_bn_folded`);
    else newB = bn.input[2] && onlyReader(bn.input[2]) ? bn.input[2] : fresh(`${conv.output[0]}_bias`);
    setInit(newB, [channels], b2);
    conv.input = [conv.input[0]!, newW, newB];
    conv.output[0] = bn.output[0]!;
    producer.set(bn.output[0]!, conv);
    removed.add(bn);
    folded.push(bn.name || bn.output[0]!);
    g.value_info = g.value_info.filter((v) => v.name !== x);
    // The BN is gone from here on: unlink it so that reader counts stay right.
    bn.input = [];
  }

  g.node = nodes.filter((n) => !removed.has(n));
  dropUnusedInitializers(g);
  return { model: m, folded };
}

/** The recipe's first pass: always applied, so that every stage quantizes the folded Convs. */
export const foldBatchNormPass: QuantPass<NoParams> = {
  name: 'fold-batchnorm',
  always: true,
  params: NO_PARAMS,
  apply(model) {
    const r = foldBatchNormReport(model);
    return { model: r.folded.length ? r.model : model, effect: { folded: r.folded } };
  },
};

/** The BatchNormalization nodes a recipe's passes folded. */
export function foldedBatchNorms(passes: readonly PassRecord[]): string[] {
  const p = passes.find((r) => r.name === foldBatchNormPass.name);
  return p ? (p.effect.folded as string[]) : [];
}
