// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization
// through Weight Equalization and Bias Correction"), a recipe pass: for two
// weighted layers joined by a positively homogeneous activation (Relu,
// LeakyRelu, Clip(0, inf)) or by nothing, output channel c of the first is
// divided by s_c and input channel c of the second multiplied by it, which
// leaves the FP32 function unchanged (f(x / s) = f(x) / s for s > 0). With
// s_c = sqrt(r1_c / r2_c), r1_c and r2_c the channel's weight ranges in the
// two layers, both become sqrt(r1_c r2_c): one per-tensor int8 grid then
// fits every channel of both. A depthwise Conv is both the second layer of
// one pair and the first of the next; chains are iterated until the scales
// settle. Clip(0, 6) is left alone: its cap does not scale per channel.
import { cloneModel, type Model } from '../../onnx/model.js';
import { attrFloat, attrInt, consumerMap, graphOutputs, initializerMap, type Node } from '../../onnx/graph.js';
import { makeTensor, tensorToArray } from '../../onnx/tensor.js';
import type { onnx } from '../../onnx/proto/onnx.js';
import { NO_PARAMS, type NoParams, type QuantPass } from './pass.js';
import { channelAbsMax, scaleAxis, type FloatParam } from './weight-params.js';

/** Rounds over all pairs at most; the scales usually settle in a few. */
const MAX_ROUNDS = 50;
/** A round whose largest |log s| is below this ends the iteration. */
const SETTLED = 1e-4;

/** One layer's weight seen as channels: `outAxis` holds output channels, `inAxis` input channels. */
interface WeightView {
  node: Node;
  weight: FloatParam;
  bias?: FloatParam;
  outAxis: number;
  /** Depthwise Conv: input channel c is output channel c (the same slice). */
  inAxis: number;
}

export interface EqualizedPair {
  first: string;
  second: string;
  channels: number;
  /** Largest over smallest per-channel weight range of the first layer, before and after. */
  spreadBefore: number;
  spreadAfter: number;
}

const HOMOGENEOUS = new Set(['Relu', 'LeakyRelu', 'Clip']);

function readParam(inits: Map<string, onnx.ITensorProto>, name: string | undefined): FloatParam | undefined {
  const t = name ? inits.get(name) : undefined;
  if (!t || t.data_type !== 1) return undefined;
  const d = tensorToArray(t);
  return { name: name!, dims: d.dims, data: Float32Array.from(d.data as Float32Array) };
}

/** The channel axes of a layer's weight, or undefined for layers equalization does not handle. */
function viewOf(n: Node, inits: Map<string, onnx.ITensorProto>, params: Map<string, FloatParam>): WeightView | undefined {
  const param = (name: string | undefined) => {
    if (!name) return undefined;
    if (!params.has(name)) { const p = readParam(inits, name); if (p) params.set(name, p); }
    return params.get(name);
  };
  const weight = param(n.input?.[1]);
  if (!weight) return undefined;
  const bias = n.op_type === 'MatMul' ? undefined : param(n.input?.[2]);
  if (n.input?.[2] && n.op_type !== 'MatMul' && !bias) return undefined;
  const rank = weight.dims.length;
  switch (n.op_type) {
    case 'Conv': {
      const group = attrInt(n, 'group', 1);
      if (group === 1) return { node: n, weight, bias, outAxis: 0, inAxis: 1 };
      // Depthwise: one input channel per group, as many outputs as groups.
      return weight.dims[1] === 1 && weight.dims[0] === group ? { node: n, weight, bias, outAxis: 0, inAxis: 0 } : undefined;
    }
    case 'Gemm':
      if (attrInt(n, 'transA', 0) !== 0 || rank !== 2) return undefined;
      return attrInt(n, 'transB', 0) ? { node: n, weight, bias, outAxis: 0, inAxis: 1 } : { node: n, weight, bias, outAxis: 1, inAxis: 0 };
    case 'MatMul':
      return rank === 2 ? { node: n, weight, outAxis: 1, inAxis: 0 } : undefined;
    default:
      return undefined;
  }
}

function clipIsRelu(n: Node, inits: Map<string, onnx.ITensorProto>): boolean {
  const value = (i: number, attr: string, fallback: number) => {
    const name = n.input?.[i];
    if (name) { const t = inits.get(name); return t ? Number(tensorToArray(t).data[0]) : NaN; }
    return attrFloat(n, attr, fallback);
  };
  return value(1, 'min', -Infinity) === 0 && value(2, 'max', Infinity) === Infinity;
}

