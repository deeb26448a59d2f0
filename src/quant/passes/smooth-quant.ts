// SmoothQuant (Xiao et al. 2023), a data-driven recipe pass: where a
// MatMul/Gemm input X has outlier channels (typically after LayerNorm), one
// per-tensor activation scale wastes the int8 grid on them. Channel j of X is
// divided by s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) and row j of the
// weight multiplied by it, which leaves X W unchanged. 1/s is folded into
// X's producer, which keeps the FP32 function exactly (to float rounding):
//   - LayerNormalization over the last axis: its scale and bias;
//   - a written-out LayerNorm's final Mul(gamma) -> Add(beta): both constants;
//   - a MatMul/Gemm with a constant weight (and its bias Add): output columns.
// Nothing else: an activation between the layers is not homogeneous per
// channel in general. Layers reading the same X (Q, K and V) share s, with
// max|W_j| over all of them. max|X_j| comes from one pass over the
// calibration data (channel-stats.ts); the scales are recorded as the pass's
// parameters, so every later stage replays them.
import { z } from 'zod';
import { cloneModel, type Model } from '../../onnx/model.js';
import { attrInt, consumerMap, graphOutputs, producerMap, type Graph, type Node } from '../../onnx/graph.js';
import { channelStatistics, channelStatKey } from '../../calib/channel-stats.js';
import { InputError } from '../../util/errors.js';
import { channelAbsMax, compactFloats, scaleAxis, WeightEditor, type FloatParam } from './weight-params.js';
import type { QuantPass } from './pass.js';

export const DEFAULT_SMOOTH_ALPHA = 0.5;
/** Scales are kept within [1/LIMIT, LIMIT]: a dead channel must not blow a weight row up. */
const LIMIT = 1e4;

const groupSchema = z.object({ input: z.string(), layers: z.array(z.string()), scales: z.array(z.number().positive()) }).strict();
const paramsSchema = z.object({
  alpha: z.number().min(0).max(1).default(DEFAULT_SMOOTH_ALPHA),
  groups: z.array(groupSchema).optional(),
}).strict();
export type SmoothQuantParams = z.infer<typeof paramsSchema>;

/** A layer reading X: its weight and the weight axis that holds X's channels. */
interface Reader {
  node: Node;
  /** Weight axis of input channels: MatMul [K, N] and Gemm without transB: 0; Gemm with transB: 1. */
  inAxis: number;
}

/** Where 1/s goes: constants of the producer and the axis of X's channels in each. */
interface Fold {
  targets: { node: Node; index: number; axis: number }[];
}

interface Group {
  input: string;
  readers: Reader[];
  fold: Fold;
  channels: number;
}

const label = (n: Node) => n.name || `${n.op_type}:${n.output?.[0]}`;

function readerOf(n: Node, x: string, editor: WeightEditor): Reader | undefined {
  if (n.input?.[0] !== x) return undefined;
  const w = editor.read(n.input?.[1]);
  if (!w || w.dims.length !== 2) return undefined;
  if (n.op_type === 'MatMul') return { node: n, inAxis: 0 };
  if (n.op_type === 'Gemm' && attrInt(n, 'transA', 0) === 0) return { node: n, inAxis: attrInt(n, 'transB', 0) ? 1 : 0 };
  return undefined;
}

/** A 1-D [channels] float constant at input `index` of `n`. */
const vectorAt = (n: Node, index: number, channels: number, editor: WeightEditor) => {
  const p = editor.read(n.input?.[index]);
  return p && p.data.length === channels && p.dims[p.dims.length - 1] === channels ? p : undefined;
};

/** The producer of X that 1/s folds into exactly, or undefined. */
function foldOf(x: string, channels: number, g: Graph, editor: WeightEditor): Fold | undefined {
  const producers = producerMap(g);
  const consumers = consumerMap(g);
  const onlyReader = (t: string) => (consumers.get(t) ?? []).length === 1;
  const p = producers.get(x);
  if (!p) return undefined;
  if (p.op_type === 'LayerNormalization') {
    if (attrInt(p, 'axis', -1) !== -1 || !vectorAt(p, 1, channels, editor)) return undefined;
    const targets = [{ node: p, index: 1, axis: 0 }];
    if (p.input?.[2]) { if (!vectorAt(p, 2, channels, editor)) return undefined; targets.push({ node: p, index: 2, axis: 0 }); }
    return { targets };
  }
  if (p.op_type === 'Add') {
    // Add(beta) after Mul(gamma) (a written-out LayerNorm), or Add(bias) after a linear layer.
    const bi = vectorAt(p, 1, channels, editor) ? 1 : vectorAt(p, 0, channels, editor) ? 0 : -1;
    const prev = producers.get(p.input?.[1 - bi] ?? '');
    if (bi < 0 || !prev || !onlyReader(prev.output![0]!)) return undefined;
    const inner = foldOf(prev.output![0]!, channels, g, editor);
    return inner && { targets: [...inner.targets, { node: p, index: bi, axis: 0 }] };
  }
  if (p.op_type === 'Mul') {
    const gi = vectorAt(p, 1, channels, editor) ? 1 : vectorAt(p, 0, channels, editor) ? 0 : -1;
    return gi < 0 ? undefined : { targets: [{ node: p, index: gi, axis: 0 }] };
  }
  if (p.op_type === 'MatMul' || p.op_type === 'Gemm') {
    const w = editor.read(p.input?.[1]);
    if (!w || w.dims.length !== 2 || (p.op_type === 'Gemm' && attrInt(p, 'transA', 0) !== 0)) return undefined;
    const outAxis = p.op_type === 'Gemm' && attrInt(p, 'transB', 0) ? 0 : 1;
    if (w.dims[outAxis] !== channels) return undefined;
    const targets = [{ node: p, index: 1, axis: outAxis }];
    if (p.op_type === 'Gemm' && p.input?.[2]) { if (!vectorAt(p, 2, channels, editor)) return undefined; targets.push({ node: p, index: 2, axis: 0 }); }
    return { targets };
  }
  return undefined;
}