/** Pairs of layers joined by nothing or a homogeneous activation, each tensor on the way read only there. */
function findPairs(g: onnx.IGraphProto, views: Map<Node, WeightView>, inits: Map<string, onnx.ITensorProto>): [WeightView, WeightView][] {
  const consumers = consumerMap(g);
  const outputs = new Set(graphOutputs(g).map((o) => o.name));
  const only = (t: string): Node | undefined => {
    const c = consumers.get(t) ?? [];
    return c.length === 1 && !outputs.has(t) ? c[0] : undefined;
  };
  const pairs: [WeightView, WeightView][] = [];
  for (const first of views.values()) {
    let input = first.node.output?.[0] ?? '';
    let next = only(input);
    if (next && HOMOGENEOUS.has(next.op_type ?? '')) {
      if (next.op_type === 'Clip' && !clipIsRelu(next, inits)) continue;
      input = next.output?.[0] ?? '';
      next = only(input);
    }
    const second = next && views.get(next);
    // The path enters the second layer as its data input, never as its weight.
    if (!second || second.node.input?.[0] !== input) continue;
    if (first.weight.dims[first.outAxis] !== second.weight.dims[second.inAxis]) continue;
    // A weight shared with another layer would change that layer too.
    if ([first.weight, first.bias, second.weight].some((p) => p && (consumers.get(p.name) ?? []).length !== 1)) continue;
    pairs.push([first, second]);
  }
  return pairs;
}

function spread(r: Float64Array): number {
  let lo = Infinity;
  let hi = 0;
  for (const v of r) { if (v > 0 && v < lo) lo = v; if (v > hi) hi = v; }
  return hi > 0 ? hi / lo : 1;
}

/** One equalization step of a pair; returns the largest |log s|. */
function equalizePair(first: WeightView, second: WeightView): number {
  const r1 = channelAbsMax(first.weight, first.outAxis);
  const r2 = channelAbsMax(second.weight, second.inAxis);
  const down = new Float64Array(r1.length);
  const up = new Float64Array(r1.length);
  let largest = 0;
  for (let c = 0; c < r1.length; c++) {
    const s = r1[c]! > 0 && r2[c]! > 0 ? Math.sqrt(r1[c]! / r2[c]!) : 1;
    down[c] = 1 / s;
    up[c] = s;
    largest = Math.max(largest, Math.abs(Math.log(s)));
  }
  scaleAxis(first.weight, first.outAxis, down);
  if (first.bias) scaleAxis(first.bias, 0, down);
  scaleAxis(second.weight, second.inAxis, up);
  return largest;
}

export function equalize(model: Model): { model: Model; pairs: EqualizedPair[]; rounds: number } {
  const m = cloneModel(model);
  const g = m.graph!;
  const inits = initializerMap(g);
  const params = new Map<string, FloatParam>();
  const views = new Map<Node, WeightView>();
  for (const n of g.node ?? []) {
    const v = viewOf(n, inits, params);
    if (v) views.set(n, v);
  }
  const pairs = findPairs(g, views, inits);
  if (pairs.length === 0) return { model, pairs: [], rounds: 0 };
  const before = pairs.map(([a]) => spread(channelAbsMax(a.weight, a.outAxis)));
  let rounds = 0;
  for (let largest = Infinity; largest > SETTLED && rounds < MAX_ROUNDS; rounds++) {
    largest = 0;
    for (const [a, b] of pairs) largest = Math.max(largest, equalizePair(a, b));
  }
  const touched = new Map(pairs.flatMap(([a, b]) => [a.weight, a.bias, b.weight]).filter((p): p is FloatParam => !!p).map((p) => [p.name, p]));
  g.initializer = (g.initializer ?? []).map((t) => {
    const p = touched.get(t.name ?? '');
    return p ? makeTensor(p.name, 'float32', p.dims, p.data) : t;
  });
  return {
    model: m,
    rounds,
    pairs: pairs.map(([a, b], i) => ({
      first: a.node.name ?? a.node.output![0]!, second: b.node.name ?? b.node.output![0]!,
      channels: a.weight.dims[a.outAxis]!, spreadBefore: before[i]!, spreadAfter: spread(channelAbsMax(a.weight, a.outAxis)),
    })),
  };
}

/** `--equalize`: applied after BatchNorm folding, so that the folded weights are equalized. */
export const equalizePass: QuantPass<NoParams> = {
  name: 'equalize',
  always: false,
  params: NO_PARAMS,
  apply(model) {
    const r = equalize(model);
    return { model: r.model, effect: { pairs: r.pairs, rounds: r.rounds } };
  },
  describe({ effect }) {
    const pairs = effect.pairs as EqualizedPair[];
    if (pairs.length === 0) return 'no pair of layers joined by Relu or nothing';
    const worst = pairs.reduce((a, b) => (b.spreadBefore > a.spreadBefore ? b : a));
    return `${pairs.length} pairs in ${effect.rounds} rounds; widest per-channel weight range spread ${worst.spreadBefore.toFixed(1)}x -> ${worst.spreadAfter.toFixed(1)}x (${worst.first})`;
  },
};