/** Inputs read only by MatMul/Gemm layers (and Shape) whose producer takes 1/s exactly. */
function findGroups(g: Graph, editor: WeightEditor): Group[] {
  const consumers = consumerMap(g);
  const outputs = new Set(graphOutputs(g).map((o) => o.name));
  const groups: Group[] = [];
  for (const [x, readers] of consumers) {
    if (outputs.has(x)) continue;
    const valueReaders = readers.filter((n) => n.op_type !== 'Shape');
    const layers = valueReaders.map((n) => readerOf(n, x, editor));
    if (layers.length === 0 || layers.some((l) => !l)) continue;
    const rs = layers as Reader[];
    const channels = editor.read(rs[0]!.node.input![1])!.dims[rs[0]!.inAxis]!;
    if (rs.some((r) => editor.read(r.node.input![1])!.dims[r.inAxis] !== channels)) continue;
    // A weight another node reads too would be scaled for that node as well.
    if (rs.some((r) => (consumers.get(r.node.input![1]!) ?? []).length !== 1)) continue;
    const fold = foldOf(x, channels, g, editor);
    if (fold) groups.push({ input: x, readers: rs, fold, channels });
  }
  return groups;
}

/** s_j for a group from max|X_j| and the largest |W| of row j over the group's layers. */
function scalesOf(group: Group, xMax: Float64Array, alpha: number, editor: WeightEditor): number[] {
  const wMax = new Float64Array(group.channels);
  for (const r of group.readers) {
    const m = channelAbsMax(editor.read(r.node.input![1])!, r.inAxis);
    for (let j = 0; j < wMax.length; j++) wMax[j] = Math.max(wMax[j]!, m[j]!);
  }
  return compactFloats(Array.from(xMax, (x, j) => {
    const w = wMax[j]!;
    if (!(x > 0) || !(w > 0)) return 1;
    return Math.min(LIMIT, Math.max(1 / LIMIT, x ** alpha / w ** (1 - alpha)));
  }));
}

function smoothed(model: Model, groups: readonly z.infer<typeof groupSchema>[]): { model: Model; smoothed: { input: string; layers: string[] }[] } {
  const m = cloneModel(model);
  const g = m.graph!;
  const editor = new WeightEditor(g);
  const found = new Map(findGroups(g, editor).map((x) => [x.input, x]));
  for (const rec of groups) {
    const group = found.get(rec.input);
    if (!group || rec.scales.length !== group.channels) {
      throw new InputError(`smooth-quant: '${rec.input}' is not an input with ${rec.scales.length} channels that this model's layers can be smoothed on`);
    }
    const s = rec.scales.map(Math.fround);
    const inv = s.map((v) => 1 / v);
    for (const r of group.readers) scaleAxis(editor.own(r.node, 1)!, r.inAxis, s);
    for (const t of group.fold.targets) scaleAxis(editor.own(t.node, t.index) as FloatParam, t.axis, inv);
  }
  editor.commit();
  return { model: m, smoothed: groups.map((rec) => ({ input: rec.input, layers: found.get(rec.input)!.readers.map((r) => label(r.node)) })) };
}

/** `--smooth-quant [ALPHA]`: after equalization, before the GELU cap and bias correction. */
export const smoothQuantPass: QuantPass<SmoothQuantParams> = {
  name: 'smooth-quant',
  always: false,
  params: paramsSchema as unknown as z.ZodType<SmoothQuantParams>,
  async fit(model, requested, ctx) {
    const groups = findGroups(model.graph!, new WeightEditor(model.graph!));
    const stats = await channelStatistics(model, groups.map((gr) => ({ tensor: gr.input, kind: 'absmax', axis: 'last', channels: gr.channels })), ctx.data, {
      batchSize: ctx.batchSize, label: 'smooth-quant statistics', progress: ctx.progress, progressLabel: 'smooth-quant: max|X| per channel',
    });
    const editor = new WeightEditor(model.graph!);
    return {
      alpha: requested.alpha,
      groups: groups.map((gr) => ({
        input: gr.input, layers: gr.readers.map((r) => label(r.node)),
        scales: scalesOf(gr, stats.get(channelStatKey(gr.input, 'absmax'))!, requested.alpha, editor),
      })),
    };
  },
  describe({ params }) {
    const groups = params.groups ?? [];
    if (groups.length === 0) return `alpha ${params.alpha}: no MatMul/Gemm input whose producer takes the scales exactly`;
    const all = groups.flatMap((g) => g.scales);
    return `alpha ${params.alpha}: ${groups.length} inputs of ${groups.reduce((n, g) => n + g.layers.length, 0)} layers smoothed, scales ${Math.min(...all).toPrecision(3)} to ${Math.max(...all).toPrecision(3)}`;
  },
  apply(model, params) {
    if (!params.groups) throw new InputError('smooth-quant: no fitted scales (they are computed from data by qtool calibrate)');
    const r = smoothed(model, params.groups);
    return { model: r.model, effect: { smoothed: r.smoothed } };
  },
};
